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
import { type DpopEnv, type DpopKey, dpopEnv, dpopKey, PUBLIC_URL, proof, SECRET } from './dpop-fixture.ts';

/**
 * Debian's nginx in front, asking the decision listener with auth_request, configured as the edge kit
 * renders it for DPoP: the DPoP header reaches the door, WWW-Authenticate and DPoP-Nonce reach the client.
 */

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
    ssl_verify_client optional;
    ssl_verify_depth 2;

    location / {
      auth_request /_accredit;
      auth_request_set $accredit_client_id $upstream_http_x_accredit_client_id;
      auth_request_set $accredit_dpop_nonce $upstream_http_dpop_nonce;
      add_header DPoP-Nonce $accredit_dpop_nonce always;
      proxy_set_header Authorization "";
      proxy_set_header DPoP "";
      proxy_set_header X-Accredit-Client-Id $accredit_client_id;
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

describe('DPoP through nginx auth_request', { skip: NGINX === undefined, timeout: 120_000 }, () => {
  let env: DpopEnv;
  let key: DpopKey;
  let dir: string;
  let nginx: ChildProcess;
  let upstream: Server;
  let seen: IncomingHttpHeaders | undefined;
  let url: string;

  before(async () => {
    env = await dpopEnv();
    key = await dpopKey();
    dir = mkdtempSync(join(tmpdir(), 'accredit-nginx-dpop-'));
    mkdirSync(join(dir, 'tmp'));
    writeFileSync(join(dir, 'server.pem'), env.tls.cert);
    writeFileSync(join(dir, 'server.key'), env.tls.key, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.pem'), env.caPem);
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
        await call(env.noCert, url, '/');
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

  const dpopToken = () =>
    env.minter.sign({
      ...env.minter.claims(env.reader.clientId, env.reader.orgId, undefined, 'accounts:read'),
      cnf: { jkt: key.jkt },
    });
  const htu = `${PUBLIC_URL}/v1/accounts`;

  test('ok/nonce challenge, then allowed without a client certificate; nonces reach the client', async () => {
    const token = await dpopToken();
    const first = await call(env.noCert, url, '/v1/accounts?limit=1', {
      headers: { authorization: `DPoP ${token}`, dpop: await proof({ key, htm: 'GET', htu, token }) },
    });
    assert.equal(first.status, 401, first.text);
    assert.match(String(first.headers['www-authenticate']), /^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers['dpop-nonce'] as string;
    assert.ok(nonce, `DPoP-Nonce on the 401: ${readFileSync(join(dir, 'error.log'), 'utf8').slice(-1000)}`);
    seen = undefined;
    const second = await call(env.noCert, url, '/v1/accounts?limit=1', {
      headers: { authorization: `DPoP ${token}`, dpop: await proof({ key, htm: 'GET', htu, token, nonce }) },
    });
    assert.equal(second.status, 200, second.text);
    assert.ok(second.headers['dpop-nonce'], 'a fresh nonce on the success');
    const got = seen as IncomingHttpHeaders | undefined;
    assert.equal(got?.['x-accredit-client-id'], env.reader.clientId);
    assert.equal(got?.dpop, undefined, 'the proof stays at the edge');
    assert.equal(got?.authorization, undefined, 'the token stays at the edge');
  });

  test('fail/a replayed proof through nginx', async () => {
    const token = await dpopToken();
    const p = await proof({ key, htm: 'GET', htu, token, nonce: env.nonces.current(Date.now()) });
    const headers = { authorization: `DPoP ${token}`, dpop: p };
    assert.equal((await call(env.noCert, url, '/v1/accounts', { headers })).status, 200);
    const replay = await call(env.noCert, url, '/v1/accounts', { headers });
    assert.equal(replay.status, 401);
    assert.match(String(replay.headers['www-authenticate']), /^DPoP error="invalid_dpop_proof"/);
  });

  test('fail/a DPoP-bound token as Bearer through nginx', async () => {
    const res = await call(env.noCert, url, '/v1/accounts', { token: await dpopToken() });
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="accredit", error="invalid_token"/);
  });

  test('fail/the mtls-required operation without a certificate through nginx', async () => {
    const token = await dpopToken();
    const p = await proof({
      key,
      htm: 'GET',
      htu: `${PUBLIC_URL}/v1/strict`,
      token,
      nonce: env.nonces.current(Date.now()),
    });
    const res = await call(env.noCert, url, '/v1/strict', {
      headers: { authorization: `DPoP ${token}`, dpop: p },
    });
    assert.equal(res.status, 403);
  });
});
