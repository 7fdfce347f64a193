import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import {
  type CatalogOperationInput,
  createCatalogOperation,
  deleteCatalogOperation,
  listCatalog,
  updateCatalogOperation,
} from '../../src/directory/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

const op = (method: string, pathPattern: string, scope = 'accounts:read'): CatalogOperationInput => ({
  method,
  pathPattern,
  scope,
  description: 'test',
});

// Against the seed catalog: GET /v1/accounts, GET /v1/accounts/{id}, POST /v1/accounts, POST /v1/payments,
// GET /v1/reports/**. Each failure lists every finding code, in order.
const CASES: Array<[string, CatalogOperationInput, string[]]> = [
  ['ok/a new literal route', op('GET', '/v1/balances'), []],
  [
    'ok/a second grant on an existing operation (any one scope admits)',
    op('GET', '/v1/accounts', 'payments:submit'),
    [],
  ],
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
  ['fail/unknown scope', op('GET', '/v1/balances', 'balances:read'), ['unknown_scope']],
  ['fail/unknown method', op('TRACE', '/v1/balances'), ['invalid_pattern']],
  ['fail/pattern without a leading slash', op('GET', 'v1/balances'), ['invalid_pattern']],
  ['fail/** not final', op('GET', '/v1/**/x'), ['invalid_pattern']],
  ['fail/glob inside a segment', op('GET', '/v1/acc*'), ['invalid_pattern']],
  ['fail/exact duplicate', op('GET', '/v1/accounts'), ['duplicate']],
  [
    'fail/same shape, other parameter name (the gateway would merge them)',
    op('GET', '/v1/accounts/{accountId}', 'accounts:write'),
    ['conflicting_pattern'],
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

async function catalogChanges(storage: Storage) {
  const rows = await storage.db
    .selectFrom('change_feed')
    .selectAll()
    .where('kind', '=', 'catalog.changed')
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    entityId: r.entity_id,
    payload: JSON.parse(r.payload) as {
      routes: Array<{ method: string; pathPattern: string; scope: string }>;
    },
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
          await expectFindings(
            storage.transaction((tx) => createCatalogOperation(tx, input, META)),
            codes,
            name,
          );
          const afterList = await listCatalog(storage.db);
          assert.equal(afterList.length, before.length + (codes.length === 0 ? 1 : 0), name);
          assert.equal((await catalogChanges(storage)).length, codes.length === 0 ? 1 : 0, name);
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
        const last = (await catalogChanges(storage)).at(-1)?.payload.routes ?? [];
        assert.equal(last.length, 5 + 1 + 3);
      } finally {
        await storage.close();
      }
    });

    test('ok/update and delete publish the whole table and are audited; fail/unknown id and invalid update', async () => {
      const storage = await seededStorage(target);
      try {
        const created = await storage.transaction((tx) =>
          createCatalogOperation(tx, op('GET', '/v1/balances'), META),
        );
        const updated = await storage.transaction((tx) =>
          updateCatalogOperation(tx, created.id, { scope: 'accounts:write', description: 'balances' }, META),
        );
        assert.equal(updated.scope, 'accounts:write');
        assert.equal(updated.path_pattern, '/v1/balances');
        // Updating a route to itself is no duplicate of itself.
        await storage.transaction((tx) =>
          updateCatalogOperation(tx, created.id, { scope: 'accounts:write' }, META),
        );
        await expectFindings(
          storage.transaction((tx) =>
            updateCatalogOperation(tx, created.id, { scope: 'nope', pathPattern: '/v1/accounts/{x}' }, META),
          ),
          ['unknown_scope', 'conflicting_pattern'],
          'invalid update',
        );
        await storage.transaction((tx) => deleteCatalogOperation(tx, created.id, META));
        await assert.rejects(
          storage.transaction((tx) => deleteCatalogOperation(tx, created.id, META)),
          (err: { status: number }) => err.status === 404,
        );
        await assert.rejects(
          storage.transaction((tx) =>
            updateCatalogOperation(tx, created.id, { scope: 'accounts:read' }, META),
          ),
          (err: { status: number }) => err.status === 404,
        );

        const changes = await catalogChanges(storage);
        assert.equal(changes.length, 4);
        assert.ok(changes.every((c) => c.entityId === created.id));
        const balances = (i: number) =>
          changes[i]?.payload.routes.filter((r) => r.pathPattern === '/v1/balances');
        assert.deepEqual(balances(0), [
          { method: 'GET', pathPattern: '/v1/balances', scope: 'accounts:read' },
        ]);
        assert.deepEqual(balances(1), [
          { method: 'GET', pathPattern: '/v1/balances', scope: 'accounts:write' },
        ]);
        assert.deepEqual(balances(3), []);
        assert.equal(changes[3]?.payload.routes.length, 5, 'the whole seed table remains');

        const audit = (await listAuditEvents(storage.db, { after: 0, limit: 100 })).filter((e) =>
          e.action.startsWith('catalog.operation.'),
        );
        assert.deepEqual(
          audit.map((e) => [e.action, e.target_id, e.actor]),
          [
            ['catalog.operation.create', created.id, META.actor],
            ['catalog.operation.update', created.id, META.actor],
            ['catalog.operation.update', created.id, META.actor],
            ['catalog.operation.delete', created.id, META.actor],
          ],
        );
      } finally {
        await storage.close();
      }
    });
  });
}
