import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createRootCa, x5tS256 } from '../../src/pki/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { openThrough } from '../support/migrations.ts';

const targets = await engineTargets();

for (const target of targets) {
  describe(`migration 0007-self-signed-pins: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/live self-signed clients are pinned in creation order; a shared certificate stays with the first; deleted clients pin nothing', async () => {
      const options = target.freshOptions();
      const old = await openThrough(target, options, '0006-initial-access-tokens');
      const now = new Date('2026-03-01T10:00:00.000Z');
      const shared = await createRootCa({ commonName: 'shared', now });
      const own = await createRootCa({ commonName: 'own', now });
      const jwks = (ca: typeof shared) => ({
        keys: [
          {
            ...createPublicKey(ca.privateKey).export({ format: 'jwk' }),
            x5c: [ca.certDer.toString('base64')],
          },
        ],
      });
      await old
        .insertInto('organisations')
        .values({
          id: 'org-1',
          name: 'Acme',
          name_key: 'acme',
          status: 'active',
          created_at: now.toISOString(),
          updated_at: now.toISOString(),
        })
        .execute();
      const app = (clientId: string, at: string, status: 'active' | 'deleted', metadata: unknown) => ({
        client_id: clientId,
        org_id: 'org-1',
        name: clientId,
        name_key: clientId,
        status,
        auth_method: 'self_signed_tls_client_auth' as const,
        registration_type: 'manual' as const,
        metadata: JSON.stringify(metadata),
        created_at: at,
        updated_at: at,
      });
      await old
        .insertInto('applications')
        .values([
          app('cl_deleted', '2026-03-01T09:00:00.000Z', 'deleted', { jwks: jwks(shared) }),
          app('cl_first', '2026-03-01T09:10:00.000Z', 'active', { jwks: jwks(shared) }),
          app('cl_second', '2026-03-01T09:20:00.000Z', 'active', { jwks: jwks(shared) }),
          app('cl_own', '2026-03-01T09:30:00.000Z', 'active', { jwks: jwks(own) }),
        ])
        .execute();
      await old.destroy();
      const storage = await openStorage(options);
      try {
        const pins = await storage.db
          .selectFrom('self_signed_pins')
          .select(['x5t_s256', 'client_id'])
          .orderBy('client_id')
          .execute();
        assert.deepEqual(
          pins.map((p) => ({ ...p })),
          [
            { x5t_s256: x5tS256(shared.certDer), client_id: 'cl_first' },
            { x5t_s256: x5tS256(own.certDer), client_id: 'cl_own' },
          ],
        );
      } finally {
        await storage.close();
      }
    });
  });
}
