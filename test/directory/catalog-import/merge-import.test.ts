import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CatalogDocument, CatalogOperation } from '../../../src/directory/catalog-document.ts';
import {
  type ImportedCatalog,
  type ImportedOperation,
  mergeImport,
} from '../../../src/directory/catalog-import/index.ts';
import { codes, importFixture } from './fixtures.ts';

const SOURCE = 'openapi:northwind-bank-account-information-api';

const operation = (
  fields: Partial<CatalogOperation> & Pick<CatalogOperation, 'id' | 'method' | 'path_pattern'>,
) => ({
  resource: null,
  operation_id: null,
  source: 'manual',
  description: '',
  required_scopes: [['accounts:read']],
  auth: 'token' as const,
  mtls: 'required' as const,
  dpop: 'refused' as const,
  owner_param: null,
  status: 'active' as const,
  ...fields,
});

/** A catalog that already serves other sources: the seed, a hand-made route and another provider's import. */
function currentCatalog(): CatalogDocument {
  return {
    resources: [{ name: 'reports', description: 'Downloadable reports', status: 'active' }],
    scopes: [
      {
        name: 'accounts:read',
        description: 'Read the organisation’s accounts',
        version: null,
        status: 'active',
      },
      { name: 'cards:read', description: 'Read cards', version: null, status: 'active' },
      { name: 'reports:download', description: 'Download reports', version: null, status: 'active' },
    ],
    roles: [
      {
        name: 'partner_analyst',
        description: 'Downloads reports',
        status: 'active',
        scopes: ['reports:download'],
      },
      { name: 'partner_reader', description: 'Reads accounts', status: 'active', scopes: ['accounts:read'] },
    ],
    operations: [
      operation({ id: 'seed-1', method: 'GET', path_pattern: '/legacy/accounts', source: 'seed' }),
      operation({
        id: 'manual-1',
        method: 'GET',
        path_pattern: '/reports/**',
        required_scopes: [['reports:download']],
      }),
      // Another import with an operationId the banking document uses too: matching never crosses sources.
      operation({
        id: 'cards-1',
        method: 'GET',
        path_pattern: '/cards/{cardId}',
        source: 'openapi:cards',
        operation_id: 'getAccount',
        required_scopes: [['cards:read']],
      }),
    ],
  };
}

