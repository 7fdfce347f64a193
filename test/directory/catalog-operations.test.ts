import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import {
  type CatalogOperationInput,
  createCatalogOperation,
  deleteCatalogOperation,
  listCatalog,
  readCatalog,
  updateCatalogOperation,
} from '../../src/directory/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

const op = (
  method: string,
  pathPattern: string,
  scope: string | string[][] = 'accounts:read',
  extra: Partial<CatalogOperationInput> = {},
): CatalogOperationInput => ({
  method,
  pathPattern,
  requiredScopes: typeof scope === 'string' ? [[scope]] : scope,
  description: 'test',
  ...extra,
});

// Against the seed catalog: GET /v1/accounts, GET /v1/accounts/{id}, POST /v1/accounts, POST /v1/payments,
// GET /v1/reports/**. Each failure lists every error code, in order.
const CASES: Array<[string, CatalogOperationInput, string[]]> = [
  ['ok/a new literal route', op('GET', '/v1/balances'), []],
  ['ok/the same path for another method', op('DELETE', '/v1/accounts/{id}', 'accounts:write'), []],
  [
    'ok/a literal next to a {param} (literal wins, the param still matches others)',
    op('GET', '/v1/accounts/me'),
    [],
  ],
  [
    'ok/{param}/** under an existing ** leaves it reachable for one segment',
    op('GET', '/v1/reports/{id}/**', 'reports:download'),
    [],
  ],
  [
    'ok/alternatives: two scopes together, or a third',
    op('GET', '/v1/x', [['accounts:read', 'accounts:write'], ['payments:submit']]),
    [],
  ],
  ['ok/public without scopes', op('GET', '/v1/status', [], { auth: 'public', mtls: 'optional' }), []],
  [
    'ok/ownership guard on a {param}',
    op('GET', '/v1/orgs/{org_id}/accounts', 'accounts:read', { ownerParam: 'org_id' }),
    [],
  ],
  ['ok/a resource of the catalog', op('GET', '/v1/y', 'accounts:read', { resource: 'accounts' }), []],
  ['fail/unknown scope', op('GET', '/v1/balances', 'balances:read'), ['unknown_scope']],
  ['fail/unknown method', op('TRACE', '/v1/balances'), ['invalid_pattern']],
  ['fail/pattern without a leading slash', op('GET', 'v1/balances'), ['invalid_pattern']],
  ['fail/** not final', op('GET', '/v1/**/x'), ['invalid_pattern']],
  ['fail/glob inside a segment', op('GET', '/v1/acc*'), ['invalid_pattern']],
  [
    'fail/the same operation twice (one operation holds every alternative)',
    op('GET', '/v1/accounts', 'payments:submit'),
    ['duplicate'],
  ],
  [
    'fail/same shape, other parameter name (the gateway would merge them)',
    op('GET', '/v1/accounts/{accountId}', 'accounts:write'),
    ['conflicting_pattern'],
  ],
  ['fail/a token operation without scopes', op('GET', '/v1/z', []), ['no_scopes']],
  [
    'fail/a public operation with scopes',
    op('GET', '/v1/z', 'accounts:read', { auth: 'public' }),
    ['invalid_policy'],
  ],
  [
    'fail/owner param not in the pattern',
    op('GET', '/v1/orgs/{id}', 'accounts:read', { ownerParam: 'org_id' }),
    ['owner_param_unknown'],
  ],
  [
    'fail/owner param on a public operation',
    op('GET', '/v1/orgs/{org_id}', [], { auth: 'public', ownerParam: 'org_id' }),
    ['owner_param_unknown'],
  ],
  ['fail/unknown resource', op('GET', '/v1/z', 'accounts:read', { resource: 'nope' }), ['unknown_resource']],
  [
    'fail/invalid policy values',
    op('GET', '/v1/z', 'accounts:read', { mtls: 'sometimes' as never, dpop: 'maybe' as never }),
    ['invalid_policy', 'invalid_policy'],
  ],
  [
    'fail/every finding at once',
    op('GET', '/v1/accounts/{key}', 'nope'),
    ['unknown_scope', 'conflicting_pattern'],
  ],
];

