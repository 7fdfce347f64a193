import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_FILE, ConfigError, loadConfig, type PlatformConfig } from '../../src/platform/config.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-config-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh data directory, with accredit.json when `file` is given (a string is written as is). */
function dataDir(file?: unknown): string {
  const path = mkdtempSync(join(root, 'data-'));
  if (file !== undefined) {
    writeFileSync(join(path, CONFIG_FILE), typeof file === 'string' ? file : JSON.stringify(file));
  }
  return path;
}

describe('loadConfig', () => {
  test('ok/defaults: SQLite in the data directory, localhost:8443, 90-day certificates', () => {
    const dir = dataDir();
    const expected: PlatformConfig = {
      dataDir: dir,
      database: { url: join(dir, 'accredit.db'), schema: undefined },
      host: '127.0.0.1',
      hostnames: ['localhost'],
      import: { maxBytes: 64 * 1024 * 1024 },
      listeners: {
        public: { port: 8443 },
        mtls: { port: 8444 },
        gateway: { port: 9443 },
        decision: { port: 9445 },
        pkiHttp: { port: 8080, enabled: true },
        metrics: { port: 9464, host: '127.0.0.1', enabled: true },
        limits: {
          handshakeTimeoutMs: 10_000,
          firstRequestTimeoutMs: 10_000,
          maxConnections: 1024,
          maxConnectionsPerAddress: 64,
          headersTimeoutMs: 20_000,
          requestTimeoutMs: 120_000,
          reservedFileDescriptors: 256,
        },
      },
      publicUrl: 'https://localhost:8443',
      mtlsUrl: 'https://localhost:8444',
      gatewayUrl: 'https://localhost:9443',
      gateway: {
        upstream: undefined,
        upstreamSecretFile: undefined,
        upstreamCaFile: undefined,
        upstreamClientCertFile: undefined,
        upstreamClientKeyFile: undefined,
        audience: 'https://localhost:9443',
      },
      decision: {
        callers: [],
        callerCaFile: undefined,
        secretFile: undefined,
        certificateHeader: 'x-client-cert',
      },
      enforcementFeed: { maxClients: 64 },
      metrics: { tokenFile: undefined },
      ssf: { allowPrivateAddresses: false, maxStreamsPerReceiver: 5, pollMaxWaitSeconds: 30 },
      accessTokenTtlSeconds: 300,
      pki: {
        partnerCertDays: 90,
        crlValidityHours: 168,
        keyAlgorithm: 'ES256',
        publicHttpUrl: 'http://localhost:8080',
        ocspResponderDays: 7,
        ocspValidityMinutes: 60,
        rootCrlValidityDays: 90,
      },
      trustedProxies: [],
      proxies: [],
      logLevel: 'info',
      registration: { softwareStatementMaxAgeSeconds: 300, allowInitialAccessTokens: false },
      fapi: { profile: '2.0' },
      dpop: { requireNonce: 'always' },
      login: { upstream: undefined },
      catalog: { title: 'Partner API', accessRequest: undefined },
      renewal: { graceDays: 7, drainSeconds: 60, sweepSeconds: 30 },
      expiry: { thresholdDays: [30, 14, 7, 1], intervalMinutes: 60 },
      keys: { maxAgeDays: 365 },
      notifications: {
        smtp: {
          host: undefined,
          port: 587,
          security: 'starttls',
          user: undefined,
          passwordFile: undefined,
          from: undefined,
          caFile: undefined,
        },
        operators: [],
      },
      federation: {
        entityId: 'https://localhost:8443',
        authorityHints: [],
        statementLifetimeSeconds: 86400,
        trustMarkTypes: [{ type: 'https://localhost:8443/trust-marks/accredited-partner', roles: [] }],
        trustAnchors: [{ entityId: 'https://localhost:8443' }],
        fetch: {
          timeoutMs: 5000,
          maxBytes: 262144,
          maxRedirects: 2,
          allowLoopback: false,
          allowPrivateNetworks: false,
        },
      },
      webhooks: {
        allowPrivateAddresses: false,
        timeoutMs: 10_000,
        retrySchedule: [10, 60, 300, 1800, 7200, 18_000, 36_000],
        maxAgeHours: 24,
        pollIntervalMs: 1000,
        retentionDays: 30,
      },
    };
    assert.deepEqual(loadConfig(dir, {}), expected);
  });

  test('ok/federation settings from the file and the environment', () => {
    const dir = dataDir({
      federation: {
        entityId: 'https://fed.bank.example/ta',
        trustMarkTypes: [
          { type: 'https://fed.bank.example/tm/payments', roles: ['partner_writer'] },
          'https://fed.bank.example/tm/reader',
        ],
        trustAnchors: [{ entityId: 'https://edugain.example' }, 'https://fed.bank.example/ta'],
        fetch: { allowLoopback: true },
      },
    });
    const c = loadConfig(dir, {
      ACCREDIT_FEDERATION_AUTHORITY_HINTS: 'https://edugain.example, http://localhost:9000',
      ACCREDIT_FEDERATION_STATEMENT_LIFETIME: '3600',
      ACCREDIT_FEDERATION_FETCH_TIMEOUT_MS: '2500',
      ACCREDIT_FEDERATION_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    assert.equal(c.federation.entityId, 'https://fed.bank.example/ta');
    assert.deepEqual(c.federation.authorityHints, ['https://edugain.example', 'http://localhost:9000']);
    assert.equal(c.federation.statementLifetimeSeconds, 3600);
    assert.deepEqual(c.federation.trustMarkTypes, [
      { type: 'https://fed.bank.example/tm/payments', roles: ['partner_writer'] },
      { type: 'https://fed.bank.example/tm/reader', roles: [] },
    ]);
    assert.deepEqual(c.federation.trustAnchors, [
      { entityId: 'https://edugain.example' },
      { entityId: 'https://fed.bank.example/ta' },
    ]);
    assert.deepEqual(c.federation.fetch, {
      timeoutMs: 2500,
      maxBytes: 262144,
      maxRedirects: 2,
      allowLoopback: true,
      allowPrivateNetworks: true,
    });
  });

  test('ok/federation trust mark types and anchors as JSON in the environment; jwksFile is relative to the data directory', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'edugain.jwks.json'), '{"keys":[]}');
    const c = loadConfig(dir, {
      ACCREDIT_FEDERATION_ENTITY_ID: 'https://fed.example',
      ACCREDIT_FEDERATION_TRUST_MARK_TYPES:
        '[{"type":"https://fed.example/tm/a","roles":["partner_reader"]}]',
      ACCREDIT_FEDERATION_TRUST_ANCHORS:
        '[{"entityId":"https://edugain.example","jwksFile":"edugain.jwks.json"}]',
    });
    assert.deepEqual(c.federation.trustMarkTypes, [
      { type: 'https://fed.example/tm/a', roles: ['partner_reader'] },
    ]);
    assert.deepEqual(c.federation.trustAnchors, [
      { entityId: 'https://edugain.example', jwksFile: join(dir, 'edugain.jwks.json') },
    ]);
  });

  test('fail/derived and explicit listener URLs must be https; the upstream must be http(s)', () => {
    const dir = dataDir();
    assert.throws(() => loadConfig(dir, { ACCREDIT_MTLS_URL: 'http://x:1' }), /ACCREDIT_MTLS_URL/);
    assert.throws(() => loadConfig(dir, { ACCREDIT_GATEWAY_URL: 'ftp://x' }), /ACCREDIT_GATEWAY_URL/);
    assert.throws(() => loadConfig(dir, { ACCREDIT_UPSTREAM_URL: 'file:///etc' }), /ACCREDIT_UPSTREAM_URL/);
    assert.throws(() => loadConfig(dir, { ACCREDIT_ACCESS_TOKEN_TTL: '5' }), /ACCREDIT_ACCESS_TOKEN_TTL/);
    const c = loadConfig(dir, {
      ACCREDIT_GATEWAY_PORT: '9999',
      ACCREDIT_API_AUDIENCE: 'https://api.example',
    });
    assert.equal(c.gatewayUrl, 'https://localhost:9999');
    assert.equal(c.gateway.audience, 'https://api.example');
  });

  test('ok/renewal settings from the file and the environment; out of range names the key', () => {
    const dir = dataDir({ renewal: { windowPercent: 50, graceDays: 3 } });
    assert.deepEqual(loadConfig(dir, { ACCREDIT_RENEWAL_DRAIN_SECONDS: '5' }).renewal, {
      windowPercent: 50,
      graceDays: 3,
      drainSeconds: 5,
      sweepSeconds: 30,
    });
    assert.throws(
      () => loadConfig(dir, { ACCREDIT_RENEWAL_WINDOW_PERCENT: '0' }),
      /ACCREDIT_RENEWAL_WINDOW_PERCENT/,
    );
    assert.throws(
      () => loadConfig(dir, { ACCREDIT_RENEWAL_SWEEP_SECONDS: 'often' }),
      /ACCREDIT_RENEWAL_SWEEP_SECONDS/,
    );
    assert.throws(() => loadConfig(dataDir({ renewal: { graceDays: 400 } }), {}), /renewal\.graceDays/);
  });

  test('ok/values from accredit.json', () => {
    const dir = dataDir({
      database: { url: 'postgres://db.internal/accredit', schema: 'prod' },
      host: '0.0.0.0',
      hostnames: ['api.bank.example', 'accredit.internal'],
      listeners: { public: { port: 9443 } },
      pki: { partnerCertDays: 30, crlValidityHours: 24, rootCrlValidityDays: 180, keyAlgorithm: 'ES384' },
      trustedProxies: ['10.0.0.1'],
      logLevel: 'debug',
    });
    const c = loadConfig(dir, {});
    assert.deepEqual(c.database, { url: 'postgres://db.internal/accredit', schema: 'prod' });
    assert.equal(c.host, '0.0.0.0');
    assert.deepEqual(c.hostnames, ['api.bank.example', 'accredit.internal']);
    assert.equal(c.listeners.public.port, 9443);
    assert.deepEqual(c.pki, {
      partnerCertDays: 30,
      crlValidityHours: 24,
      keyAlgorithm: 'ES384',
      publicHttpUrl: 'http://api.bank.example:8080',
      ocspResponderDays: 7,
      ocspValidityMinutes: 60,
      rootCrlValidityDays: 180,
    });
    assert.deepEqual(c.trustedProxies, ['10.0.0.1']);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.publicUrl, 'https://api.bank.example:9443');
  });

  test('ok/DPoP nonce policy and the Redis replay cache from the environment', () => {
    const config = loadConfig(dataDir(), {
      ACCREDIT_DPOP_REQUIRE_NONCE: 'never',
      ACCREDIT_REDIS_URL: 'redis://127.0.0.1:6379/2',
    });
    assert.equal(config.dpop.requireNonce, 'never');
    assert.equal(config.replayCache?.redisUrl, 'redis://127.0.0.1:6379/2');
  });

  test('ok/replayCache.redisCaFile relative to the data directory; fail/without rediss://, or missing', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'redis-ca.pem'), '-----BEGIN CERTIFICATE-----\n');
    const config = loadConfig(dir, {
      ACCREDIT_REDIS_URL: 'rediss://cache.bank.example:6380/0',
      ACCREDIT_REDIS_CA_FILE: 'redis-ca.pem',
    });
    assert.equal(config.replayCache?.redisCaFile, join(dir, 'redis-ca.pem'));
    assert.throws(
      () =>
        loadConfig(dir, { ACCREDIT_REDIS_URL: 'redis://cache:6379', ACCREDIT_REDIS_CA_FILE: 'redis-ca.pem' }),
      (err: unknown) =>
        err instanceof ConfigError && /ACCREDIT_REDIS_CA_FILE: needs a rediss:\/\//.test(err.message),
    );
    assert.throws(() => loadConfig(dir, { ACCREDIT_REDIS_CA_FILE: 'redis-ca.pem' }), /needs a rediss:\/\//);
    assert.throws(
      () =>
        loadConfig(dir, { ACCREDIT_REDIS_URL: 'rediss://cache:6380', ACCREDIT_REDIS_CA_FILE: 'missing.pem' }),
      /missing\.pem does not exist/,
    );
  });

  test('ok/PKI publication base: plain http, configurable, publicUrl when the http listener is off', () => {
    assert.equal(
      loadConfig(dataDir(), { ACCREDIT_PKI_HTTP_URL: 'http://pki.bank.example/' }).pki.publicHttpUrl,
      'http://pki.bank.example',
    );
    assert.equal(
      loadConfig(dataDir(), { ACCREDIT_PKI_HTTP_PORT: '8081' }).pki.publicHttpUrl,
      'http://localhost:8081',
    );
    const off = loadConfig(dataDir({ listeners: { pkiHttp: { enabled: false } } }), {});
    assert.equal(off.listeners.pkiHttp.enabled, false);
    assert.equal(off.pki.publicHttpUrl, 'https://localhost:8443');
  });

  test('ok/listener limits from the file and the environment; 0 lifts the per-address cap', () => {
    const dir = dataDir({ listeners: { limits: { maxConnections: 4096, headersTimeoutMs: 5000 } } });
    const c = loadConfig(dir, {
      ACCREDIT_LISTENER_HANDSHAKE_TIMEOUT_MS: '3000',
      ACCREDIT_LISTENER_FIRST_REQUEST_TIMEOUT_MS: '4000',
      ACCREDIT_LISTENER_MAX_CONNECTIONS_PER_ADDRESS: '0',
      ACCREDIT_LISTENER_REQUEST_TIMEOUT_MS: '60000',
    });
    assert.deepEqual(c.listeners.limits, {
      handshakeTimeoutMs: 3000,
      firstRequestTimeoutMs: 4000,
      maxConnections: 4096,
      maxConnectionsPerAddress: 0,
      headersTimeoutMs: 5000,
      requestTimeoutMs: 60000,
      reservedFileDescriptors: 256,
    });
  });

  test('ok/environment overrides the file; an empty variable does not', () => {
    const dir = dataDir({
      listeners: { public: { port: 9443 } },
      logLevel: 'debug',
      hostnames: ['file.example'],
    });
    const c = loadConfig(dir, {
      ACCREDIT_PUBLIC_PORT: '10443',
      ACCREDIT_LOG_LEVEL: '',
      ACCREDIT_HOSTNAMES: ' env.example , second.example,, ',
      ACCREDIT_TRUSTED_PROXIES: '10.0.0.1,10.0.0.2',
      ACCREDIT_PARTNER_CERT_DAYS: '7',
      ACCREDIT_DATABASE_URL: 'postgres://env/db',
      ACCREDIT_REGISTRATION_ALLOW_IAT: 'true',
      ACCREDIT_FAPI_PROFILE: 'off',
    });
    assert.equal(c.listeners.public.port, 10443);
    assert.equal(c.logLevel, 'debug');
    assert.deepEqual(c.hostnames, ['env.example', 'second.example']);
    assert.deepEqual(c.trustedProxies, ['10.0.0.1', '10.0.0.2']);
    assert.equal(c.pki.partnerCertDays, 7);
    assert.equal(c.database.url, 'postgres://env/db');
    assert.equal(c.publicUrl, 'https://env.example:10443');
    assert.equal(c.registration.allowInitialAccessTokens, true);
    assert.equal(c.fapi.profile, 'off');
  });

  const publicUrls: Array<{ name: string; file?: unknown; env?: NodeJS.ProcessEnv; expected: string }> = [
    {
      name: 'ok/publicUrl defaults to the first hostname and the public port',
      file: { hostnames: ['a.example', 'b.example'], listeners: { public: { port: 7443 } } },
      expected: 'https://a.example:7443',
    },
    {
      name: 'ok/publicUrl trailing slash is stripped',
      file: { publicUrl: 'https://api.bank.example/' },
      expected: 'https://api.bank.example',
    },
    {
      name: 'ok/publicUrl trailing slashes after a path are stripped',
      env: { ACCREDIT_PUBLIC_URL: 'https://gw.bank.example/accredit//' },
      expected: 'https://gw.bank.example/accredit',
    },
    {
      name: 'ok/an explicit publicUrl wins over the derived one',
      file: { hostnames: ['a.example'], publicUrl: 'https://public.example' },
      expected: 'https://public.example',
    },
  ];
  for (const c of publicUrls) {
    test(c.name, () => {
      assert.equal(loadConfig(dataDir(c.file), c.env ?? {}).publicUrl, c.expected);
    });
  }

  const bad: Array<{ name: string; file?: unknown; env?: NodeJS.ProcessEnv; message: RegExp }> = [
    {
      name: 'fail/port out of range in the file',
      file: { listeners: { public: { port: 70000 } } },
      message: /accredit\.json: listeners\.public\.port: expected an integer from 0 to 65535, got 70000/,
    },
    {
      name: 'fail/root CRL validity of 0 days in env',
      env: { ACCREDIT_ROOT_CRL_VALIDITY_DAYS: '0' },
      message: /ACCREDIT_ROOT_CRL_VALIDITY_DAYS: expected an integer from 1 to 400/,
    },
    {
      name: 'fail/root CRL validity past 400 days in the file',
      file: { pki: { rootCrlValidityDays: 401 } },
      message: /pki\.rootCrlValidityDays: expected an integer from 1 to 400, got 401/,
    },
    {
      name: 'fail/port not a number in env',
      env: { ACCREDIT_PUBLIC_PORT: 'https' },
      message: /ACCREDIT_PUBLIC_PORT/,
    },
    { name: 'fail/port in hex', env: { ACCREDIT_PUBLIC_PORT: '0x1bb' }, message: /ACCREDIT_PUBLIC_PORT/ },
    {
      name: 'fail/port with a fraction',
      env: { ACCREDIT_PUBLIC_PORT: '8443.5' },
      message: /ACCREDIT_PUBLIC_PORT/,
    },
    { name: 'fail/port blank in env', env: { ACCREDIT_PUBLIC_PORT: '  ' }, message: /ACCREDIT_PUBLIC_PORT/ },
    {
      name: 'fail/port as an empty string in the file',
      file: { listeners: { public: { port: '' } } },
      message: /listeners\.public\.port/,
    },
    {
      name: 'fail/listener handshake timeout of zero in env',
      env: { ACCREDIT_LISTENER_HANDSHAKE_TIMEOUT_MS: '0' },
      message: /ACCREDIT_LISTENER_HANDSHAKE_TIMEOUT_MS: expected an integer from 100 to 120000/,
    },
    {
      name: 'fail/listener connection cap of zero in the file',
      file: { listeners: { limits: { maxConnections: 0 } } },
      message: /accredit\.json: listeners\.limits\.maxConnections: expected an integer from 1/,
    },
    {
      name: 'fail/negative per-address cap in env',
      env: { ACCREDIT_LISTENER_MAX_CONNECTIONS_PER_ADDRESS: '-1' },
      message: /ACCREDIT_LISTENER_MAX_CONNECTIONS_PER_ADDRESS/,
    },
    {
      name: 'fail/first-request timeout as text in env',
      env: { ACCREDIT_LISTENER_FIRST_REQUEST_TIMEOUT_MS: '10s' },
      message: /ACCREDIT_LISTENER_FIRST_REQUEST_TIMEOUT_MS/,
    },
    {
      name: 'fail/headers timeout beyond the request timeout',
      env: { ACCREDIT_LISTENER_HEADERS_TIMEOUT_MS: '30000', ACCREDIT_LISTENER_REQUEST_TIMEOUT_MS: '20000' },
      message: /ACCREDIT_LISTENER_HEADERS_TIMEOUT_MS: must not exceed requestTimeoutMs \(20000\)/,
    },
    {
      name: 'fail/partnerCertDays of zero',
      file: { pki: { partnerCertDays: 0 } },
      message: /pki\.partnerCertDays/,
    },
    {
      name: 'fail/PKI publication base over https (relying parties must not need TLS)',
      env: { ACCREDIT_PKI_HTTP_URL: 'https://pki.bank.example' },
      message: /ACCREDIT_PKI_HTTP_URL: "https:\/\/pki\.bank\.example" is not an http URL/,
    },
    {
      name: 'fail/PKI publication base with a query',
      file: { pki: { publicHttpUrl: 'http://pki.bank.example/?x=1' } },
      message: /pki\.publicHttpUrl/,
    },
    {
      name: 'fail/OCSP responder lifetime of zero days',
      env: { ACCREDIT_OCSP_RESPONDER_DAYS: '0' },
      message: /ACCREDIT_OCSP_RESPONDER_DAYS/,
    },
    {
      name: 'fail/crlValidityHours beyond a month',
      env: { ACCREDIT_CRL_VALIDITY_HOURS: '1000' },
      message: /ACCREDIT_CRL_VALIDITY_HOURS/,
    },
    {
      name: 'fail/publicUrl over http in the file',
      file: { publicUrl: 'http://api.bank.example' },
      message: /accredit\.json: publicUrl: "http:\/\/api\.bank\.example" is not an https URL/,
    },
    {
      name: 'fail/publicUrl over http in env',
      env: { ACCREDIT_PUBLIC_URL: 'http://api.bank.example' },
      message: /ACCREDIT_PUBLIC_URL: .* is not an https URL/,
    },
    { name: 'fail/publicUrl not a URL', file: { publicUrl: 'api.bank.example' }, message: /publicUrl/ },
    {
      name: 'fail/derived publicUrl from a hostname that is not a host',
      file: { hostnames: ['not a host'] },
      message: /publicUrl \(derived from hostnames/,
    },
    {
      name: 'fail/unknown log level in the file',
      file: { logLevel: 'verbose' },
      message: /logLevel: expected one of/,
    },
    {
      name: 'fail/unknown log level in env',
      env: { ACCREDIT_LOG_LEVEL: 'loud' },
      message: /ACCREDIT_LOG_LEVEL/,
    },
    {
      name: 'fail/unknown CA key algorithm',
      env: { ACCREDIT_CA_KEY_ALG: 'RS256' },
      message: /ACCREDIT_CA_KEY_ALG/,
    },
    { name: 'fail/bad JSON file', file: '{ "host": ', message: /accredit\.json: not valid JSON/ },
    {
      name: 'fail/JSON file that is not an object',
      file: '["localhost"]',
      message: /accredit\.json: expected a JSON object/,
    },
    {
      name: 'fail/empty hostnames in the file',
      file: { hostnames: [] },
      message: /accredit\.json: hostnames: at least one DNS name is needed/,
    },
    {
      name: 'fail/empty hostnames in env',
      env: { ACCREDIT_HOSTNAMES: ' , ' },
      message: /ACCREDIT_HOSTNAMES: at least one DNS name is needed/,
    },
    {
      name: 'fail/hostnames not strings',
      file: { hostnames: [1] },
      message: /hostnames: expected a list of strings/,
    },
    { name: 'fail/empty database URL', file: { database: { url: '' } }, message: /database\.url/ },
    {
      name: 'fail/federation entity id over http',
      env: { ACCREDIT_FEDERATION_ENTITY_ID: 'http://fed.example' },
      message: /ACCREDIT_FEDERATION_ENTITY_ID: "http:\/\/fed\.example" is not an Entity Identifier/,
    },
    {
      name: 'fail/federation entity id with a query',
      file: { federation: { entityId: 'https://fed.example/?x=1' } },
      message: /federation\.entityId/,
    },
    {
      name: 'fail/http loopback authority hint without allowLoopback',
      env: { ACCREDIT_FEDERATION_AUTHORITY_HINTS: 'http://localhost:9000' },
      message: /ACCREDIT_FEDERATION_AUTHORITY_HINTS/,
    },
    {
      name: 'fail/the platform as its own superior',
      env: { ACCREDIT_FEDERATION_AUTHORITY_HINTS: 'https://localhost:8443' },
      message: /ACCREDIT_FEDERATION_AUTHORITY_HINTS: the platform cannot be its own superior/,
    },
    {
      name: 'fail/statement lifetime below a minute',
      env: { ACCREDIT_FEDERATION_STATEMENT_LIFETIME: '10' },
      message: /ACCREDIT_FEDERATION_STATEMENT_LIFETIME/,
    },
    {
      name: 'fail/trust mark type that is not a URL',
      file: { federation: { trustMarkTypes: [{ type: 'accredited' }] } },
      message: /federation\.trustMarkTypes\[0\]\.type: expected a URL/,
    },
    {
      name: 'fail/trust mark types not valid JSON in env',
      env: { ACCREDIT_FEDERATION_TRUST_MARK_TYPES: '[{"type":' },
      message: /ACCREDIT_FEDERATION_TRUST_MARK_TYPES: not a valid JSON array/,
    },
    {
      name: 'fail/trust anchor jwksFile that does not exist',
      file: { federation: { trustAnchors: [{ entityId: 'https://ta.example', jwksFile: 'missing.json' }] } },
      message: /federation\.trustAnchors: jwksFile .*missing\.json does not exist/,
    },
    {
      name: 'fail/DPoP nonce policy that is neither always nor never',
      file: { dpop: { requireNonce: 'sometimes' } },
      message: /dpop\.requireNonce: expected one of always, never/,
    },
    {
      name: 'fail/allowInitialAccessTokens not a boolean',
      file: { registration: { allowInitialAccessTokens: 'yes' } },
      message: /registration\.allowInitialAccessTokens: expected true or false/,
    },
    {
      name: 'fail/fapi.profile not a known profile',
      file: { fapi: { profile: '1.0' } },
      message: /fapi\.profile/,
    },
    {
      name: 'fail/allowLoopback not a boolean',
      env: { ACCREDIT_FEDERATION_ALLOW_LOOPBACK: 'yes' },
      message: /ACCREDIT_FEDERATION_ALLOW_LOOPBACK: expected true or false/,
    },
  ];
  for (const c of bad) {
    test(`${c.name} → ConfigError naming it`, () => {
      const dir = dataDir(c.file);
      assert.throws(
        () => loadConfig(dir, c.env ?? {}),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.code, 'invalid_config');
          assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('config: login.upstream (issue 14)', () => {
  test('ok/issuer, clientId and an existing secret file together; err/one without the others, http, missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'accredit-login-config-'));
    try {
      writeFileSync(join(dir, 'upstream-secret'), 'a-client-secret\n');
      const env = {
        ACCREDIT_LOGIN_UPSTREAM_ISSUER: 'https://idp.example.com',
        ACCREDIT_LOGIN_UPSTREAM_CLIENT_ID: 'accredit',
        ACCREDIT_LOGIN_UPSTREAM_CLIENT_SECRET_FILE: 'upstream-secret',
      };
      const upstream = loadConfig(dir, env).login.upstream;
      assert.deepEqual(upstream, {
        issuer: 'https://idp.example.com',
        clientId: 'accredit',
        clientSecretFile: join(dir, 'upstream-secret'),
        scopes: 'openid email profile',
        label: 'your organisation account',
      });
      assert.equal(loadConfig(dir, {}).login.upstream, undefined);
      assert.throws(
        () => loadConfig(dir, { ACCREDIT_LOGIN_UPSTREAM_ISSUER: 'https://idp.example.com' }),
        /login\.upstream\.clientId is needed/,
      );
      assert.throws(
        () => loadConfig(dir, { ...env, ACCREDIT_LOGIN_UPSTREAM_ISSUER: 'http://idp.example.com' }),
        /https URL/,
      );
      assert.throws(
        () => loadConfig(dir, { ...env, ACCREDIT_LOGIN_UPSTREAM_CLIENT_SECRET_FILE: 'nope' }),
        /does not exist/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
