import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  CertificateAuthority,
  createIssuingCa,
  createRootCa,
  encryptPrivateKey,
} from '../../src/pki/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { openThrough } from '../support/migrations.ts';

const targets = await engineTargets();
const KEK = 'migration-test-kek-0123456789abcdef';

for (const target of targets) {
  describe(`migration 0017-ca-rotation: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/an existing installation is generation 1, active, on the original CRL URL; it loads and issues on', async () => {
      const options = target.freshOptions();
      const old = await openThrough(target, options, '0011-platform-events');
      const now = new Date('2026-03-01T10:00:00.000Z');
      const root = await createRootCa({ commonName: 'Accredit Root CA', organization: 'Accredit', now });
      const issuing = await createIssuingCa({
        parent: root,
        commonName: 'Accredit Issuing CA 1',
        organization: 'Accredit',
        now,
      });
      // The columns of 0001 only, as an installation of an earlier release stored them.
      const row = (id: string, kind: 'root' | 'issuing', ca: typeof root) => ({
        id,
        kind,
        subject: ca.subject,
        serial: ca.serialHex,
        cert_pem: ca.certPem,
        key_pem: encryptPrivateKey(ca.privateKey, KEK),
        not_before: ca.notBefore.toISOString(),
        not_after: ca.notAfter.toISOString(),
        created_at: now.toISOString(),
      });
      // biome-ignore lint/suspicious/noExplicitAny: the table as it was before this migration.
      await (old as any)
        .insertInto('certificate_authorities')
        .values([row('ca-root', 'root', root), row('ca-issuing', 'issuing', issuing)])
        .execute();
      await old.destroy();

      const storage = await openStorage(options);
      try {
        const rows = await storage.db
          .selectFrom('certificate_authorities')
          .select(['id', 'status', 'generation', 'crl_url', 'status_changed_at', 'revocation_reason'])
          .orderBy('id')
          .execute();
        assert.deepEqual(
          rows.map((r) => ({ ...r, generation: Number(r.generation) })),
          [
            {
              id: 'ca-issuing',
              status: 'active',
              generation: 1,
              crl_url: null,
              status_changed_at: null,
              revocation_reason: null,
            },
            {
              id: 'ca-root',
              status: 'active',
              generation: 1,
              crl_url: null,
              status_changed_at: null,
              revocation_reason: null,
            },
          ],
        );
        const ca = await CertificateAuthority.load(storage.db, KEK, {
          partnerCertDays: 90,
          crlValidityHours: 168,
          crlUrl: 'https://platform.example/pki/issuing-ca.crl',
        });
        assert.equal(ca.caId, 'ca-issuing');
        assert.equal(ca.trustedIssuing[0]?.crlUrl, 'https://platform.example/pki/issuing-ca.crl');
        assert.deepEqual(ca.issuingCrlRef('original'), { id: 'ca-issuing' });
        assert.equal(ca.chainPem, `${issuing.certPem.trim()}\n${root.certPem.trim()}\n`);
      } finally {
        await storage.close();
      }
    });
  });
}
