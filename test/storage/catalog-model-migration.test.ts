import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import {
  activeRevision,
  createCatalogOperation,
  getApplication,
  readCatalog,
} from '../../src/directory/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { META } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { openThrough } from '../support/migrations.ts';

const targets = await engineTargets();

const AT = '2026-03-01T09:00:00.000Z';

for (const target of targets) {
  describe(`migration 0010-catalog-model: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/catalog_routes become operations (one per method + pattern, scopes as alternatives); grants stay open-ended', async () => {
      const options = target.freshOptions();
      const typed = await openThrough(target, options, '0009-enforcement-credentials');
      // biome-ignore lint/suspicious/noExplicitAny: the pre-0010 schema (catalog_routes) is not the current Database type.
      const old = typed as unknown as Kysely<any>;
      await old
        .insertInto('scopes')
        .values([
          { name: 'accounts:admin', description: 'Administer accounts' },
          { name: 'accounts:read', description: 'Read accounts' },
          { name: 'payments:submit', description: 'Submit payments' },
        ])
        .execute();
      await old
        .insertInto('roles')
        .values([
          { name: 'reader', description: 'Reads' },
          { name: 'payer', description: 'Pays' },
        ])
        .execute();
      await old
        .insertInto('role_scopes')
        .values([
          { role: 'reader', scope: 'accounts:read' },
          { role: 'payer', scope: 'payments:submit' },
        ])
        .execute();
      // Two rows for GET /v1/accounts: either scope grants it. Inserted out of scope order on purpose.
      await old
        .insertInto('catalog_routes')
        .values([
          {
            id: 'route-read',
            method: 'GET',
            path_pattern: '/v1/accounts',
            scope: 'accounts:read',
            description: 'List accounts',
          },
          {
            id: 'route-pay',
            method: 'POST',
            path_pattern: '/v1/payments',
            scope: 'payments:submit',
            description: 'Submit a payment',
          },
          {
            id: 'route-admin',
            method: 'GET',
            path_pattern: '/v1/accounts',
            scope: 'accounts:admin',
            description: 'List accounts (admin)',
          },
          {
            id: 'route-one',
            method: 'GET',
            path_pattern: '/v1/accounts/{id}',
            scope: 'accounts:read',
            description: 'Read one account',
          },
        ])
        .execute();
      await old
        .insertInto('organisations')
        .values({
          id: 'org-1',
          name: 'Acme',
          name_key: 'acme',
          name_skeleton: 'acme',
          status: 'active',
          created_at: AT,
          updated_at: AT,
        })
        .execute();
      await old
        .insertInto('organisation_roles')
        .values([
          { org_id: 'org-1', role: 'reader' },
          { org_id: 'org-1', role: 'payer' },
        ])
        .execute();
      await old
        .insertInto('applications')
        .values({
          client_id: 'cl_one',
          org_id: 'org-1',
          name: 'One',
          name_key: 'one',
          status: 'active',
          auth_method: 'tls_client_auth',
          registration_type: 'manual',
          metadata: '{}',
          created_at: AT,
          updated_at: AT,
        })
        .execute();
      await old
        .insertInto('application_roles')
        .values([
          { client_id: 'cl_one', role: 'reader' },
          { client_id: 'cl_one', role: 'payer' },
        ])
        .execute();
      await old.destroy();

      const storage = await openStorage(options);
      try {
        const doc = await readCatalog(storage.db);
        const base = {
          resource: null,
          operation_id: null,
          source: null,
          auth: 'token',
          mtls: 'required',
          dpop: 'refused',
          owner_param: null,
          status: 'active',
        };
        // The rows of one method + pattern are one operation; it keeps the id of its first row in scope order.
        assert.deepEqual(doc.operations, [
          {
            ...base,
            id: 'route-admin',
            method: 'GET',
            path_pattern: '/v1/accounts',
            description: 'List accounts (admin)',
            required_scopes: [['accounts:admin'], ['accounts:read']],
          },
          {
            ...base,
            id: 'route-one',
            method: 'GET',
            path_pattern: '/v1/accounts/{id}',
            description: 'Read one account',
            required_scopes: [['accounts:read']],
          },
          {
            ...base,
            id: 'route-pay',
            method: 'POST',
            path_pattern: '/v1/payments',
            description: 'Submit a payment',
            required_scopes: [['payments:submit']],
          },
        ]);
        const alternatives = await storage.db
          .selectFrom('catalog_operation_scopes')
          .select(['operation_id', 'alternative', 'scope'])
          .orderBy('operation_id')
          .orderBy('alternative')
          .execute();
        assert.deepEqual(
          alternatives.map((a) => [a.operation_id, Number(a.alternative), a.scope]),
          [
            ['route-admin', 0, 'accounts:admin'],
            ['route-admin', 1, 'accounts:read'],
            ['route-one', 0, 'accounts:read'],
            ['route-pay', 0, 'payments:submit'],
          ],
        );
        assert.deepEqual(doc.scopes, [
          { name: 'accounts:admin', description: 'Administer accounts', version: null, status: 'active' },
          { name: 'accounts:read', description: 'Read accounts', version: null, status: 'active' },
          { name: 'payments:submit', description: 'Submit payments', version: null, status: 'active' },
        ]);
        assert.deepEqual(doc.roles, [
          { name: 'payer', description: 'Pays', status: 'active', scopes: ['payments:submit'] },
          { name: 'reader', description: 'Reads', status: 'active', scopes: ['accounts:read'] },
        ]);
        assert.deepEqual(doc.resources, []);

        const grants = await storage.db
          .selectFrom('application_roles')
          .select(['client_id', 'role', 'expires_at'])
          .orderBy('role')
          .execute();
        assert.deepEqual(
          grants.map((g) => ({ ...g })),
          [
            { client_id: 'cl_one', role: 'payer', expires_at: null },
            { client_id: 'cl_one', role: 'reader', expires_at: null },
          ],
        );
        const app = await getApplication(storage.db, 'cl_one', new Date('2099-01-01T00:00:00Z'));
        assert.deepEqual(app.roles, ['payer', 'reader']);
        assert.deepEqual(app.scopes, ['accounts:read', 'payments:submit']);

        // On PostgreSQL only this test's schema is asked about: introspecting every schema races with other
        // tests dropping theirs ("schema … does not exist").
        const tables =
          options.schema === undefined
            ? (await storage.db.introspection.getTables()).map((t) => t.name)
            : (
                await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables
                  WHERE table_schema = ${options.schema}`.execute(storage.db)
              ).rows.map((r) => r.table_name);
        assert.ok(!tables.includes('catalog_routes'), 'catalog_routes is gone');
        for (const table of [
          'catalog_operations',
          'catalog_operation_scopes',
          'catalog_drafts',
          'catalog_revisions',
        ]) {
          assert.ok(tables.includes(table), `${table} exists`);
        }

        // No revision yet; the first change after the migration is revision 1 and sees the migrated catalog.
        assert.equal(await activeRevision({ db: storage.db }), 0);
        const created = await storage.transaction((tx) =>
          createCatalogOperation(
            tx,
            {
              method: 'GET',
              pathPattern: '/v1/payments',
              requiredScopes: [['payments:submit']],
              description: 'p',
            },
            META,
          ),
        );
        assert.equal(created.revision, 1);
        await assert.rejects(
          storage.transaction((tx) =>
            createCatalogOperation(
              tx,
              {
                method: 'GET',
                pathPattern: '/v1/accounts',
                requiredScopes: [['accounts:read']],
                description: 'x',
              },
              META,
            ),
          ),
          (err: { status: number; details: { errors: Array<{ code: string }> } }) => {
            assert.equal(err.status, 400);
            assert.deepEqual(
              err.details.errors.map((f) => f.code),
              ['duplicate'],
            );
            return true;
          },
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/an empty catalog migrates to an empty one', async () => {
      const options = target.freshOptions();
      const old = await openThrough(target, options, '0009-enforcement-credentials');
      await old.destroy();
      const storage = await openStorage(options);
      try {
        assert.deepEqual(await readCatalog(storage.db), {
          resources: [],
          scopes: [],
          roles: [],
          operations: [],
        });
        assert.equal(await activeRevision({ db: storage.db }), 0);
      } finally {
        await storage.close();
      }
    });
  });
}
