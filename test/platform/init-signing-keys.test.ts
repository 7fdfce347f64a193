import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadStatementKeys } from '../../src/authorization-server/dynamic-registration/statement-verification-keys.ts';
import { verifySoftwareStatement } from '../../src/authorization-server/dynamic-registration/verify-software-statement.ts';
import { directoryIssuer } from '../../src/directory/index.ts';
import { KEY_ALGORITHMS } from '../../src/pki/index.ts';
import { initPlatform, softwareStatementKeyAlgorithm } from '../../src/platform/init-platform.ts';
import { loadKek } from '../../src/platform/kek.ts';
import { loadSoftwareStatementKeys } from '../../src/platform/software-statement-keys.ts';
import { openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();
const root = mkdtempSync(join(tmpdir(), 'accredit-init-keys-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('software statement key algorithm chosen at init', () => {
  test('ok/PS256 stays PS256; every other configured algorithm gives ES256 (what registration accepts)', () => {
    assert.deepEqual(
      Object.fromEntries(KEY_ALGORITHMS.map((alg) => [alg, softwareStatementKeyAlgorithm(alg)])),
      { ES256: 'ES256', ES384: 'ES256', PS256: 'PS256', EdDSA: 'ES256' },
    );
  });
});

for (const target of targets) {
  describe(`init with pki.keyAlgorithm ES384: ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    after(() => target.cleanup());

    test('fail/the software statement key is ES256, so the directory’s statements verify at registration', async () => {
      const dataDir = mkdtempSync(join(root, 'data-'));
      const options = target.freshOptions();
      const env: NodeJS.ProcessEnv = {
        ACCREDIT_CA_KEY_ALG: 'ES384',
        ...(target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {}),
      };
      const result = await initPlatform({ dataDir, env });
      assert.equal(result.created, true);
      const storage = await openStorage(
        target.name === 'postgres' ? options : { url: join(dataDir, 'accredit.db') },
      );
      try {
        const keys = await storage.db
          .selectFrom('signing_keys')
          .select(['purpose', 'alg'])
          .orderBy('purpose')
          .execute();
        assert.deepEqual(
          keys.map((k) => ({ ...k })),
          [
            { purpose: 'access_token', alg: 'ES384' },
            { purpose: 'federation', alg: 'ES384' },
            { purpose: 'software_statement', alg: 'ES256' },
          ],
        );
        // The directory signs with it; the authorization server accepts what it signed.
        const now = new Date();
        const { signer } = await loadSoftwareStatementKeys(
          storage.db,
          loadKek(dataDir, { create: false }, env),
          now,
        );
        assert.equal((await loadStatementKeys(storage.db, now, 300)).has(signer.kid), true);
        const issuer = directoryIssuer('https://as.accredit.test');
        const iat = Math.floor(now.getTime() / 1000);
        const jwt = await signer.sign({
          iss: issuer,
          iat,
          exp: iat + 300,
          jti: randomUUID(),
          software_id: 'cl_software',
          org_id: randomUUID(),
          roles: ['partner_reader'],
          scope: 'accounts:read',
          client_name: 'Payments',
          token_endpoint_auth_method: 'tls_client_auth',
          grant_types: ['client_credentials'],
        });
        const statement = await verifySoftwareStatement(jwt, {
          db: storage.db,
          issuer,
          now,
          maxAgeSeconds: 300,
          skewSeconds: 15,
        });
        assert.equal(statement.softwareId, 'cl_software');
      } finally {
        await storage.close();
      }
    });
  });
}
