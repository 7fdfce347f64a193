import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import {
  activeRevision,
  createApplication,
  createCatalogOperation,
  createCatalogResource,
  createCatalogRole,
  createCatalogScope,
  createOrganisation,
  deleteCatalogResource,
  deleteCatalogRole,
  deleteCatalogScope,
  getApplication,
  grantApplicationRole,
  readCatalog,
  SEED_ROUTES,
  updateCatalogOperation,
  updateCatalogResource,
  updateCatalogRole,
  updateCatalogScope,
  updateRegisteredApplication,
  withdrawOrganisationRole,
} from '../../src/directory/index.ts';
import type { Storage, Tx } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

const LATER = new Date('2026-03-05T10:00:00.000Z');
const seedId = (method: string, pathPattern: string) => {
  const route = SEED_ROUTES.find((r) => r.method === method && r.pathPattern === pathPattern);
  assert.ok(route, `${method} ${pathPattern} is a seed route`);
  return route.id;
};

interface Finding {
  severity: string;
  code: string;
  target: string;
}

/** Everything a catalog change may write: rows, feed, audit log, revision. */
async function snapshot(storage: Storage) {
  const count = async (table: 'change_feed' | 'audit_log' | 'catalog_revisions') =>
    Number(
      (
        await storage.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    catalog: await readCatalog(storage.db),
    feed: await count('change_feed'),
    audit: await count('audit_log'),
    revisions: await count('catalog_revisions'),
    revision: await activeRevision({ db: storage.db }),
  };
}

type Expect = { errors: string[] } | { status: number; code: string } | 'ok';

async function expectOutcome(promise: Promise<unknown>, expected: Expect, name: string): Promise<unknown> {
  if (expected === 'ok') return promise;
  await assert.rejects(
    promise,
    (err: { status: number; code: string; details?: { errors?: Finding[] } }) => {
      if ('errors' in expected) {
        assert.equal(err.status, 400, name);
        assert.equal(err.code, 'invalid_input', name);
        assert.deepEqual(
          err.details?.errors?.map((f) => f.code),
          expected.errors,
          name,
        );
      } else {
        assert.equal(err.status, expected.status, name);
        assert.equal(err.code, expected.code, name);
      }
      return true;
    },
    name,
  );
  return undefined;
}

/** An organisation approved for `roles` (all roles when omitted) and one application of it holding `held`. */
async function orgWithApp(
  storage: Storage,
  name: string,
  held: string[],
  roles?: string[],
  registrationType: 'manual' | 'dynamic' = 'manual',
) {
  return storage.transaction(async (tx) => {
    const orgId = await createOrganisation(tx, { name, roles }, META);
    const clientId = await createApplication(
      tx,
      {
        orgId,
        name: `${name} app`,
        roles: held,
        authMethod: 'tls_client_auth',
        registrationType,
        ...(registrationType === 'dynamic' ? { clientId: `cl_${name.replace(/\W/g, '')}` } : {}),
      },
      META,
    );
    return { orgId, clientId };
  });
}

type Step = (tx: Tx, storage: Storage) => Promise<unknown>;

// Against the seed catalog (scopes accounts:read, accounts:write, payments:submit, reports:download; roles
// partner_reader, partner_writer, partner_analyst; resources accounts, payments, reports). `setup` runs first,
// committed; `change` is what is checked: its error codes in order, or a 409/404, or applied.
const CASES: Array<{
  name: string;
  setup?: (storage: Storage) => Promise<void>;
  change: Step;
  expect: Expect;
}> = [
  {
    name: 'fail/scope name with a space',
    change: (tx) => createCatalogScope(tx, { name: 'accounts read' }, META),
    expect: { errors: ['invalid_name'] },
  },
  {
    name: 'fail/scope name with a quote',
    change: (tx) => createCatalogScope(tx, { name: 'accounts"read' }, META),
    expect: { errors: ['invalid_name'] },
  },
  {
    name: 'fail/scope name with a backslash',
    change: (tx) => createCatalogScope(tx, { name: 'accounts\\read' }, META),
    expect: { errors: ['invalid_name'] },
  },
  {
    name: 'fail/scope name longer than 128',
    change: (tx) => createCatalogScope(tx, { name: 's'.repeat(129) }, META),
    expect: { errors: ['invalid_name'] },
  },
  {
    name: 'ok/scope name of exactly 128',
    change: (tx) => createCatalogScope(tx, { name: 's'.repeat(128) }, META),
    expect: 'ok',
  },
  {
    name: 'ok/versioned scope',
    change: (tx) => createCatalogScope(tx, { name: 'accounts:read:v1', version: 'v1' }, META),
    expect: 'ok',
  },
  {
    name: 'fail/role name not an identifier',
    change: (tx) => createCatalogRole(tx, { name: '1 reader', scopes: ['accounts:read'] }, META),
    expect: { errors: ['invalid_name'] },
  },
  {
    name: 'fail/resource name not an identifier',
    change: (tx) => createCatalogResource(tx, { name: 'the ledger' }, META),
    expect: { errors: ['invalid_name'] },
  },
  {
    name: 'fail/role with no scopes',
    change: (tx) => createCatalogRole(tx, { name: 'empty', scopes: [] }, META),
    expect: { errors: ['role_grants_nothing'] },
  },
  {
    name: 'fail/role with an unknown scope',
    change: (tx) => createCatalogRole(tx, { name: 'ghost', scopes: ['accounts:read', 'ledger:read'] }, META),
    expect: { errors: ['unknown_scope'] },
  },
  {
    name: 'fail/update a role to grant nothing',
    change: (tx) => updateCatalogRole(tx, 'partner_reader', { scopes: [] }, META),
    expect: { errors: ['role_grants_nothing'] },
  },
  {
    name: 'fail/delete a scope an operation requires',
    setup: async (storage) => {
      await storage.transaction(async (tx) => {
        await createCatalogScope(tx, { name: 'ledger:read' }, META);
        await createCatalogOperation(
          tx,
          { method: 'GET', pathPattern: '/v1/ledger', requiredScopes: [['ledger:read']], description: 'l' },
          META,
        );
      });
    },
    change: (tx) => deleteCatalogScope(tx, 'ledger:read', META),
    expect: { errors: ['scope_in_use'] },
  },
  {
    name: 'fail/delete a scope a role grants',
    setup: async (storage) => {
      await storage.transaction(async (tx) => {
        await createCatalogScope(tx, { name: 'ledger:read' }, META);
        await createCatalogRole(tx, { name: 'ledger_reader', scopes: ['ledger:read'] }, META);
      });
    },
    change: (tx) => deleteCatalogScope(tx, 'ledger:read', META),
    expect: { errors: ['scope_in_use'] },
  },
  {
    name: 'fail/delete a scope both an operation and a role use: each use is named',
    change: (tx) => deleteCatalogScope(tx, 'payments:submit', META),
    expect: { errors: ['scope_in_use', 'scope_in_use'] },
  },
  {
    name: 'ok/delete an unused scope',
    setup: async (storage) => {
      await storage.transaction((tx) => createCatalogScope(tx, { name: 'ledger:read' }, META));
    },
    change: (tx) => deleteCatalogScope(tx, 'ledger:read', META),
    expect: 'ok',
  },
  {
    name: 'fail/delete a resource an operation belongs to',
    change: (tx) => deleteCatalogResource(tx, 'payments', META),
    expect: { errors: ['resource_in_use'] },
  },
  {
    name: 'ok/delete an unused resource',
    setup: async (storage) => {
      await storage.transaction((tx) => createCatalogResource(tx, { name: 'ledger' }, META));
    },
    change: (tx) => deleteCatalogResource(tx, 'ledger', META),
    expect: 'ok',
  },
  {
    name: 'fail/delete a role an application holds',
    setup: async (storage) => {
      await orgWithApp(storage, 'Acme Bank', ['partner_reader'], ['partner_reader']);
    },
    change: (tx) => deleteCatalogRole(tx, 'partner_reader', META),
    expect: { errors: ['role_in_use'] },
  },
  {
    name: 'fail/delete a role only approved for an organisation',
    setup: async (storage) => {
      await orgWithApp(storage, 'Acme Bank', ['partner_reader'], ['partner_reader', 'partner_analyst']);
    },
    change: (tx) => deleteCatalogRole(tx, 'partner_analyst', META),
    expect: { errors: ['role_in_use'] },
  },
  {
    name: 'ok/delete a role held only by an expired grant (approval withdrawn after the end)',
    setup: async (storage) => {
      const { orgId, clientId } = await orgWithApp(
        storage,
        'Acme Bank',
        ['partner_reader'],
        ['partner_reader', 'partner_analyst'],
      );
      await storage.transaction(async (tx) => {
        await grantApplicationRole(
          tx,
          { clientId, role: 'partner_analyst', expiresAt: '2026-03-02T00:00:00Z' },
          META,
        );
        await withdrawOrganisationRole(tx, { orgId, role: 'partner_analyst' }, { ...META, now: LATER });
      });
    },
    change: (tx) => deleteCatalogRole(tx, 'partner_analyst', { ...META, now: LATER }),
    expect: 'ok',
  },
  {
    name: 'ok/delete an unused role',
    setup: async (storage) => {
      await storage.transaction((tx) =>
        createCatalogRole(tx, { name: 'spare', scopes: ['accounts:read'] }, META),
      );
    },
    change: (tx) => deleteCatalogRole(tx, 'spare', META),
    expect: 'ok',
  },
  {
    name: 'fail/create a scope that exists',
    change: (tx) => createCatalogScope(tx, { name: 'accounts:read' }, META),
    expect: { status: 409, code: 'conflict' },
  },
  {
    name: 'fail/create a role that exists',
    change: (tx) => createCatalogRole(tx, { name: 'partner_reader', scopes: ['accounts:read'] }, META),
    expect: { status: 409, code: 'conflict' },
  },
  {
    name: 'fail/create a resource that exists',
    change: (tx) => createCatalogResource(tx, { name: 'accounts' }, META),
    expect: { status: 409, code: 'conflict' },
  },
  {
    name: 'fail/update an unknown scope',
    change: (tx) => updateCatalogScope(tx, 'nope', { description: 'x' }, META),
    expect: { status: 404, code: 'not_found' },
  },
  {
    name: 'fail/update an unknown role',
    change: (tx) => updateCatalogRole(tx, 'nope', { description: 'x' }, META),
    expect: { status: 404, code: 'not_found' },
  },
  {
    name: 'fail/delete an unknown scope',
    change: (tx) => deleteCatalogScope(tx, 'nope', META),
    expect: { status: 404, code: 'not_found' },
  },
  {
    name: 'fail/delete an unknown role',
    change: (tx) => deleteCatalogRole(tx, 'nope', META),
    expect: { status: 404, code: 'not_found' },
  },
  {
    name: 'fail/delete an unknown resource',
    change: (tx) => deleteCatalogResource(tx, 'nope', META),
    expect: { status: 404, code: 'not_found' },
  },
];

const codesOf = (findings: readonly Finding[]) => findings.map((f) => `${f.severity} ${f.code} ${f.target}`);

for (const target of targets) {
  describe(`catalog entries: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('findings table: refused changes write nothing; applied ones one revision, one change, one audit entry', async () => {
      for (const c of CASES) {
        const storage = await seededStorage(target);
        try {
          await c.setup?.(storage);
          const before = await snapshot(storage);
          await expectOutcome(
            storage.transaction((tx) => c.change(tx, storage)),
            c.expect,
            c.name,
          );
          const afterwards = await snapshot(storage);
          if (c.expect === 'ok') {
            assert.notDeepEqual(afterwards.catalog, before.catalog, c.name);
            assert.equal(afterwards.revision, before.revision + 1, c.name);
            assert.equal(afterwards.revisions, before.revisions + 1, c.name);
            assert.equal(afterwards.feed, before.feed + 1, c.name);
            assert.equal(afterwards.audit, before.audit + 1, c.name);
          } else {
            assert.deepEqual(afterwards, before, c.name);
          }
        } finally {
          await storage.close();
        }
      }
    });

    test('ok/a versioned scope keeps its version; warnings name what nobody can use', async () => {
      const storage = await seededStorage(target);
      try {
        const scope = await storage.transaction((tx) =>
          createCatalogScope(tx, { name: 'accounts:read:v1', version: 'v1', description: 'v1' }, META),
        );
        assert.equal(scope.version, 'v1');
        assert.equal(scope.status, 'active');
        assert.deepEqual(codesOf(scope.warnings), ['warning scope_unused scope accounts:read:v1']);
        const stored = (await readCatalog(storage.db)).scopes.find((s) => s.name === 'accounts:read:v1');
        assert.deepEqual(stored, {
          name: 'accounts:read:v1',
          description: 'v1',
          version: 'v1',
          status: 'active',
        });

        // Required by an operation but granted by no active role: applied, with scope_not_granted.
        const op = await storage.transaction((tx) =>
          createCatalogOperation(
            tx,
            {
              method: 'GET',
              pathPattern: '/v1/accounts-v1',
              requiredScopes: [['accounts:read:v1']],
              description: 'v1',
            },
            META,
          ),
        );
        assert.deepEqual(codesOf(op.warnings), ['warning scope_not_granted GET /v1/accounts-v1']);
        // One alternative granted is enough: no warning.
        const either = await storage.transaction((tx) =>
          updateCatalogOperation(
            tx,
            op.id,
            { requiredScopes: [['accounts:read:v1'], ['accounts:read']] },
            META,
          ),
        );
        assert.deepEqual(codesOf(either.warnings), []);
        // A role granting it makes the warning go away for good.
        const role = await storage.transaction((tx) =>
          createCatalogRole(tx, { name: 'reader_v1', scopes: ['accounts:read:v1'] }, META),
        );
        assert.deepEqual(role.warnings, []);
        assert.deepEqual(role.scopes, ['accounts:read:v1']);
      } finally {
        await storage.close();
      }
    });

    test('ok/deprecated scope: existing operations keep it (warning); fail/a new use of it is refused', async () => {
      const storage = await seededStorage(target);
      try {
        const deprecated = await storage.transaction((tx) =>
          updateCatalogScope(tx, 'accounts:read', { status: 'deprecated' }, META),
        );
        assert.equal(deprecated.status, 'deprecated');
        assert.deepEqual(codesOf(deprecated.warnings), [
          'warning deprecated_scope GET /v1/accounts',
          'warning deprecated_scope GET /v1/accounts/{id}',
        ]);
        const doc = await readCatalog(storage.db);
        assert.deepEqual(
          doc.operations.filter((o) => o.required_scopes.flat().includes('accounts:read')).map((o) => o.id),
          [seedId('GET', '/v1/accounts'), seedId('GET', '/v1/accounts/{id}')],
        );
        // Roles keep granting it too.
        assert.deepEqual(doc.roles.find((r) => r.name === 'partner_reader')?.scopes, ['accounts:read']);

        const before = await snapshot(storage);
        await expectOutcome(
          storage.transaction((tx) =>
            createCatalogOperation(
              tx,
              {
                method: 'GET',
                pathPattern: '/v1/balances',
                requiredScopes: [['accounts:read']],
                description: 'b',
              },
              META,
            ),
          ),
          { errors: ['deprecated_scope'] },
          'a new operation requiring a deprecated scope',
        );
        await expectOutcome(
          storage.transaction((tx) =>
            updateCatalogOperation(
              tx,
              seedId('POST', '/v1/accounts'),
              { requiredScopes: [['accounts:write'], ['accounts:read']] },
              META,
            ),
          ),
          { errors: ['deprecated_scope'] },
          'an existing operation adding a deprecated scope it did not require',
        );
        assert.deepEqual(await snapshot(storage), before);

        // An operation that already required it may still change (and keeps the warning).
        const kept = await storage.transaction((tx) =>
          updateCatalogOperation(tx, seedId('GET', '/v1/accounts'), { description: 'List them' }, META),
        );
        assert.equal(kept.revision, before.revision + 1);
        assert.ok(codesOf(kept.warnings).includes('warning deprecated_scope GET /v1/accounts'));
        // Reactivating it lifts the refusal.
        await storage.transaction((tx) =>
          updateCatalogScope(tx, 'accounts:read', { status: 'active' }, META),
        );
        await storage.transaction((tx) =>
          createCatalogOperation(
            tx,
            {
              method: 'GET',
              pathPattern: '/v1/balances',
              requiredScopes: [['accounts:read']],
              description: 'b',
            },
            META,
          ),
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/deprecated role: holders keep it; fail/nobody new gets it (409 role_deprecated)', async () => {
      const storage = await seededStorage(target);
      try {
        const holder = await orgWithApp(
          storage,
          'Acme Bank',
          ['partner_reader', 'partner_analyst'],
          undefined,
          'dynamic',
        );
        const role = await storage.transaction((tx) =>
          updateCatalogRole(tx, 'partner_analyst', { status: 'deprecated' }, META),
        );
        assert.equal(role.status, 'deprecated');
        // Its scope is now granted by no active role: the operation needing it is flagged.
        assert.deepEqual(codesOf(role.warnings), ['warning scope_not_granted GET /v1/reports/**']);

        await expectOutcome(
          storage.transaction((tx) =>
            createApplication(
              tx,
              {
                orgId: holder.orgId,
                name: 'New app',
                roles: ['partner_analyst'],
                authMethod: 'tls_client_auth',
              },
              META,
            ),
          ),
          { status: 409, code: 'role_deprecated' },
          'a new application with a deprecated role',
        );
        const other = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              orgId: holder.orgId,
              name: 'Other app',
              roles: ['partner_reader'],
              authMethod: 'tls_client_auth',
            },
            META,
          ),
        );
        await expectOutcome(
          storage.transaction((tx) =>
            grantApplicationRole(tx, { clientId: other, role: 'partner_analyst' }, META),
          ),
          { status: 409, code: 'role_deprecated' },
          'a new grant of a deprecated role',
        );

        // The holder keeps it through a re-registration and a renewal.
        const updated = await storage.transaction((tx) =>
          updateRegisteredApplication(
            tx,
            holder.clientId,
            {
              authMethod: 'tls_client_auth',
              metadata: { client_name: 'renamed' },
              roles: ['partner_reader', 'partner_analyst'],
            },
            META,
          ),
        );
        assert.deepEqual(updated, { changed: true });
        const renewed = await storage.transaction((tx) =>
          grantApplicationRole(
            tx,
            { clientId: holder.clientId, role: 'partner_analyst', expiresAt: '2027-01-01T00:00:00Z' },
            META,
          ),
        );
        assert.deepEqual(renewed, {
          role: 'partner_analyst',
          expires_at: '2027-01-01T00:00:00.000Z',
          expired: false,
        });
        const app = await getApplication(storage.db, holder.clientId, META.now);
        assert.deepEqual(app.roles, ['partner_analyst', 'partner_reader']);
        assert.deepEqual(app.scopes, ['accounts:read', 'reports:download']);
      } finally {
        await storage.close();
      }
    });

    test('ok/every entry change is audited by name and published once, revisions counting up', async () => {
      const storage = await seededStorage(target);
      try {
        const start = await snapshot(storage);
        const steps: Step[] = [
          (tx) => createCatalogResource(tx, { name: 'ledger', description: 'Ledger' }, META),
          (tx) => updateCatalogResource(tx, 'ledger', { description: 'The ledger' }, META),
          (tx) => createCatalogScope(tx, { name: 'ledger:read' }, META),
          (tx) => updateCatalogScope(tx, 'ledger:read', { status: 'deprecated' }, META),
          (tx) => createCatalogRole(tx, { name: 'ledger_reader', scopes: ['ledger:read'] }, META),
          (tx) => updateCatalogRole(tx, 'ledger_reader', { scopes: ['accounts:read', 'ledger:read'] }, META),
          (tx) => deleteCatalogRole(tx, 'ledger_reader', META),
          (tx) => deleteCatalogScope(tx, 'ledger:read', META),
          (tx) => deleteCatalogResource(tx, 'ledger', META),
        ];
        for (const step of steps) await storage.transaction((tx) => step(tx, storage));
        const audit = (await listAuditEvents(storage.db, { after: 0, limit: 1000 })).slice(start.audit);
        assert.deepEqual(
          audit.map((e) => [e.action, e.target_type, e.target_id, e.actor]),
          [
            ['catalog.resource.create', 'catalog_resource', 'ledger', META.actor],
            ['catalog.resource.update', 'catalog_resource', 'ledger', META.actor],
            ['catalog.scope.create', 'catalog_scope', 'ledger:read', META.actor],
            ['catalog.scope.update', 'catalog_scope', 'ledger:read', META.actor],
            ['catalog.role.create', 'catalog_role', 'ledger_reader', META.actor],
            ['catalog.role.update', 'catalog_role', 'ledger_reader', META.actor],
            ['catalog.role.delete', 'catalog_role', 'ledger_reader', META.actor],
            ['catalog.scope.delete', 'catalog_scope', 'ledger:read', META.actor],
            ['catalog.resource.delete', 'catalog_resource', 'ledger', META.actor],
          ],
        );
        assert.deepEqual(
          audit.map((e) => (e.details as { revision: number }).revision),
          steps.map((_, i) => start.revision + i + 1),
        );
        assert.deepEqual((audit[3]?.details as { fields?: string[] } | undefined)?.fields, ['status']);
        const feed = await storage.db
          .selectFrom('change_feed')
          .select(['kind', 'entity_id'])
          .orderBy('seq')
          .offset(start.feed)
          .limit(1000)
          .execute();
        assert.deepEqual(
          feed.map((f) => [f.kind, f.entity_id]),
          steps.map((_, i) => ['catalog.changed', String(start.revision + i + 1)]),
        );
        // Back where it started, one revision per step.
        const end = await snapshot(storage);
        assert.deepEqual(end.catalog, start.catalog);
        assert.equal(end.revision, start.revision + steps.length);
        // A change that changes nothing is neither a revision nor published nor audited.
        const same = await storage.transaction((tx) =>
          updateCatalogScope(
            tx,
            'accounts:read',
            { description: start.catalog.scopes[0]?.description },
            META,
          ),
        );
        assert.equal(same.revision, end.revision);
        assert.deepEqual(await snapshot(storage), end);
      } finally {
        await storage.close();
      }
    });
  });
}
