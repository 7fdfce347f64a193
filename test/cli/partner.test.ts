import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CliError } from '../../src/cli/cli-error.ts';
import { generatePartnerKey, parseKeyAlgorithm } from '../../src/cli/partner/generate-partner-key.ts';
import { parseHeaders, parseMethod, readJsonData, targetUrl } from '../../src/cli/partner/index.ts';
import { KEY_ALGORITHMS, validateCsr } from '../../src/pki/index.ts';
import { readServeState } from '../../src/shared/serve-state.ts';
import { PlatformProcess, type RunResult } from '../support/platform-process.ts';

const json = <T>(text: string): T => JSON.parse(text) as T;
const jwtPart = (jwt: string, i: 0 | 1) =>
  json<Record<string, unknown>>(Buffer.from(jwt.split('.')[i] ?? '', 'base64url').toString('utf8'));
// Computed here independently of the code under test: RFC 8705 §3.1 over the DER certificate.
const thumbprintOf = (certFile: string) =>
  createHash('sha256')
    .update(new X509Certificate(readFileSync(certFile)).raw)
    .digest('base64url');

/** A failing command prints exactly one line on stderr, and no stack trace. */
function assertOneLineError(r: RunResult, pattern: RegExp, name = ''): void {
  assert.notEqual(r.code, 0, `${name}: exit code`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${name}: one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0] ?? '', /^accredit: error: /, name);
  assert.match(lines[0] ?? '', pattern, name);
}

interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  peerThumbprint: string;
  body: string;
}

/**
 * Stands in for the gateway to exercise `partner call`: mTLS with the platform's server certificate,
 * client certificate required and chained to the platform CA, token bound to it (RFC 8705 §3).
 */
