// Issue 16: an import's batches are bounded in time as well as in size — with maxBatchMs a batch commits
// once it has written for that long (after at least one organisation), each batch audited with the records it
// holds, and a run split that way writes exactly what one large batch would.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import {
  type ImportOrganisation,
  ImportValidator,
  listApplicationsPage,
  listOrganisationsPage,
  writeImport,
} from '../../src/directory/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

const records = (prefix: string, n: number): ImportOrganisation[] =>
  Array.from({ length: n }, (_, i) => ({
    external_ref: `${prefix}-${i}`,
    name: `${prefix} Partner ${i}`,
    applications: [
      { external_ref: `${prefix}-${i}-a`, name: 'Payments', roles: ['partner_reader'] },
      { external_ref: `${prefix}-${i}-b`, name: 'Reports' },
    ],
  }));

async function validated(storage: Awaited<ReturnType<typeof seededStorage>>, input: ImportOrganisation[]) {
  const validator = await ImportValidator.open(storage.db, META.now);
  for (const r of input) validator.add(r);
  await validator.checkDirectory(storage.db);
  assert.deepEqual(validator.findings, []);
  return validator.records;
}

for (const target of targets) {
  describe(`bulk import batches bounded in time: ${target.name}`, { skip: target.skip }, () => {
    test('ok/maxBatchMs 0: one organisation a batch, each audited with its record range', async () => {
      const storage = await seededStorage(target);
      try {
        const input = await validated(storage, records('Timed', 5));
        const done = await writeImport(storage, input, {
          ...META,
          importId: 'timed',
          batchSize: 500,
          maxBatchMs: 0,
        });
        assert.deepEqual(
          done.map((b) => [b.batch, b.organisations_created, b.applications_created]),
          [
            [1, 1, 2],
            [2, 1, 2],
            [3, 1, 2],
            [4, 1, 2],
            [5, 1, 2],
          ],
        );
        const audit = (await listAuditEvents(storage.db, { after: 0, limit: 1000 })).filter(
          (e) => e.action === 'import.batch',
        );
        assert.deepEqual(
          audit.map((e) => {
            const d = e.details as { first_record: number; last_record: number };
            return [d.first_record, d.last_record];
          }),
          [
            [1, 1],
            [2, 2],
            [3, 3],
            [4, 4],
            [5, 5],
          ],
        );
        const orgs = await listOrganisationsPage(storage.db, { namePrefix: 'Timed' }, { limit: 100 });
        assert.equal(orgs.items.length, 5);
        const apps = await listApplicationsPage(storage.db, {}, { limit: 100 });
        assert.equal(apps.items.length, 10);
        // A re-run under the same bound skips everything.
        const rerun = await writeImport(storage, input, { ...META, importId: 'again', maxBatchMs: 0 });
        assert.equal(
          rerun.reduce((n, b) => n + b.organisations_created + b.applications_created, 0),
          0,
        );
        assert.equal(
          rerun.reduce((n, b) => n + b.organisations_skipped, 0),
          5,
        );
      } finally {
        await storage.close();
        await target.cleanup();
      }
    });

    test('ok/without maxBatchMs, batches are exactly batchSize; a generous bound changes nothing', async () => {
      const storage = await seededStorage(target);
      try {
        const input = await validated(storage, records('Sized', 7));
        const fixed = await writeImport(storage, input.slice(0, 5), { ...META, importId: 'a', batchSize: 2 });
        assert.deepEqual(
          fixed.map((b) => b.organisations_created),
          [2, 2, 1],
        );
        const generous = await writeImport(storage, input.slice(5), {
          ...META,
          importId: 'b',
          batchSize: 500,
          maxBatchMs: 600_000,
        });
        assert.deepEqual(
          generous.map((b) => b.organisations_created),
          [2],
        );
      } finally {
        await storage.close();
        await target.cleanup();
      }
    });
  });
}
