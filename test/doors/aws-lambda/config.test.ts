import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readLambdaConfig } from '../../../src/doors/aws-lambda/index.ts';
import { selfSignedCredential } from '../../gateway/fixture.ts';

let pem: string;
const dir = mkdtempSync(join(tmpdir(), 'accredit-lambda-config-'));
before(async () => {
  pem = (await selfSignedCredential('ca')).certPem;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (): NodeJS.ProcessEnv => ({
  ACCREDIT_PLATFORM_URL: 'https://platform.example',
  ACCREDIT_CA_BUNDLE: pem,
  ACCREDIT_ENFORCEMENT_CREDENTIAL: 'acc_ep_x',
  ACCREDIT_AUDIENCE: 'https://api.example',
});

describe('Lambda configuration from the environment', () => {
  test('ok/defaults: iam, exact ARN, poll at most every second, stale after 15 s, issuer and JWKS discovered', () => {
    const config = readLambdaConfig(base());
    assert.equal(config.responseMode, 'iam');
    assert.equal(config.policyResource, 'exact');
    assert.equal(config.refreshMs, 1000);
    assert.equal(config.staleAfterMs, 15_000);
    assert.equal(config.issuer, undefined);
    assert.equal(config.jwksUri, undefined);
    assert.equal(config.ca, pem);
  });

  test('ok/the CA bundle from a file, and every option set', () => {
    const file = join(dir, 'bundle.pem');
    writeFileSync(file, pem);
    const config = readLambdaConfig({
      ...base(),
      ACCREDIT_CA_BUNDLE: file,
      ACCREDIT_ISSUER: 'https://platform.example',
      ACCREDIT_JWKS_URI: 'https://platform.example/jwks',
      ACCREDIT_RESPONSE_MODE: 'simple',
      ACCREDIT_POLICY_RESOURCE: 'wildcard',
      ACCREDIT_REFRESH_MS: '0',
      ACCREDIT_STALE_AFTER_MS: '5000',
      ACCREDIT_STRIP_PREFIX: '/payments',
    });
    assert.equal(config.ca, pem);
    assert.equal(config.responseMode, 'simple');
    assert.equal(config.policyResource, 'wildcard');
    assert.equal(config.refreshMs, 0);
    assert.equal(config.stripPrefix, '/payments');
  });

  test('fail/each missing or bad variable stops the cold start, named', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ ACCREDIT_PLATFORM_URL: '' }, /ACCREDIT_PLATFORM_URL: is required/],
      [{ ACCREDIT_PLATFORM_URL: 'http://platform.example' }, /ACCREDIT_PLATFORM_URL: expected an https URL/],
      [{ ACCREDIT_CA_BUNDLE: '' }, /ACCREDIT_CA_BUNDLE: is required/],
      [{ ACCREDIT_CA_BUNDLE: '-----BEGIN PRIVATE KEY-----' }, /ACCREDIT_CA_BUNDLE: expected PEM/],
      [{ ACCREDIT_ENFORCEMENT_CREDENTIAL: ' ' }, /ACCREDIT_ENFORCEMENT_CREDENTIAL: is required/],
      [{ ACCREDIT_AUDIENCE: '' }, /ACCREDIT_AUDIENCE: is required/],
      [{ ACCREDIT_JWKS_URI: 'ftp://x' }, /ACCREDIT_JWKS_URI/],
      [{ ACCREDIT_RESPONSE_MODE: 'token' }, /ACCREDIT_RESPONSE_MODE: expected one of iam, simple/],
      [{ ACCREDIT_POLICY_RESOURCE: '*' }, /ACCREDIT_POLICY_RESOURCE/],
      [{ ACCREDIT_REFRESH_MS: '-1' }, /ACCREDIT_REFRESH_MS/],
      [{ ACCREDIT_STALE_AFTER_MS: '10' }, /ACCREDIT_STALE_AFTER_MS/],
      [{ ACCREDIT_REFRESH_MS: '20000' }, /ACCREDIT_REFRESH_MS: must be below/],
      [{ ACCREDIT_STRIP_PREFIX: 'payments/' }, /ACCREDIT_STRIP_PREFIX/],
    ];
    for (const [change, message] of cases)
      assert.throws(() => readLambdaConfig({ ...base(), ...change }), message);
  });

  test('fail/the credential never appears in a configuration error', () => {
    try {
      readLambdaConfig({
        ...base(),
        ACCREDIT_ENFORCEMENT_CREDENTIAL: 'acc_ep_secret',
        ACCREDIT_AUDIENCE: '',
      });
      assert.fail('expected an error');
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /acc_ep_secret/);
    }
  });

  test('ok/rate limits: in memory by default, fail-open; a shared Redis (TLS with its own CA) and fail-closed on demand', () => {
    const defaults = readLambdaConfig(base());
    assert.equal(defaults.redisUrl, undefined);
    assert.equal(defaults.redisCa, undefined);
    assert.equal(defaults.rateLimitOnStoreError, 'open');
    const plain = readLambdaConfig({ ...base(), ACCREDIT_REDIS_URL: ' redis://10.0.0.5:6379/2 ' });
    assert.equal(plain.redisUrl, 'redis://10.0.0.5:6379/2');
    const file = join(dir, 'redis-ca.pem');
    writeFileSync(file, pem);
    const tls = readLambdaConfig({
      ...base(),
      ACCREDIT_REDIS_URL: 'rediss://:s3cret@cache.example.internal:6379',
      ACCREDIT_REDIS_CA_BUNDLE: file,
      ACCREDIT_RATE_LIMIT_ON_STORE_ERROR: 'closed',
    });
    assert.equal(tls.redisUrl, 'rediss://:s3cret@cache.example.internal:6379');
    assert.equal(tls.redisCa, pem);
    assert.equal(tls.rateLimitOnStoreError, 'closed');
    assert.equal(
      readLambdaConfig({ ...base(), ACCREDIT_REDIS_URL: 'rediss://c.example', ACCREDIT_REDIS_CA_BUNDLE: pem })
        .redisCa,
      pem,
    );
  });

  test('fail/a bad Redis variable stops the cold start, named, without repeating the URL (it may hold a password)', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [
        { ACCREDIT_REDIS_URL: 'http://:pw-1@cache:6379' },
        /ACCREDIT_REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/,
      ],
      [{ ACCREDIT_REDIS_URL: 'cache:6379' }, /ACCREDIT_REDIS_URL: expected/],
      [{ ACCREDIT_REDIS_URL: 'redis://:pw-1@' }, /ACCREDIT_REDIS_URL/],
      [{ ACCREDIT_REDIS_CA_BUNDLE: pem }, /ACCREDIT_REDIS_CA_BUNDLE: is set without ACCREDIT_REDIS_URL/],
      [
        { ACCREDIT_REDIS_URL: 'redis://:pw-1@cache:6379', ACCREDIT_REDIS_CA_BUNDLE: pem },
        /ACCREDIT_REDIS_CA_BUNDLE: needs a rediss:\/\/ \(TLS\) ACCREDIT_REDIS_URL/,
      ],
      [
        {
          ACCREDIT_REDIS_URL: 'rediss://:pw-1@cache:6379',
          ACCREDIT_REDIS_CA_BUNDLE: '-----BEGIN PRIVATE KEY-----',
        },
        /ACCREDIT_REDIS_CA_BUNDLE: expected PEM/,
      ],
      [
        { ACCREDIT_RATE_LIMIT_ON_STORE_ERROR: 'maybe' },
        /ACCREDIT_RATE_LIMIT_ON_STORE_ERROR: expected one of open, closed/,
      ],
    ];
    for (const [change, message] of cases) {
      assert.throws(
        () => readLambdaConfig({ ...base(), ...change }),
        (err: Error) => message.test(err.message) && !err.message.includes('pw-1'),
        `${JSON.stringify(change).slice(0, 80)} → ${message}`,
      );
    }
  });
});
