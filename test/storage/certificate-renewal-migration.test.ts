import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { openThrough } from '../support/migrations.ts';

const targets = await engineTargets();
const AT = '2026-01-01T00:00:00.000Z';

for (const target of targets) {
  describe(`migration 0013-certificate-renewal: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/certificates issued before it: no predecessor, no renewals, never used, not superseded', async () => {
      const options = target.freshOptions();
      const old = await openThrough(target, options, '0011-platform-events');
      await old
        .insertInto('organisations')
        .values({
          id: 'org-1',
          name: 'Acme',
          name_key: 'acme',
          status: 'active',
          created_at: AT,
          updated_at: AT,
        })
        .execute();
      await old
        .insertInto('applications')
        .values({
          client_id: 'cl_1',
          org_id: 'org-1',
          name: 'app',
          name_key: 'app',
          status: 'active',
          auth_method: 'tls_client_auth',
          registration_type: 'manual',
          metadata: '{}',
          created_at: AT,
          updated_at: AT,
        })
        .execute();
      await old
        .insertInto('certificate_authorities')
        .values({
          id: 'ca-1',
          kind: 'issuing',
          subject: 'CN=CA',
          serial: '01',
          cert_pem: 'pem',
          key_pem: null,
          not_before: AT,
          not_after: AT,
          created_at: AT,
        })
        .execute();
      // biome-ignore lint/suspicious/noExplicitAny: the row as the 0011 schema had it, without the new columns.
      await (old as any)
        .insertInto('certificates')
        .values({
          serial: 'aa',
          client_id: 'cl_1',
          org_id: 'org-1',
          issuer_ca_id: 'ca-1',
          subject: 'CN=cl_1',
          issuer: 'CN=CA',
          x5t_s256: 'x5t',
          key_description: 'EC P-256',
          cert_pem: 'pem',
          not_before: AT,
          not_after: AT,
          status: 'active',
          revoked_at: null,
          revocation_reason: null,
          created_at: AT,
        })
        .execute();
      await old.destroy();
      const storage = await openStorage(options);
      try {
        const row = await storage.db.selectFrom('certificates').selectAll().executeTakeFirstOrThrow();
        assert.equal(row.renews_serial, null);
        assert.equal(Number(row.renewal_count), 0);
        assert.equal(row.first_used_at, null);
        assert.equal(row.superseded_by, null);
        assert.equal(row.supersede_at, null);
        assert.equal(row.renewal_approved_at, null);
        assert.deepEqual(await storage.db.selectFrom('rotation_policies').selectAll().execute(), []);
      } finally {
        await storage.close();
      }
    });
  });
}
