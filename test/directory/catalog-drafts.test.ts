import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import {
  activeRevision,
  createCatalogOperation,
  createCatalogResource,
  createCatalogRole,
  createCatalogScope,
  createDraft,
  createOrganisation,
  deleteCatalogOperation,
  discardDraft,
  editCatalog,
  promoteDraft,
  readCatalog,
  readDraft,
  SEED_ROUTES,
  updateCatalogScope,
} from '../../src/directory/index.ts';
import type { Storage, Tx } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

const DRAFT = { ...META, stage: 'draft' as const };

async function count(storage: Storage, table: 'change_feed' | 'audit_log' | 'catalog_revisions') {
  return Number(
    (
      await storage.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
}

/** The active catalog and everything a change to it writes. */
async function activeState(storage: Storage) {
  return {
    catalog: await readCatalog(storage.db),
    feed: await count(storage, 'change_feed'),
    revisions: await count(storage, 'catalog_revisions'),
    revision: await activeRevision({ db: storage.db }),
  };
}

async function auditActions(storage: Storage, after: number) {
  return (await listAuditEvents(storage.db, { after: 0, limit: 1000 }))
    .slice(after)
    .map((e) => [e.action, e.target_type, e.target_id]);
}

const rejectsWith = (status: number, code: string, errors?: string[]) => (err: unknown) => {
  const e = err as { status: number; code: string; details?: { errors?: Array<{ code: string }> } };
  assert.equal(e.status, status);
  assert.equal(e.code, code);
  if (errors)
    assert.deepEqual(
      e.details?.errors?.map((f) => f.code),
      errors,
    );
  return true;
};

for (const target of targets) {
  describe(`catalog drafts: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/draft edits stage a copy nobody feels; promote applies them in one change and ends the draft', async () => {
      const storage = await seededStorage(target);
      try {
        const active = await activeState(storage);
        const audited = await count(storage, 'audit_log');

        // The first draft edit starts the draft from the active catalog.
        const scope = await storage.transaction((tx) =>
          createCatalogScope(tx, { name: 'ledger:read', description: 'Read the ledger' }, DRAFT),
        );
        assert.equal(scope.stage, 'draft');
        assert.equal(scope.revision, active.revision);
        const role = await storage.transaction((tx) =>
          createCatalogRole(tx, { name: 'ledger_reader', scopes: ['ledger:read'] }, DRAFT),
        );
        assert.equal(role.stage, 'draft');
        const op = await storage.transaction((tx) =>
          createCatalogOperation(
            tx,
            { method: 'GET', pathPattern: '/v1/ledger', requiredScopes: [['ledger:read']], description: 'l' },
            DRAFT,
          ),
        );
        await storage.transaction((tx) => deleteCatalogOperation(tx, SEED_ROUTES[4].id, DRAFT));
        assert.deepEqual(await activeState(storage), active, 'the active catalog is untouched');

        const view = await storage.transaction((tx) => readDraft(tx, META.now));
        assert.equal(view.base_revision, active.revision);
        assert.equal(view.active_revision, active.revision);
        assert.equal(view.stale, false);
        assert.equal(view.created_by, META.actor);
        assert.deepEqual(
          view.diff.scopes.added.map((s) => s.name),
          ['ledger:read'],
        );
        assert.deepEqual(
          view.diff.roles.added.map((r) => r.name),
          ['ledger_reader'],
        );
        assert.deepEqual(
          view.diff.operations.added.map((o) => o.id),
          [op.id],
        );
        assert.deepEqual(
          view.diff.operations.removed.map((o) => o.id),
          [SEED_ROUTES[4].id],
        );
        assert.deepEqual(view.diff.operations.changed, []);
        // Removing GET /v1/reports/** leaves reports:download required by nothing but still granted: no
        // finding; nothing else is wrong.
        assert.deepEqual(view.findings, []);

        assert.deepEqual(await auditActions(storage, audited), [
          ['catalog.scope.create.draft', 'catalog_scope', 'ledger:read'],
          ['catalog.role.create.draft', 'catalog_role', 'ledger_reader'],
          ['catalog.operation.create.draft', 'catalog_operation', op.id],
          ['catalog.operation.delete.draft', 'catalog_operation', SEED_ROUTES[4].id],
        ]);

        // A dry-run promote shows the result and changes nothing; the draft stays.
        const dry = await storage.transaction((tx) => promoteDraft(tx, { ...META, dryRun: true }));
        assert.equal(dry.applied, false);
        assert.equal(dry.revision, active.revision);
        assert.deepEqual(
          dry.diff.operations.added.map((o) => o.id),
          [op.id],
        );
        assert.deepEqual(await activeState(storage), active);
        await storage.transaction((tx) => readDraft(tx, META.now));

        const promoted = await storage.transaction((tx) => promoteDraft(tx, META));
        assert.equal(promoted.applied, true);
        assert.equal(promoted.revision, active.revision + 1);
        const now = await activeState(storage);
        assert.equal(now.revision, active.revision + 1);
        assert.equal(now.revisions, active.revisions + 1);
        assert.equal(now.feed, active.feed + 1, 'one catalog.changed for the whole draft');
        assert.deepEqual(now.catalog, view.document);
        const change = await storage.db
          .selectFrom('change_feed')
          .select(['kind', 'entity_id', 'payload'])
          .orderBy('seq', 'desc')
          .executeTakeFirstOrThrow();
        assert.equal(change.kind, 'catalog.changed');
        assert.equal(change.entity_id, String(active.revision + 1));
        const payload = JSON.parse(change.payload) as {
          revision: number;
          routes: Array<{ method: string; pathPattern: string }>;
        };
        assert.equal(payload.revision, active.revision + 1);
        assert.deepEqual(
          payload.routes.map((r) => `${r.method} ${r.pathPattern}`),
          [
            'GET /v1/accounts',
            'POST /v1/accounts',
            'GET /v1/accounts/{id}',
            'GET /v1/ledger',
            'POST /v1/payments',
          ],
        );
        const revision = await storage.db
          .selectFrom('catalog_revisions')
          .select(['source', 'actor'])
          .where('revision', '=', active.revision + 1)
          .executeTakeFirstOrThrow();
        assert.deepEqual({ ...revision }, { source: 'promote', actor: META.actor });

        await assert.rejects(
          storage.transaction((tx) => readDraft(tx, META.now)),
          rejectsWith(404, 'not_found'),
        );
        assert.deepEqual((await auditActions(storage, audited)).slice(4), [
          ['catalog.draft.promote', 'catalog', 'draft'],
        ]);
      } finally {
        await storage.close();
      }
    });

    test('fail/a draft taken before an active edit is stale (409 catalog_draft_stale) and promotes nothing', async () => {
      const storage = await seededStorage(target);
      try {
        const created = await storage.transaction((tx) => createDraft(tx, META));
        const base = created.base_revision;
        assert.equal(base, await activeRevision({ db: storage.db }));
        await storage.transaction((tx) =>
          createCatalogScope(tx, { name: 'ledger:read', description: 'draft' }, DRAFT),
        );
        await storage.transaction((tx) => createCatalogResource(tx, { name: 'ledger' }, META));
        const view = await storage.transaction((tx) => readDraft(tx, META.now));
        assert.equal(view.stale, true);
        assert.equal(view.base_revision, base);
        assert.equal(view.active_revision, base + 1);

        const active = await activeState(storage);
        await assert.rejects(
          storage.transaction((tx) => promoteDraft(tx, META)),
          (err: { status: number; code: string; details: Record<string, unknown> }) => {
            assert.equal(err.status, 409);
            assert.equal(err.code, 'catalog_draft_stale');
            assert.deepEqual(err.details, { base_revision: base, active_revision: base + 1 });
            return true;
          },
        );
        await assert.rejects(
          storage.transaction((tx) => promoteDraft(tx, { ...META, dryRun: true })),
          rejectsWith(409, 'catalog_draft_stale'),
        );
        assert.deepEqual(await activeState(storage), active);
        // The draft is kept for the operator to look at (and discard).
        await storage.transaction((tx) => readDraft(tx, META.now));
      } finally {
        await storage.close();
      }
    });

    test('fail/createDraft twice (409 catalog_draft_exists); discard ends it (404 afterwards)', async () => {
      const storage = await seededStorage(target);
      try {
        const audited = await count(storage, 'audit_log');
        const active = await activeState(storage);
        const view = await storage.transaction((tx) => createDraft(tx, META));
        assert.deepEqual(view.document, active.catalog);
        assert.deepEqual(view.findings, []);
        assert.equal(view.stale, false);
        await assert.rejects(
          storage.transaction((tx) => createDraft(tx, META)),
          rejectsWith(409, 'catalog_draft_exists'),
        );
        // A draft edit after an explicit create keeps the draft's base and author.
        await storage.transaction((tx) =>
          createCatalogResource(tx, { name: 'ledger' }, { ...DRAFT, actor: 'operator:other' }),
        );
        const edited = await storage.transaction((tx) => readDraft(tx, META.now));
        assert.equal(edited.created_by, META.actor);
        assert.equal(edited.created_at, view.created_at);
        assert.equal(edited.base_revision, view.base_revision);

        await storage.transaction((tx) => discardDraft(tx, META));
        const attempts: Array<(tx: Tx) => Promise<unknown>> = [
          (tx) => readDraft(tx, META.now),
          (tx) => discardDraft(tx, META),
          (tx) => promoteDraft(tx, META),
        ];
        for (const attempt of attempts) {
          await assert.rejects(
            storage.transaction((tx) => attempt(tx)),
            rejectsWith(404, 'not_found'),
          );
        }
        assert.deepEqual(await activeState(storage), active);
        assert.deepEqual(await auditActions(storage, audited), [
          ['catalog.draft.create', 'catalog', 'draft'],
          ['catalog.resource.create.draft', 'catalog_resource', 'ledger'],
          ['catalog.draft.discard', 'catalog', 'draft'],
        ]);
        // After a discard a new draft starts afresh.
        await storage.transaction((tx) => createDraft(tx, META));
      } finally {
        await storage.close();
      }
    });

    test('fail/draft edits are validated like active ones: errors refused, the draft unchanged', async () => {
      const storage = await seededStorage(target);
      try {
        await storage.transaction((tx) => createCatalogScope(tx, { name: 'ledger:read' }, DRAFT));
        const before = await storage.transaction((tx) => readDraft(tx, META.now));
        const audited = await count(storage, 'audit_log');
        const active = await activeState(storage);

        await assert.rejects(
          storage.transaction((tx) => createCatalogRole(tx, { name: 'empty', scopes: [] }, DRAFT)),
          rejectsWith(400, 'invalid_input', ['role_grants_nothing']),
        );
        await assert.rejects(
          storage.transaction((tx) => createCatalogScope(tx, { name: 'bad scope' }, DRAFT)),
          rejectsWith(400, 'invalid_input', ['invalid_name']),
        );
        await assert.rejects(
          storage.transaction((tx) =>
            createCatalogOperation(
              tx,
              {
                method: 'GET',
                pathPattern: '/v1/accounts/{key}',
                requiredScopes: [['nope']],
                description: 'x',
              },
              DRAFT,
            ),
          ),
          rejectsWith(400, 'invalid_input', ['unknown_scope', 'conflicting_pattern']),
        );
        // A scope still required by active operations cannot be removed in the draft either.
        await assert.rejects(
          storage.transaction((tx) =>
            editCatalog(
              tx,
              DRAFT,
              (doc) => {
                doc.scopes = doc.scopes.filter((s) => s.name !== 'reports:download');
              },
              { action: 'catalog.test', targetType: 'catalog', targetId: 'x' },
            ),
          ),
          rejectsWith(400, 'invalid_input', ['scope_in_use', 'scope_in_use']),
        );
        // A new use of a deprecated scope is refused in the draft as well.
        await storage.transaction((tx) =>
          updateCatalogScope(tx, 'ledger:read', { status: 'deprecated' }, DRAFT),
        );
        const deprecatedDraft = await storage.transaction((tx) => readDraft(tx, META.now));
        await assert.rejects(
          storage.transaction((tx) =>
            createCatalogOperation(
              tx,
              {
                method: 'GET',
                pathPattern: '/v1/ledger',
                requiredScopes: [['ledger:read']],
                description: 'l',
              },
              DRAFT,
            ),
          ),
          rejectsWith(400, 'invalid_input', ['deprecated_scope']),
        );

        const afterwards = await storage.transaction((tx) => readDraft(tx, META.now));
        assert.deepEqual(afterwards.document, deprecatedDraft.document);
        assert.notDeepEqual(afterwards.document, before.document);
        assert.deepEqual(await activeState(storage), active);
        assert.deepEqual(await auditActions(storage, audited), [
          ['catalog.scope.update.draft', 'catalog_scope', 'ledger:read'],
        ]);
        // A dry-run draft edit validates and writes nothing.
        const dry = await storage.transaction((tx) =>
          createCatalogResource(tx, { name: 'ledger' }, { ...DRAFT, dryRun: true }),
        );
        assert.equal(dry.name, 'ledger');
        assert.deepEqual(
          (await storage.transaction((tx) => readDraft(tx, META.now))).document,
          afterwards.document,
        );
        assert.equal(await count(storage, 'audit_log'), audited + 1);
      } finally {
        await storage.close();
      }
    });

    test('fail/promote re-validates: a role removed in the draft but held since is refused, the draft kept', async () => {
      const storage = await seededStorage(target);
      try {
        await storage.transaction((tx) =>
          editCatalog(
            tx,
            DRAFT,
            (doc) => {
              doc.roles = doc.roles.filter((r) => r.name !== 'partner_analyst');
            },
            { action: 'catalog.role.delete', targetType: 'catalog_role', targetId: 'partner_analyst' },
          ),
        );
        // Approving roles for an organisation is no catalog change: the draft stays current.
        await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, META));
        const view = await storage.transaction((tx) => readDraft(tx, META.now));
        assert.equal(view.stale, false);
        assert.deepEqual(
          view.findings.map((f) => [f.severity, f.code, f.target]),
          [
            ['error', 'role_in_use', 'role partner_analyst'],
            ['warning', 'scope_not_granted', 'GET /v1/reports/**'],
          ],
        );
        const active = await activeState(storage);
        await assert.rejects(
          storage.transaction((tx) => promoteDraft(tx, META)),
          rejectsWith(400, 'invalid_input', ['role_in_use']),
        );
        assert.deepEqual(await activeState(storage), active);
        assert.deepEqual(
          (await storage.transaction((tx) => readDraft(tx, META.now))).document,
          view.document,
        );
      } finally {
        await storage.close();
      }
    });
  });
}
