import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../support/platform-process.ts';
import { call } from '../fixture.ts';
import { type DoorEnv, doorEnv, SECRET } from './door-fixture.ts';

/** Debian's nginx, terminating the partner's TLS, asking the decision listener with auth_request. */

// Debian's nginx with the auth_request module (nginx -V prints to stderr); the suite is skipped without it.
const NGINX = (() => {
  try {
    const text = execFileSync('sh', ['-c', 'nginx -V 2>&1']).toString();
    return text.includes('http_auth_request_module') ? 'nginx' : undefined;
  } catch {
    return undefined;
  }
})();

function nginxConf(dir: string, port: number, decisionUrl: string, upstreamPort: number): string {
  return `
daemon off;
master_process off;
${process.getuid?.() === 0 ? 'user root root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/ca.pem;
    # The core checks the chain, validity, revocation and ownership of the certificate nginx forwards.
    ssl_verify_client optional_no_ca;

    location / {
      auth_request /_accredit;
      auth_request_set $accredit_client_id $upstream_http_x_accredit_client_id;
      auth_request_set $accredit_org_id $upstream_http_x_accredit_org_id;
      auth_request_set $accredit_scopes $upstream_http_x_accredit_scopes;
      auth_request_set $accredit_x5t $upstream_http_x_accredit_cert_x5t_s256;
      proxy_set_header Authorization "";
      proxy_set_header X-Accredit-Client-Id $accredit_client_id;
      proxy_set_header X-Accredit-Org-Id $accredit_org_id;
      proxy_set_header X-Accredit-Scopes $accredit_scopes;
      proxy_set_header X-Accredit-Cert-X5t-S256 $accredit_x5t;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }

    location = /_accredit {
      internal;
      proxy_pass ${decisionUrl}/auth_request;
      proxy_ssl_trusted_certificate ${dir}/ca.pem;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
      proxy_set_header X-Accredit-Decision-Secret "${SECRET}";
    }
  }
}
`;
}

describe('nginx auth_request → decision listener', { skip: NGINX === undefined, timeout: 120_000 }, () => {
  let env: DoorEnv;
  let dir: string;
  let nginx: ChildProcess;
  let upstream: Server;
  let seen: IncomingHttpHeaders | undefined;
  let url: string;

  before(async () => {
    env = await doorEnv();
    dir = mkdtempSync(join(tmpdir(), 'accredit-nginx-'));
    mkdirSync(join(dir, 'tmp'));
    writeFileSync(join(dir, 'server.pem'), env.tls.cert);
    writeFileSync(join(dir, 'server.key'), env.tls.key, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.pem'), env.ca.chainPem);
    upstream = createServer((req, res) => {
      seen = req.headers;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConf(dir, port, env.listener.url, (upstream.address() as AddressInfo).port));
    nginx = spawn('nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', conf], { stdio: 'ignore' });
    url = `https://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      try {
        await call(env.edge, url, '/');
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });

  after(async () => {
    nginx?.kill('SIGTERM');
    upstream?.close();
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const token = (scope = 'accounts:read') =>
    env.minter.sign(env.minter.claims(env.reader.clientId, env.reader.orgId, env.reader.cred.x5tS256, scope));

  test('ok/allowed: the upstream receives the identity nginx took from the decision', async () => {
    seen = undefined;
    const res = await call(env.reader.agent, url, '/v1/accounts', { token: await token() });
    assert.equal(res.status, 200, `${res.text} ${readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000)}`);
    const got = seen as IncomingHttpHeaders | undefined;
    assert.equal(got?.['x-accredit-client-id'], env.reader.clientId);
    assert.equal(got?.['x-accredit-org-id'], env.reader.orgId);
    assert.equal(got?.['x-accredit-cert-x5t-s256'], env.reader.cred.x5tS256);
    assert.equal(got?.authorization, undefined, 'the access token stays at the edge');
  });

  test('fail/no token: 401 with the Bearer challenge nginx copies from the decision', async () => {
    const res = await call(env.reader.agent, url, '/v1/accounts');
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="accredit"/);
  });

  test('fail/expired token: 401 invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await env.minter.sign({
      ...env.minter.claims(env.reader.clientId, env.reader.orgId, env.reader.cred.x5tS256, 'accounts:read'),
      iat: now - 900,
      exp: now - 600,
    });
    const res = await call(env.reader.agent, url, '/v1/accounts', { token: expired });
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  });

  test('fail/insufficient scope: 403', async () => {
    const res = await call(env.reader.agent, url, '/v1/accounts', { token: await token('payments:submit') });
    assert.equal(res.status, 403);
  });

  test('fail/revoked certificate: 403', async () => {
    const bound = await env.minter.sign(
      env.minter.claims(env.revoked.clientId, env.revoked.orgId, env.revoked.cred.x5tS256, 'accounts:read'),
    );
    const res = await call(env.revoked.agent, url, '/v1/accounts', { token: bound });
    assert.equal(res.status, 403);
  });

  test('fail/token bound to another certificate than the one nginx saw: 401', async () => {
    const res = await call(env.other.agent, url, '/v1/accounts', { token: await token() });
    assert.equal(res.status, 401);
  });

  test('fail/other organisation in the owner route: 403', async () => {
    const res = await call(env.reader.agent, url, `/v1/orgs/${env.other.orgId}/accounts`, {
      token: await token(),
    });
    assert.equal(res.status, 403);
  });
});
