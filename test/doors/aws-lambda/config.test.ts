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
});