async function expectFindings(promise: Promise<unknown>, codes: string[], name: string): Promise<void> {
  if (codes.length === 0) {
    await promise;
    return;
  }
  await assert.rejects(
    promise,
    (err: { status: number; code: string; details: { errors: Array<{ code: string }> } }) => {
      assert.equal(err.status, 400, name);
      assert.equal(err.code, 'invalid_input', name);
      assert.deepEqual(
        err.details.errors.map((f) => f.code),
        codes,
        name,
      );
      return true;
    },
  );
}

interface PublishedRoute {
  method: string;
  pathPattern: string;
  scopes: string[][];
  auth: string;
  mtls: string;
  dpop: string;
  ownerParam?: string;
}

async function catalogChanges(storage: Storage) {
  const rows = await storage.db
    .selectFrom('change_feed')
    .selectAll()
    .where('kind', '=', 'catalog.changed')
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    entityId: r.entity_id,
    payload: JSON.parse(r.payload) as { revision: number; routes: PublishedRoute[] },
  }));
}

for (const target of targets) {
  describe(`catalog operations: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('validation table: every finding is reported, nothing is written on refusal', async () => {
      for (const [name, input, codes] of CASES) {
        const storage = await seededStorage(target);
        try {
          const before = await listCatalog(storage.db);
          const published = (await catalogChanges(storage)).length;
          await expectFindings(
            storage.transaction((tx) => createCatalogOperation(tx, input, META)),
            codes,
            name,
          );
          const afterList = await listCatalog(storage.db);
          assert.equal(afterList.length, before.length + (codes.length === 0 ? 1 : 0), name);
          assert.equal((await catalogChanges(storage)).length - published, codes.length === 0 ? 1 : 0, name);
        } finally {
          await storage.close();
        }
      }
    });

    test('fail/a ** reached by nothing once {param} and {param}/** exist, whichever comes last', async () => {
      const storage = await seededStorage(target);
      try {
        await storage.transaction((tx) =>
          createCatalogOperation(tx, op('GET', '/v1/reports/{id}', 'reports:download'), META),
        );
        await expectFindings(
          storage.transaction((tx) =>
            createCatalogOperation(tx, op('GET', '/v1/reports/{id}/**', 'reports:download'), META),
          ),
          ['shadowed_pattern'],
          'completing the pair',
        );
        await storage.transaction((tx) =>
          createCatalogOperation(tx, op('GET', '/v1/docs/{id}', 'reports:download'), META),
        );
        await storage.transaction((tx) =>
          createCatalogOperation(tx, op('GET', '/v1/docs/{id}/**', 'reports:download'), META),
        );
        await expectFindings(
          storage.transaction((tx) =>
            createCatalogOperation(tx, op('GET', '/v1/docs/**', 'reports:download'), META),
          ),
          ['shadowed_pattern'],
          'the shadowed one last',
        );
        // Another method is another table: no shadow.
        await storage.transaction((tx) =>
          createCatalogOperation(tx, op('HEAD', '/v1/docs/**', 'reports:download'), META),
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/concurrent edits: one of two conflicting patterns is refused; the last table published has every route', async () => {
      const storage = await seededStorage(target);
      try {
        const results = await Promise.allSettled(
          ['/v1/race/{a}', '/v1/race/{b}'].map((p) =>
            storage.transaction((tx) => createCatalogOperation(tx, op('GET', p), META)),
          ),
        );
        assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
        await Promise.all(
          ['/v1/one', '/v1/two', '/v1/three'].map((p) =>
            storage.transaction((tx) => createCatalogOperation(tx, op('GET', p), META)),
          ),
        );
        const changes = await catalogChanges(storage);
        const last = changes.at(-1)?.payload;
        assert.equal(last?.routes.length, 5 + 1 + 3);
        // Revisions count up by one per applied change, in feed order.
        assert.deepEqual(
          changes.map((c) => c.payload.revision),
          changes.map((_, i) => i + 1),
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/update and delete publish the whole table and are audited; fail/unknown id and invalid update', async () => {
      const storage = await seededStorage(target);
      try {
        const published = (await catalogChanges(storage)).length;
        const created = await storage.transaction((tx) =>
          createCatalogOperation(tx, op('GET', '/v1/balances'), META),
        );
        assert.equal(created.stage, 'active');
        const updated = await storage.transaction((tx) =>
          updateCatalogOperation(
            tx,
            created.id,
            { requiredScopes: [['accounts:write']], description: 'balances', ownerParam: null },
            META,
          ),
        );
        assert.deepEqual(updated.required_scopes, [['accounts:write']]);
        assert.equal(updated.path_pattern, '/v1/balances');
        // Updating a route to itself changes nothing: no revision, nothing published.
        const same = await storage.transaction((tx) =>
          updateCatalogOperation(tx, created.id, { requiredScopes: [['accounts:write']] }, META),
        );
        assert.equal(same.revision, updated.revision);
        await expectFindings(
          storage.transaction((tx) =>
            updateCatalogOperation(
              tx,
              created.id,
              { requiredScopes: [['nope']], pathPattern: '/v1/accounts/{x}' },
              META,
            ),
          ),
          ['unknown_scope', 'conflicting_pattern'],
          'invalid update',
        );
        // Swapping two operations' patterns in one catalog change does not trip the unique index.
        await storage.transaction((tx) => deleteCatalogOperation(tx, created.id, META));
        await assert.rejects(
          storage.transaction((tx) => deleteCatalogOperation(tx, created.id, META)),
          (err: { status: number }) => err.status === 404,
        );
        await assert.rejects(
          storage.transaction((tx) =>
            updateCatalogOperation(tx, created.id, { requiredScopes: [['accounts:read']] }, META),
          ),
          (err: { status: number }) => err.status === 404,
        );

        const changes = (await catalogChanges(storage)).slice(published);
        assert.equal(changes.length, 3);
        const balances = (i: number) =>
          changes[i]?.payload.routes.filter((r) => r.pathPattern === '/v1/balances');
        assert.deepEqual(balances(0), [
          {
            method: 'GET',
            pathPattern: '/v1/balances',
            scopes: [['accounts:read']],
            auth: 'token',
            mtls: 'required',
            dpop: 'refused',
          },
        ]);
        assert.deepEqual(balances(1)?.[0]?.scopes, [['accounts:write']]);
        assert.deepEqual(balances(2), []);
        assert.equal(changes[2]?.payload.routes.length, 5, 'the whole seed table remains');

        const audit = (await listAuditEvents(storage.db, { after: 0, limit: 100 })).filter((e) =>
          e.action.startsWith('catalog.operation.'),
        );
        assert.deepEqual(
          audit.map((e) => [e.action, e.target_id, e.actor]),
          [
            ['catalog.operation.create', created.id, META.actor],
            ['catalog.operation.update', created.id, META.actor],
            ['catalog.operation.delete', created.id, META.actor],
          ],
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/two operations swap patterns in one change (the unique index never sees both)', async () => {
      const storage = await seededStorage(target);
      try {
        const { applyCatalog } = await import('../../src/directory/index.ts');
        await storage.transaction(async (tx) => {
          const doc = await readCatalog(tx.db);
          const a = doc.operations.find((o) => o.method === 'GET' && o.path_pattern === '/v1/accounts');
          const b = doc.operations.find((o) => o.method === 'GET' && o.path_pattern === '/v1/accounts/{id}');
          assert.ok(a && b);
          [a.path_pattern, b.path_pattern] = [b.path_pattern, a.path_pattern];
          await applyCatalog(
            tx,
            doc,
            { ...META, source: 'manual' },
            { action: 'catalog.test', targetType: 'catalog', targetId: 'x' },
          );
        });
        const doc = await readCatalog(storage.db);
        assert.equal(doc.operations.filter((o) => o.path_pattern.startsWith('/v1/accounts')).length, 3);
      } finally {
        await storage.close();
      }
    });
  });
}
