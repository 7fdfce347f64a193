// Migration 0031-people-catalog-lists (issue 16): on a database a release through 0030 left, it adds the
// indexes the people and catalog lists page by, on both engines; existing rows page through them at once,
// and on SQLite the planner walks the page index instead of sorting the table.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { listInvitationsPage } from '../../src/directory/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { openThrough } from '../support/migrations.ts';

const INDEXES = [
  'member_invitations_page_idx',
  'organisation_members_page_idx',
  'operator_accounts_page_idx',
  'testplan_runs_page_idx',
  'testplan_runs_org_page_idx',
  'account_grants_page_idx',
  'account_grants_account_page_idx',
  'account_grants_client_page_idx',
  'accounts_status_page_idx',
  'contacts_page_idx',
];

const targets = await engineTargets();

for (const target of targets) {
  describe(`migration 0031-people-catalog-lists: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/the page indexes exist after the upgrade; rows written before it page in order', async () => {
      const options = target.freshOptions();
      const old = await openThrough(target, options, '0030-large-directories');
      const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      await old
        .insertInto('organisations')
        .values({
          id: 'org-1',
          name: 'Migrated Bank',
          name_key: 'migrated bank',
          status: 'active',
          created_at: at(0),
          updated_at: at(0),
        })
        .execute();
      await old
        .insertInto('member_invitations')
        .values(
          [0, 1, 2, 3, 4].map((i) => ({
            id: `inv-${i}`,
            org_id: 'org-1',
            role: 'developer' as const,
            email: null,
            token_hash: `hash-${i}`,
            created_by: 'test',
            created_at: at(i),
            expires_at: '2099-01-01T00:00:00.000Z',
            accepted_at: null,
            accepted_by: null,
            revoked_at: null,
          })),
        )
        .execute();
      await old.destroy();

      const storage = await openStorage(options);
      try {
        const names =
          target.name === 'postgres'
            ? (
                await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes
                  WHERE schemaname = current_schema()`.execute(storage.db)
              ).rows.map((r) => r.name)
            : (
                await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'index'`.execute(
                  storage.db,
                )
              ).rows.map((r) => r.name);
        for (const index of INDEXES) assert.ok(names.includes(index), `${index} in ${names.join(' ')}`);

        const now = new Date('2026-06-01T00:00:00.000Z');
        const first = await listInvitationsPage(storage.db, 'org-1', {}, { limit: 2 }, now);
        assert.deepEqual(
          first.items.map((i) => i.id),
          ['inv-4', 'inv-3'],
        );
        assert.ok(first.next_cursor);
        const rest = await listInvitationsPage(
          storage.db,
          'org-1',
          {},
          { limit: 10, after: JSON.parse(Buffer.from(first.next_cursor, 'base64url').toString()) },
          now,
        );
        assert.deepEqual(
          rest.items.map((i) => i.id),
          ['inv-2', 'inv-1', 'inv-0'],
        );
        assert.equal(rest.next_cursor, null);

        if (target.name === 'sqlite') {
          const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN
            SELECT * FROM member_invitations WHERE org_id = ${'org-1'}
            ORDER BY created_at DESC, id DESC LIMIT 3`.execute(storage.db);
          const details = plan.rows.map((r) => r.detail).join(' | ');
          assert.match(details, /member_invitations_page_idx/, details);
          assert.doesNotMatch(details, /TEMP B-TREE/, `no sort of the whole table: ${details}`);
        }
      } finally {
        await storage.close();
      }
    });
  });
}
