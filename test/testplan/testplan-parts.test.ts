import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  compactVerify,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
} from 'jose';
import { craftExpiredToken } from '../../src/testplan/crafted-token.ts';
import { untrustedCredential } from '../../src/testplan/credentials.ts';
import { describe as describeAnswer, joinUrl, refusedHandshake } from '../../src/testplan/http.ts';
import { parseOperation, type RawOptions, resolveOptions, UsageError } from '../../src/testplan/options.ts';
import { junitReport, textReport } from '../../src/testplan/report.ts';
import type { CaseResult } from '../../src/testplan/types.ts';
import { assertWellFormedJunit } from './junit-structure.ts';

const dir = mkdtempSync(join(tmpdir(), 'accredit-testplan-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const credential = await untrustedCredential('client-1');

describe('testplan options', () => {
  const certFile = join(dir, 'client.pem');
  const keyFile = join(dir, 'client.key');
  writeFileSync(certFile, credential.certPem);
  writeFileSync(keyFile, credential.keyPem, { mode: 0o600 });
  const raw = (extra: Partial<RawOptions> = {}): RawOptions => ({
    issuer: 'https://as.example',
    api: 'https://api.example/prod/',
    cert: certFile,
    key: keyFile,
    clientId: 'client-1',
    path: '/v1/accounts',
    forbiddenPath: 'POST /v1/payments',
    healthPath: '/health',
    revocationBoundMs: '2000',
    ...extra,
  });

  test('ok/operations: a bare path is GET, a method is upper-cased', () => {
    assert.deepEqual(parseOperation('/v1/accounts', '--path'), { method: 'GET', path: '/v1/accounts' });
    assert.deepEqual(parseOperation('post /v1/payments', '--path'), { method: 'POST', path: '/v1/payments' });
  });

  test('fail/operations: unknown method, relative path, extra words', () => {
    for (const bad of ['FETCH /x', 'GET x', 'GET /a b', '', 'GET /a#b'])
      assert.throws(() => parseOperation(bad, '--path'), UsageError, bad);
  });

  test('ok/the inputs resolve, a stage path kept and its trailing slash dropped', () => {
    const o = resolveOptions(raw());
    assert.equal(o.api, 'https://api.example/prod');
    assert.equal(o.destructive, false);
    assert.equal(o.admin, undefined);
    assert.equal(joinUrl(o.api, '/v1/accounts'), 'https://api.example/prod/v1/accounts');
  });

  test('fail/each rule of the inputs is enforced before any request', () => {
    const cases: Array<[Partial<RawOptions>, RegExp]> = [
      [{ issuer: undefined }, /--token-endpoint or --issuer/],
      [{ api: undefined }, /--api is required/],
      [{ api: 'http://api.example' }, /https URL/],
      [{ tokenEndpoint: 'https://as.example/token?x=1' }, /query or fragment/],
      [{ clientId: undefined }, /--client-id is required/],
      [{ cert: keyFile }, /not a PEM certificate/],
      [{ cert: join(dir, 'missing.pem') }, /not a file/],
      [{ ownedPath: '/v1/accounts/{id}' }, /go together/],
      [{ untrustedCert: certFile }, /go together/],
      [{ adminUrl: 'https://admin.example' }, /go together/],
      [{ revocationBoundMs: '-1' }, /revocation-bound-ms/],
    ];
    for (const [extra, message] of cases)
      assert.throws(() => resolveOptions(raw(extra)), message, JSON.stringify(extra));
  });

  test('fail/an operator token file others can read is refused, not used', () => {
    const file = join(dir, 'operator-token');
    writeFileSync(file, 'secret-operator-token\n', { mode: 0o644 });
    assert.throws(
      () => resolveOptions(raw({ adminUrl: 'https://admin.example', operatorTokenFile: file })),
      /readable by others; run chmod 600/,
    );
    const ok = join(dir, 'operator-token-ok');
    writeFileSync(ok, 'secret-operator-token\n', { mode: 0o600 });
    const o = resolveOptions(raw({ adminUrl: 'https://admin.example', operatorTokenFile: ok }));
    assert.deepEqual(o.admin, { url: 'https://admin.example', token: 'secret-operator-token' });
  });
});

describe('testplan reports', () => {
  const results: CaseResult[] = [
    {
      id: 'token-issued',
      title: 'Token <issued> & "bound"',
      status: 'pass',
      expected: '200',
      got: '200',
      ms: 12,
    },
    {
      id: 'allowed-call',
      title: "Allowed call 'GET /v1/a?b=1&c=2'",
      status: 'fail',
      expected: '200',
      got: '403 insufficient_scope \u0001<x>',
      ms: 1500,
    },
    {
      id: 'revoked-token',
      title: 'Token revoked',
      status: 'skip',
      expected: '401',
      got: 'pass --destructive',
      ms: 0,
    },
  ];

  test('ok/JUnit: one testcase per case, failures and skips with messages, markup escaped', () => {
    const xml = junitReport(results, 'https://api.example', new Date('2026-12-02T01:00:00.123Z'));
    const suite = assertWellFormedJunit(xml);
    assert.deepEqual(suite, { tests: 3, failures: 1, skipped: 1, failed: ['allowed-call'] });
    assert.match(xml, /name="token-issued: Token &lt;issued&gt; &amp; &quot;bound&quot;"/);
    assert.match(xml, /message="expected 200; got 403 insufficient_scope \uFFFD&lt;x&gt;"/);
    assert.match(xml, /<skipped message="pass --destructive"\/>/);
    assert.match(xml, /time="1.500"/);
    assert.match(xml, /timestamp="2026-12-02T01:00:00"/);
  });

  test('ok/text: one line per case and a verdict', () => {
    const text = textReport(results, 'https://api.example');
    assert.match(text, /^PASS {2}token-issued +expected 200; got 200 \(12 ms\)$/m);
    assert.match(text, /^FAIL {2}allowed-call +expected 200; got 403 insufficient_scope/m);
    assert.match(text, /^SKIP {2}revoked-token /m);
    assert.match(text, /^FAILED: 1 passed, 1 failed, 1 skipped \(1512 ms\)$/m);
  });
});

describe('testplan answers and crafted tokens', () => {
  test('ok/a refused handshake is told from an unreachable server', () => {
    assert.equal(
      refusedHandshake({ kind: 'transport', code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: '' }),
      true,
    );
    assert.equal(refusedHandshake({ kind: 'transport', code: 'ECONNRESET', message: '' }), true);
    assert.equal(refusedHandshake({ kind: 'transport', code: 'ECONNREFUSED', message: '' }), false);
    assert.equal(
      refusedHandshake({ kind: 'http', status: 401, code: undefined, challenge: 'invalid_token', body: '' }),
      false,
    );
    assert.equal(
      describeAnswer({ kind: 'http', status: 401, code: undefined, challenge: 'invalid_token', body: '' }),
      '401 invalid_token',
    );
    assert.equal(
      describeAnswer({ kind: 'transport', code: 'ECONNRESET', message: '' }),
      'connection failed: ECONNRESET',
    );
  });

  test('ok/the expired token keeps the claims and kid, expired, and the issuer key does not verify it', async () => {
    const issuer = await generateKeyPair('ES256');
    const real = await new SignJWT({ client_id: 'c1', scope: 'accounts:read', cnf: { 'x5t#S256': 'abc' } })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer('https://as.example')
      .setAudience('https://api.example')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(issuer.privateKey);
    const crafted = await craftExpiredToken(real);
    const claims = decodeJwt(crafted);
    assert.ok(claims.exp! < Date.now() / 1000 - 3000);
    assert.deepEqual(
      [claims.iss, claims.aud, claims.client_id, claims.cnf],
      ['https://as.example', 'https://api.example', 'c1', { 'x5t#S256': 'abc' }],
    );
    assert.deepEqual(decodeProtectedHeader(crafted), { alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
    const issuerKey = await importJWK(await exportJWK(issuer.publicKey), 'ES256');
    await assert.rejects(compactVerify(crafted, issuerKey));
  });
});