async function startStubGateway(dir: string, seen: SeenRequest[]): Promise<Server> {
  const server = createServer(
    {
      cert: readFileSync(join(dir, 'tls', 'server.pem')),
      key: readFileSync(join(dir, 'tls', 'server.key.pem')),
      passphrase: readFileSync(join(dir, 'kek'), 'utf8').trim(),
      ca: readFileSync(join(dir, 'ca', 'bundle.pem')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += String(d);
      });
      req.on('end', () => {
        const peer = (req.socket as TLSSocket).getPeerX509Certificate();
        const peerThumbprint = peer ? createHash('sha256').update(peer.raw).digest('base64url') : '';
        const authorization = req.headers.authorization;
        seen.push({ method: req.method ?? '', path: req.url ?? '', authorization, peerThumbprint, body });
        const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-1', ...headers });
          res.end(JSON.stringify(value));
        };
        if (req.url === '/health') return send(200, { status: 'ok' });
        const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
        let cnf: string | undefined;
        try {
          cnf = (jwtPart(token ?? '', 1).cnf as Record<string, string> | undefined)?.['x5t#S256'];
        } catch {
          cnf = undefined;
        }
        if (!token || cnf !== peerThumbprint) {
          return send(
            401,
            { error: 'invalid_token' },
            { 'www-authenticate': 'Bearer error="invalid_token"' },
          );
        }
        if (req.url === '/v1/forbidden') return send(403, { code: 'insufficient_scope' });
        if (req.method === 'POST') return send(201, { received: JSON.parse(body) });
        return send(200, { accounts: [{ id: 'acc-1' }] });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('accredit partner: keygen, token and call against the real platform', { timeout: 90_000 }, () => {
  let platform: PlatformProcess;
  let clientId: string;
  let orgId: string;
  const partnerDir = () => join(platform.dir, 'partner');
  const files = () => ({
    key: join(partnerDir(), 'client.key'),
    csr: join(partnerDir(), 'client.csr'),
    cert: join(partnerDir(), 'client.crt'),
  });
  const credentials = () => ['--cert', files().cert, '--key', files().key];

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
    const org = await platform.cli(['org', 'create', '--name', 'Acme Bank', '--json']);
    assert.equal(org.code, 0, org.stderr);
    orgId = json<{ id: string }>(org.stdout).id;
    const app = await platform.cli([
      'app',
      'create',
      '--org',
      orgId,
      '--name',
      'reader',
      '--roles',
      'partner_reader',
      '--auth',
      'tls_client_auth',
      '--json',
    ]);
    assert.equal(app.code, 0, app.stderr);
    clientId = json<{ client_id: string }>(app.stdout).client_id;
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/keygen writes a 0600 PKCS#8 key and a CSR that passes validateCsr, then the operator issues', async () => {
    const made = await platform.cli(['partner', 'keygen', '--out', partnerDir()]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, new RegExp(`accredit cert issue --app .* --csr ${files().csr}`));
    assert.equal(statSync(partnerDir()).mode & 0o777, 0o700);
    assert.equal(statSync(files().key).mode & 0o777, 0o600);
    assert.match(readFileSync(files().key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    const csr = readFileSync(files().csr, 'utf8');
    const validation = await validateCsr(csr);
    assert.ok(validation.ok, JSON.stringify(validation.findings));
    assert.equal(validation.keyDescription, 'EC P-256');

    const issued = await platform.cli([
      'cert',
      'issue',
      '--app',
      clientId,
      '--csr',
      files().csr,
      '--out',
      files().cert,
      '--json',
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    assert.equal(json<{ x5t_s256: string }>(issued.stdout).x5t_s256, thumbprintOf(files().cert));
  });

  test('ok/keygen makes a valid CSR for every key algorithm', async () => {
    for (const alg of KEY_ALGORITHMS) {
      const made = await generatePartnerKey({ out: join(platform.dir, `alg-${alg}`), alg, force: false });
      const validation = await validateCsr(readFileSync(made.csr, 'utf8'));
      assert.ok(validation.ok, `${alg}: ${JSON.stringify(validation.findings)}`);
      assert.equal(statSync(made.key).mode & 0o777, 0o600, alg);
    }
  });

  test('fail/keygen refuses to overwrite an existing key; --force replaces it', async () => {
    const before = readFileSync(files().key, 'utf8');
    const other = join(platform.dir, 'other');
    const [refused, first] = await Promise.all([
      platform.cli(['partner', 'keygen', '--out', partnerDir()]),
      platform.cli(['partner', 'keygen', '--out', other, '--alg', 'ES384', '--json']),
    ]);
    assertOneLineError(refused, /client\.key already exists; pass --force/);
    assert.equal(readFileSync(files().key, 'utf8'), before, 'the key is untouched');
    assert.equal(first.code, 0, first.stderr);
    const forced = await platform.cli(['partner', 'keygen', '--out', other, '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(json<{ key_description: string }>(forced.stdout).key_description, 'EC P-256');
    assert.equal(statSync(join(other, 'client.key')).mode & 0o777, 0o600);
  });

  test('ok/token: client credentials with tls_client_auth gives a JWT bound to the certificate', async () => {
    const [r, human] = await Promise.all([
      platform.cli(['partner', 'token', ...credentials(), '--scope', 'accounts:read', '--json']),
      platform.cli(['partner', 'token', ...credentials()]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const token = json<{ access_token: string; token_type: string; scope: string; expires_in: number }>(
      r.stdout,
    );
    assert.equal(token.token_type.toLowerCase(), 'bearer');
    assert.equal(token.scope, 'accounts:read');
    assert.ok(token.expires_in > 30);
    assert.equal(jwtPart(token.access_token, 0).typ, 'at+jwt');
    const claims = jwtPart(token.access_token, 1);
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.scope, 'accounts:read');
    assert.equal(claims.iss, platform.url);
    // RFC 8705 §3.1: bound to the SHA-256 thumbprint of the certificate presented at the token endpoint.
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprintOf(files().cert) });

    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^token_type: +Bearer$/m);
    assert.match(human.stdout, /^scope: +accounts:read$/m);
    assert.match(human.stdout, /^expires_in: +\d+ s \(until \d{4}-/m);
    assert.match(human.stdout, /^access_token: +ey[\w-]+\.[\w-]+\.[\w-]+$/m);
  });

  test('fail/token errors are one line: OAuth error codes, wrong key, wrong issuer, bad input', async () => {
    writeFileSync(join(platform.dir, 'not-a-cert.pem'), 'hello\n');
    const wrongKey = join(platform.dir, 'alg-ES256', 'client.key');
    const cases: Array<[string, string[], RegExp]> = [
      [
        'fail/scope not allowed by the roles',
        ['partner', 'token', ...credentials(), '--scope', 'payments:submit'],
        /token request refused: invalid_scope: .+ \(HTTP 400\)$/,
      ],
      [
        'fail/unknown client_id',
        ['partner', 'token', ...credentials(), '--client-id', 'cl_nobody'],
        /token request refused: invalid_client: .+ \(HTTP 401\)$/,
      ],
      [
        'fail/key of another certificate',
        ['partner', 'token', '--cert', files().cert, '--key', wrongKey],
        /private key .+ does not belong to certificate/,
      ],
      [
        // RFC 8414 §3.3: the metadata is fetched from 127.0.0.1 but names https://localhost:<port>.
        'fail/issuer the metadata does not name',
        ['partner', 'token', ...credentials(), '--issuer', `https://127.0.0.1:${platform.port}`],
        /metadata names issuer "https:\/\/localhost:\d+", not https:\/\/127\.0\.0\.1:\d+ \(RFC 8414 §3\.3\)/,
      ],
      [
        'fail/server not trusted',
        ['partner', 'token', ...credentials(), '--ca', join(partnerDir(), 'client.crt')],
        /cannot reach https:\/\/localhost:\d+: .*not trusted/,
      ],
      [
        'fail/not a certificate',
        ['partner', 'token', '--cert', join(platform.dir, 'not-a-cert.pem'), '--key', files().key],
        /not-a-cert\.pem is not a PEM certificate/,
      ],
      [
        'fail/bad JSON body',
        [
          'partner',
          'call',
          'POST',
          '/v1/payments',
          ...credentials(),
          '--gateway',
          'https://localhost:1',
          '--data',
          '{"amount":',
        ],
        /--data is not valid JSON/,
      ],
    ];
    const [asJson, ...results] = await Promise.all([
      platform.cli(['partner', 'token', ...credentials(), '--scope', 'payments:submit', '--json']),
      ...cases.map(([, args]) => platform.cli(args)),
    ]);
    for (const [i, [name, , pattern]] of cases.entries()) {
      assertOneLineError(results[i] as RunResult, pattern, name);
    }
    assert.equal(asJson?.code, 1);
    assert.equal(json<{ error: { code: string } }>(asJson?.stderr ?? '').error.code, 'invalid_scope');
  });

  test('fail/partner input is refused before anything is sent', () => {
    const gateway = 'https://gateway.example:9443';
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['fail/unknown key algorithm', () => parseKeyAlgorithm('RS1'), /--alg must be one of ES256, ES384/],
      ['fail/unknown method', () => parseMethod('FETCH'), /METHOD must be one of/],
      ['fail/absolute URL as PATH', () => targetUrl(gateway, 'https://evil.example/'), /PATH must start/],
      ['fail/protocol-relative PATH', () => targetUrl(gateway, '//evil.example/x'), /PATH must start/],
      ['fail/header without a colon', () => parseHeaders(['x-test']), /--header must look like/],
      ['fail/header smuggling a line', () => parseHeaders(['x-a: 1\r\nx-b: 2']), /line break/],
      ['fail/unreadable --data file', () => readJsonData('@/nonexistent/body.json'), /cannot read --data/],
    ];
    for (const [name, run, pattern] of cases) {
      assert.throws(run, (err: Error) => err instanceof CliError && pattern.test(err.message), name);
    }
    assert.equal(parseKeyAlgorithm('eddsa'), 'EdDSA');
    assert.equal(targetUrl(gateway, '/v1/accounts?limit=2').href, `${gateway}/v1/accounts?limit=2`);
    assert.deepEqual(parseHeaders(['X-Request-Id: abc: d']), { 'x-request-id': 'abc: d' });
  });

  test('ok/call goes through an mTLS gateway with a cached, certificate-bound token', async () => {
    const seen: SeenRequest[] = [];
    const stub = await startStubGateway(platform.dir, seen);
    try {
      const gateway = ['--gateway', `https://localhost:${(stub.address() as AddressInfo).port}`];
      const call = (args: string[]) =>
        platform.cli(['partner', 'call', ...args, ...credentials(), ...gateway]);

      const health = await call(['GET', '/health']);
      assert.equal(health.code, 0, health.stderr);
      assert.equal(health.stdout, 'HTTP 200\n{\n  "status": "ok"\n}\n');
      assert.equal(seen.at(-1)?.authorization, undefined, '/health needs no token');
      assert.equal(seen.at(-1)?.peerThumbprint, thumbprintOf(files().cert), 'the certificate is presented');

      const first = await call(['GET', '/v1/accounts', '--scope', 'accounts:read']);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^HTTP 200\n\{\n {2}"accounts": \[/);
      const token = seen.at(-1)?.authorization?.slice('Bearer '.length) ?? '';
      assert.equal(jwtPart(token, 1).scope, 'accounts:read');

      const cacheFile = `${files().key}.tokens.json`;
      assert.equal(statSync(cacheFile).mode & 0o777, 0o600);
      const second = await call(['GET', '/v1/accounts', '--scope', 'accounts:read', '--json']);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(seen.at(-1)?.authorization, `Bearer ${token}`, 'the cached token is reused');
      assert.deepEqual(json(second.stdout), {
        status: 200,
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
        body: { accounts: [{ id: 'acc-1' }] },
      });
      for (const r of [first, second]) assert.ok(!r.stdout.includes(token), 'tokens are never printed');

      // Non-2xx: the body is still shown, the exit code says it failed.
      const refused = await call(['GET', '/v1/forbidden', '--scope', 'accounts:read']);
      assert.equal(refused.code, 1);
      assert.match(refused.stdout, /^HTTP 403\n.*"insufficient_scope"/s);

      // A cached token the gateway refuses is replaced once.
      const cache = json<{ tokens: Record<string, { access_token: string }> }>(
        readFileSync(cacheFile, 'utf8'),
      );
      for (const entry of Object.values(cache.tokens)) entry.access_token = 'e30.e30.sig';
      writeFileSync(cacheFile, JSON.stringify(cache));
      const retried = await call([
        'POST',
        '/v1/payments',
        '--scope',
        'accounts:read',
        '--data',
        '{"amount":"1.00"}',
      ]);
      assert.equal(retried.code, 0, retried.stderr);
      assert.match(retried.stdout, /^HTTP 201\n/);
      assert.deepEqual(
        seen.slice(-2).map((s) => [s.method, s.authorization === 'Bearer e30.e30.sig', s.body]),
        [
          ['POST', true, '{"amount":"1.00"}'],
          ['POST', false, '{"amount":"1.00"}'],
        ],
      );
      assert.ok(existsSync(cacheFile));
    } finally {
      await new Promise((resolve) => stub.close(resolve));
    }
  });

  test('ok/call through the platform gateway: /health and GET /v1/accounts are 200', async (t) => {
    const gateway = readServeState(platform.dir)?.listeners.gateway;
    if (!gateway) {
      t.todo('the platform does not start the gateway listener yet (listeners.gateway in serve.json)');
      return;
    }
    const call = (args: string[]) => platform.cli(['partner', 'call', ...args, ...credentials()]);
    const health = await call(['GET', '/health']);
    assert.equal(health.code, 0, health.stderr);
    assert.match(health.stdout, /^HTTP 200\n/);
    const accounts = await call(['GET', '/v1/accounts', '--scope', 'accounts:read']);
    assert.equal(accounts.code, 0, `${accounts.stdout}${accounts.stderr}`);
    assert.match(accounts.stdout, /^HTTP 200\n/);
  });
});
