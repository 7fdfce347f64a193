import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { type Database, openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { openThrough } from '../support/migrations.ts';

const targets = await engineTargets();
const AT = '2026-03-01T10:00:00.000Z';

const registration = (clientId: string, extra: Partial<Database['dynamic_registrations']>) => ({
  client_id: clientId,
  org_id: 'org-1',
  software_id: null,
  ssa_jti: null,
  iat_id: null,
  registration_token_hash: `hash-${clientId}`,
  token_rotated_at: AT,
  status: 'active' as const,
  created_at: AT,
  updated_at: AT,
  ...extra,
});

for (const target of targets) {
  describe(`migration 0006-initial-access-tokens: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/registrations made under 0005 survive; a registration rests on a statement, a token or both, never neither', async () => {
      const options = target.freshOptions();
      const old = await openThrough(target, options, '0005-dynamic-registration');
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
      const app = (clientId: string, name: string) => ({
        client_id: clientId,
        org_id: 'org-1',
        name,
        name_key: name.toLowerCase(),
        status: 'active' as const,
        auth_method: 'tls_client_auth' as const,
        registration_type: 'manual' as const,
        metadata: '{}',
        created_at: AT,
        updated_at: AT,
      });
      await old
        .insertInto('applications')
        .values([
          app('cl_software', 'Software'),
          app('cl_old', 'Old'),
          app('cl_iat', 'Iat'),
          app('cl_x', 'X'),
        ])
        .execute();
      // The 0005 shape: no iat_id column yet.
      const { iat_id: _none, ...before } = registration('cl_old', {
        software_id: 'cl_software',
        ssa_jti: 'jti-1',
      });
      await (old as unknown as Kysely<Record<string, Record<string, unknown>>>)
        .insertInto('dynamic_registrations')
        .values(before)
        .execute();
      await old.destroy();

      const storage = await openStorage(options);
      try {
        const kept = await storage.db
          .selectFrom('dynamic_registrations')
          .selectAll()
          .where('client_id', '=', 'cl_old')
          .executeTakeFirstOrThrow();
        assert.deepEqual({ ...kept }, { ...before, iat_id: null });
        await storage.db
          .insertInto('initial_access_tokens')
          .values({
            id: 'iat-1',
            token_hash: 'h1',
            org_id: 'org-1',
            roles: '["partner_reader"]',
            created_by: 'operator:test',
            created_at: AT,
            expires_at: AT,
            max_uses: 1,
            used_count: 0,
            revoked_at: null,
          })
          .execute();
        await storage.db
          .insertInto('dynamic_registrations')
          .values(registration('cl_iat', { iat_id: 'iat-1' }))
          .execute();
        const refused = [
          { name: 'neither statement nor token', row: registration('cl_x', {}) },
          {
            name: 'software_id without its jti',
            row: registration('cl_x', { software_id: 'cl_software', iat_id: 'iat-1' }),
          },
          { name: 'an unknown token', row: registration('cl_x', { iat_id: 'iat-unknown' }) },
        ];
        for (const { name, row } of refused) {
          await assert.rejects(storage.db.insertInto('dynamic_registrations').values(row).execute(), name);
        }
        // The database keeps used_count within max_uses whatever the code does.
        await assert.rejects(
          storage.db
            .updateTable('initial_access_tokens')
            .set({ used_count: 2 })
            .where('id', '=', 'iat-1')
            .execute(),
        );
        await assert.rejects(
          storage.db
            .insertInto('initial_access_tokens')
            .values({
              id: 'iat-2',
              token_hash: 'h1',
              org_id: 'org-1',
              roles: '[]',
              created_by: 'operator:test',
              created_at: AT,
              expires_at: AT,
              max_uses: 1,
              used_count: 0,
              revoked_at: null,
            })
            .execute(),
          'token_hash is unique',
        );
      } finally {
        await storage.close();
      }
    });
  });
}
