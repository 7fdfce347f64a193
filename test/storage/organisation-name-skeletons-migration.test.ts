import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createOrganisation } from '../../src/directory/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { META } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { openThrough } from '../support/migrations.ts';

const targets = await engineTargets();

for (const target of targets) {
  describe(`migration 0008-organisation-name-skeletons: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/existing organisations get their skeleton in creation order; a look-alike of an earlier one keeps NULL and is named in a warning', async () => {
      const options = target.freshOptions();
      const old = await openThrough(target, options, '0007-self-signed-pins');
      const org = (id: string, name: string, at: string) => ({
        id,
        name,
        name_key: name.toLocaleLowerCase('en'),
        status: 'active' as const,
        created_at: at,
        updated_at: at,
      });
      await old
        .insertInto('organisations')
        .values([
          org('org-lookalike', '\u0410cme Bank', '2026-02-01T00:00:00.000Z'),
          org('org-acme', 'Acme Bank', '2026-01-01T00:00:00.000Z'),
          org('org-invisible', 'Acme\u200bBank', '2026-01-15T00:00:00.000Z'),
          org('org-globex', 'Globex', '2026-03-01T00:00:00.000Z'),
        ])
        .execute();
      await old.destroy();
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on('warning', onWarning);
      let storage: Awaited<ReturnType<typeof openStorage>> | undefined;
      try {
        storage = await openStorage(options);
        // Warnings are emitted on the next tick.
        await new Promise((resolve) => setImmediate(resolve));
        const rows = await storage.db
          .selectFrom('organisations')
          .select(['id', 'name_skeleton'])
          .orderBy('id')
          .execute();
        assert.deepEqual(
          rows.map((r) => ({ ...r })),
          [
            { id: 'org-acme', name_skeleton: 'acrne bank' },
            { id: 'org-globex', name_skeleton: 'globex' },
            { id: 'org-invisible', name_skeleton: 'acrnebank' },
            { id: 'org-lookalike', name_skeleton: null },
          ],
        );
        const warning = warnings.find(
          (w) => (w as Error & { code?: string }).code === 'ACCREDIT_LOOKALIKE_ORGANISATIONS',
        );
        assert.match(warning?.message ?? '', /org-lookalike looks like org-acme/);
        await assert.rejects(
          storage.transaction((tx) => createOrganisation(tx, { name: 'ＡＣＭＥ ＢＡＮＫ' }, META)),
          { code: 'confusable_name', details: { organisation_id: 'org-acme' } },
          'fail/a new look-alike of a backfilled organisation',
        );
        await assert.rejects(
          storage.db
            .insertInto('organisations')
            .values({ ...org('org-race', 'Gl0bex', META.now.toISOString()), name_skeleton: 'globex' })
            .execute(),
          /unique|duplicate/i,
          'fail/the skeleton column is UNIQUE',
        );
      } finally {
        process.off('warning', onWarning);
        await storage?.close();
      }
    });
  });
}