function ids(prefix: string) {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

const route = (o: { method: string; path_pattern: string }) => `${o.method} ${o.path_pattern}`;

describe('mergeImport', () => {
  test('ok/a first import adds every operation, scope and resource, and leaves other sources alone', async () => {
    const current = currentCatalog();
    const imported = await importFixture('banking-v1.yaml');
    const { document, diff, findings } = mergeImport(current, imported, {
      source: SOURCE,
      newId: ids('new'),
    });
    assert.deepEqual(findings, []);
    assert.equal(diff.added.length, 10);
    assert.deepEqual(diff.changed, []);
    assert.deepEqual(diff.removed, []);
    assert.deepEqual(
      diff.added.map((o) => o.id),
      Array.from({ length: 10 }, (_, i) => `new-${i + 1}`),
    );
    assert.ok(diff.added.every((o) => o.source === SOURCE));
    for (const other of current.operations) {
      assert.deepEqual(
        document.operations.find((o) => o.id === other.id),
        other,
      );
    }
    assert.equal(document.operations.length, 13);
    assert.deepEqual(
      diff.scopesAdded.map((s) => s.name),
      imported.scopes.map((s) => s.name),
    );
    assert.deepEqual(
      diff.resourcesAdded.map((r) => r.name),
      ['accounts', 'balances', 'consents', 'status', 'transactions'],
    );
    assert.deepEqual(document.roles, current.roles);
    assert.deepEqual(
      document.scopes.map((s) => s.name),
      [...document.scopes.map((s) => s.name)].sort(),
    );
  });

  test('ok/version 2 of the document: exactly one operation added, one changed, one removed', async () => {
    const v1 = mergeImport(currentCatalog(), await importFixture('banking-v1.yaml'), {
      source: SOURCE,
      newId: ids('v1'),
    }).document;
    const { document, diff, findings } = mergeImport(v1, await importFixture('banking-v2.yaml'), {
      source: SOURCE,
      newId: ids('v2'),
    });
    assert.deepEqual(findings, []);
    const before = (pattern: string) => v1.operations.find((o) => o.path_pattern === pattern)!;
    const balances = before('/v1/accounts/{accountId}/balances');
    assert.deepEqual(diff, {
      added: [
        {
          id: 'v2-1',
          method: 'GET',
          path_pattern: '/v1/accounts/{accountId}/beneficiaries',
          resource: 'accounts',
          operation_id: 'getAccountBeneficiaries',
          source: SOURCE,
          description: 'List the trusted beneficiaries of an account',
          required_scopes: [['beneficiaries:read:v1']],
          auth: 'token',
          mtls: 'required',
          dpop: 'refused',
          owner_param: null,
          status: 'active',
        },
      ],
      changed: [
        {
          before: balances,
          after: { ...balances, required_scopes: [['balances:read:v2']] },
          fields: ['required_scopes'],
        },
      ],
      removed: [before('/v1/accounts/{accountId}/statements')],
      scopesAdded: [
        {
          name: 'balances:read:v2',
          description: 'Read balances, with credit lines',
          version: 'v2',
          status: 'active',
        },
        {
          name: 'beneficiaries:read:v1',
          description: 'Read trusted beneficiaries',
          version: 'v1',
          status: 'active',
        },
      ],
      scopesChanged: [],
      resourcesAdded: [],
      resourcesChanged: [],
    });
    // Every operation that stayed kept its id; scopes the new document dropped stay for the catalog to report.
    for (const o of v1.operations.filter((o) => o.path_pattern !== '/v1/accounts/{accountId}/statements')) {
      assert.equal(document.operations.find((d) => route(d) === route(o))?.id, o.id, route(o));
    }
    assert.ok(document.scopes.some((s) => s.name === 'statements:read:v1'));
    assert.ok(document.scopes.some((s) => s.name === 'balances:read:v1'));
    assert.equal(document.operations.length, v1.operations.length);
  });

  test('ok/importing the same document again changes nothing', async () => {
    const imported = await importFixture('banking-v1.yaml');
    const first = mergeImport(currentCatalog(), imported, { source: SOURCE, newId: ids('a') }).document;
    const again = mergeImport(first, imported, { source: SOURCE, newId: ids('b') });
    assert.deepEqual(again.document, first);
    assert.deepEqual(again.diff, {
      added: [],
      changed: [],
      removed: [],
      scopesAdded: [],
      scopesChanged: [],
      resourcesAdded: [],
      resourcesChanged: [],
    });
  });

  test('fail/a route another source serves is refused, not taken over (parameter names do not matter)', async () => {
    const current = currentCatalog();
    current.operations.push(
      operation({ id: 'manual-2', method: 'GET', path_pattern: '/v1/accounts/{id}', description: 'by hand' }),
    );
    const imported = await importFixture('banking-v1.yaml');
    const { document, diff, findings } = mergeImport(current, imported, {
      source: SOURCE,
      newId: ids('new'),
    });
    assert.deepEqual(codes(findings), ['error owned_by_other_source /paths/~1accounts~1{AccountId}/get']);
    assert.match(findings[0]!.detail, /GET \/v1\/accounts\/\{id\} of source "manual"/);
    assert.equal(diff.added.length, 9);
    assert.ok(!diff.added.some((o) => o.path_pattern === '/v1/accounts/{accountId}'));
    assert.deepEqual(
      document.operations.find((o) => o.id === 'manual-2'),
      current.operations.at(-1),
    );
  });

  test('ok/matching: operationId first, then method and pattern; neither is a new operation', () => {
    const own = (id: string, method: string, pattern: string, operationId: string | null) =>
      operation({ id, method, path_pattern: pattern, operation_id: operationId, source: 'openapi:x' });
    const current: CatalogDocument = {
      resources: [],
      scopes: [],
      roles: [],
      operations: [
        own('moved', 'GET', '/a', 'readA'),
        own('renamed', 'GET', '/b', 'readB'),
        own('named', 'GET', '/c', null),
        own('replaced', 'GET', '/d', 'readD'),
      ],
    };
    const next = (method: string, pattern: string, operationId: string | null): ImportedOperation => {
      const { id: _, ...rest } = own('', method, pattern, operationId);
      return rest;
    };
    const imported: Pick<ImportedCatalog, 'operations' | 'scopes' | 'resources'> = {
      operations: [
        next('GET', '/a/details', 'readA'),
        next('GET', '/b', 'getB'),
        next('GET', '/c', 'readC'),
        next('PUT', '/e', 'readD2'),
      ],
      scopes: [],
      resources: [],
    };
    const { diff } = mergeImport(current, imported, { source: 'openapi:x', newId: ids('new') });
    assert.deepEqual(
      diff.changed.map((c) => [c.before.id, c.after.id, c.fields]),
      [
        ['moved', 'moved', ['path_pattern']],
        ['renamed', 'renamed', ['operation_id']],
        ['named', 'named', ['operation_id']],
      ],
    );
    assert.deepEqual(
      diff.added.map((o) => [o.id, route(o)]),
      [['new-1', 'PUT /e']],
    );
    assert.deepEqual(
      diff.removed.map((o) => o.id),
      ['replaced'],
    );
  });

  test('ok/scopes and resources are added or updated, never removed; roles are untouched', () => {
    const current: CatalogDocument = {
      resources: [{ name: 'accounts', description: 'old', status: 'active' }],
      scopes: [
        { name: 'accounts:read:v1', description: 'old', version: null, status: 'deprecated' },
        { name: 'accounts:list', description: 'List accounts', version: null, status: 'active' },
        { name: 'unrelated', description: 'Kept', version: null, status: 'active' },
      ],
      roles: [
        { name: 'reader', description: 'Reads', status: 'active', scopes: ['accounts:read:v1', 'unrelated'] },
      ],
      operations: [],
    };
    const { document, diff } = mergeImport(
      current,
      {
        operations: [],
        scopes: [
          { name: 'accounts:read:v1', description: 'Read accounts', version: 'v1', status: 'active' },
          // Used but undeclared in the document: no description, which must not erase the catalog's.
          { name: 'accounts:list', description: '', version: null, status: 'active' },
        ],
        resources: [
          { name: 'accounts', description: 'Accounts', status: 'active' },
          { name: 'cards', description: '', status: 'active' },
        ],
      },
      { source: 'openapi:x', newId: ids('new') },
    );
    assert.deepEqual(diff.scopesChanged, [
      {
        before: current.scopes[0],
        // The catalog decides a scope's status; the import only describes it.
        after: {
          name: 'accounts:read:v1',
          description: 'Read accounts',
          version: 'v1',
          status: 'deprecated',
        },
        fields: ['description', 'version'],
      },
    ]);
    assert.deepEqual(diff.scopesAdded, []);
    assert.deepEqual(
      document.scopes.map((s) => [s.name, s.description]),
      [
        ['accounts:list', 'List accounts'],
        ['accounts:read:v1', 'Read accounts'],
        ['unrelated', 'Kept'],
      ],
    );
    assert.deepEqual(diff.resourcesAdded, [{ name: 'cards', description: '', status: 'active' }]);
    assert.deepEqual(
      diff.resourcesChanged.map((c) => [c.before.description, c.after.description, c.fields]),
      [['old', 'Accounts', ['description']]],
    );
    assert.deepEqual(document.roles, current.roles);
  });

  test('fail/only an openapi:<name> source can be replaced', () => {
    const current = currentCatalog();
    for (const source of ['seed', 'manual', 'openapi:', 'openapi:Bad Name']) {
      const { document, diff, findings } = mergeImport(
        current,
        { operations: [], scopes: [], resources: [] },
        { source, newId: ids('new') },
      );
      assert.deepEqual(codes(findings), ['error invalid_source '], source);
      assert.equal(document, current);
      assert.deepEqual(diff.removed, []);
    }
  });

  test('ok/an import with no operations removes every operation of its source, and only those', () => {
    const current = currentCatalog();
    const { document, diff } = mergeImport(
      current,
      { operations: [], scopes: [], resources: [] },
      { source: 'openapi:cards', newId: ids('new') },
    );
    assert.deepEqual(
      diff.removed.map((o) => o.id),
      ['cards-1'],
    );
    assert.deepEqual(
      document.operations.map((o) => o.id),
      ['seed-1', 'manual-1'],
    );
  });
});
