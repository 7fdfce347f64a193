import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createOrganisation, getOrganisation } from '../../src/directory/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

// Each name is refused whole, and the first refused character is named by its code point.
const INVISIBLE: Array<[string, string, string]> = [
  ['fail/zero width space inside', 'Acme\u200bBank', 'U+200B'],
  ['fail/byte order mark prefix', '\ufeffAcme Bank', 'U+FEFF'],
  ['fail/right-to-left override', 'Acme \u202eknaB', 'U+202E'],
  ['fail/left-to-right mark at the end', 'Acme Bank\u200e', 'U+200E'],
  ['fail/right-to-left mark', 'Acme\u200f Bank', 'U+200F'],
  ['fail/first strong isolate', 'Acme \u2068Bank\u2069', 'U+2068'],
  ['fail/zero width joiner', 'Acme\u200dBank', 'U+200D'],
  ['fail/zero width non-joiner', 'Ac\u200cme Bank', 'U+200C'],
  ['fail/soft hyphen', 'Ac\u00adme Bank', 'U+00AD'],
  ['fail/tag characters', 'Acme Bank\u{e0041}\u{e007f}', 'U+E0041'],
  ['fail/variation selector', 'Acme\ufe0f Bank', 'U+FE0F'],
  ['fail/Hangul filler (a letter that shows nothing)', 'Acme\u3164Bank', 'U+3164'],
  ['fail/private use', 'Acme \ue000Bank', 'U+E000'],
  ['fail/unassigned code point', 'Acme \u0378Bank', 'U+0378'],
  ['fail/line separator', 'Acme\u2028Bank', 'U+2028'],
  ['fail/paragraph separator', 'Acme\u2029Bank', 'U+2029'],
  ['fail/line feed', 'Acme\nBank', 'U+000A'],
  ['fail/unpaired surrogate', 'Acme \ud800Bank', 'U+D800'],
];

// Each looks like "Acme Bank", which exists: 409 naming it.
const LOOKALIKES: Array<[string, string]> = [
  ['fail/Cyrillic а for Latin a', '\u0430cme Bank'],
  ['fail/Cyrillic А for Latin A', '\u0410cme Bank'],
  ['fail/Greek Β for Latin B', 'Acme \u0392ank'],
  ['fail/rn for m', 'Acrne Bank'],
  ['fail/fullwidth letters', 'ＡＣＭＥ ＢＡＮＫ'],
  ['fail/mathematical bold letters', '𝐀𝐜𝐦𝐞 𝐁𝐚𝐧𝐤'],
  ['fail/capital I for l', 'IIoyds'],
];

for (const target of targets) {
  describe(`organisation names (UTS #39): ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('fail/look-alike names are refused with a stable code and nothing is written', async () => {
      const storage = await seededStorage(target);
      try {
        const acme = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, META));
        const lloyds = await storage.transaction((tx) => createOrganisation(tx, { name: 'lloyds' }, META));
        for (const [name, input, codePoint] of INVISIBLE) {
          await assert.rejects(
            storage.transaction((tx) => createOrganisation(tx, { name: input }, META)),
            (err: { code: string; status: number; message: string; details: Record<string, unknown> }) => {
              assert.equal(err.code, 'invalid_name_character', name);
              assert.equal(err.status, 400, name);
              assert.equal(err.details.code_point, codePoint, name);
              assert.match(err.message, new RegExp(codePoint.replace('+', '\\+')), name);
              return true;
            },
            name,
          );
        }
        for (const [name, input] of LOOKALIKES) {
          const holder = input === 'IIoyds' ? lloyds : acme;
          await assert.rejects(
            storage.transaction((tx) => createOrganisation(tx, { name: input }, META)),
            (err: { code: string; status: number; message: string; details: Record<string, unknown> }) => {
              assert.equal(err.code, 'confusable_name', `${name}: ${err.message}`);
              assert.equal(err.status, 409, name);
              assert.equal(err.details.organisation_id, holder, name);
              assert.ok(err.message.includes(holder), name);
              return true;
            },
            name,
          );
        }
        const same: Array<[string, string]> = [
          ['fail/other case', 'ACME BANK'],
          ['fail/no-break space', 'Acme\u00a0Bank'],
          ['fail/ideographic space', 'Acme\u3000Bank'],
          ['fail/runs of spaces', ' Acme \u2003 Bank '],
        ];
        for (const [name, input] of same) {
          await assert.rejects(
            storage.transaction((tx) => createOrganisation(tx, { name: input }, META)),
            { code: 'conflict', status: 409 },
            name,
          );
        }
        const mixed: Array<[string, string, string[]]> = [
          ['fail/Cyrillic а in a Latin word', 'P\u0430ypal Payments', ['Latin', 'Cyrillic']],
          ['fail/Greek ο in a Latin word', 'Gl\u03bfbex', ['Latin', 'Greek']],
          ['fail/Latin o in a Cyrillic word', 'Бaнк Mосква', ['Latin', 'Cyrillic']],
        ];
        for (const [name, input, scripts] of mixed) {
          await assert.rejects(
            storage.transaction((tx) => createOrganisation(tx, { name: input }, META)),
            { code: 'mixed_script_name', status: 400, details: { field: 'name', scripts } },
            name,
          );
        }
        assert.equal((await storage.db.selectFrom('organisations').selectAll().execute()).length, 2);
        assert.equal(
          (
            await storage.db
              .selectFrom('audit_log')
              .selectAll()
              .where('action', '!=', 'catalog.seed')
              .execute()
          ).length,
          2,
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/names in any one script, with accents or spaces of any kind, are kept as typed (NFC)', async () => {
      const storage = await seededStorage(target);
      try {
        const cases: Array<[string, string, string]> = [
          ['ok/Cyrillic', 'Банк Москва', 'Банк Москва'],
          ['ok/Han', '株式会社', '株式会社'],
          ['ok/Latin and Han in one word (UTS #39 highly restrictive)', 'Sony株式会社', 'Sony株式会社'],
          ['ok/Latin and Cyrillic in separate words', 'Sber Банк', 'Sber Банк'],
          ['ok/Greek', 'Τράπεζα Πειραιώς', 'Τράπεζα Πειραιώς'],
          ['ok/Arabic', 'بنك مصر', 'بنك مصر'],
          [
            'ok/accented Latin typed decomposed (NFD) is stored composed',
            'Cre\u0301dit Agricole',
            'Crédit Agricole',
          ],
          ['ok/a no-break space becomes a space', 'Banco\u00a0Santander', 'Banco Santander'],
        ];
        for (const [name, input, stored] of cases) {
          const id = await storage.transaction((tx) => createOrganisation(tx, { name: input }, META));
          const org = await getOrganisation(storage.db, id);
          assert.equal(org.name, stored, name);
          assert.equal(org.name, org.name.normalize('NFC'), name);
        }
        await assert.rejects(
          storage.transaction((tx) => createOrganisation(tx, { name: 'Crédit Agricole' }, META)),
          { code: 'conflict' },
          'fail/the composed form of an existing decomposed name is the same name',
        );
      } finally {
        await storage.close();
      }
    });

    test('fail/of concurrent creates of look-alike names exactly one succeeds', async () => {
      const storage = await seededStorage(target);
      try {
        const names = ['Acme Bank', 'Acrne Bank', 'ＡＣＭＥ ＢＡＮＫ', '𝐀𝐜𝐦𝐞 𝐁𝐚𝐧𝐤', 'ACME BANK'];
        const results = await Promise.allSettled(
          names.map((name) => storage.transaction((tx) => createOrganisation(tx, { name }, META))),
        );
        const created = results.filter((r) => r.status === 'fulfilled');
        assert.equal(created.length, 1, JSON.stringify(results.map((r) => r.status)));
        for (const r of results) {
          if (r.status === 'rejected')
            assert.match((r.reason as { code: string }).code, /^(confusable_name|conflict)$/);
        }
        assert.equal((await storage.db.selectFrom('organisations').selectAll().execute()).length, 1);
      } finally {
        await storage.close();
      }
    });

    test('fail/a look-alike committed after this create read the table is refused by the UNIQUE index with 409', {
      skip:
        target.name === 'sqlite'
          ? 'SQLite has a single writer: the second create reads after the first commits'
          : false,
    }, async () => {
      const storage = await seededStorage(target);
      try {
        let release = () => {};
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const first = storage.db.transaction().execute(async (trx) => {
          await createOrganisation(
            { db: trx, engine: storage.engine, published: [] },
            { name: 'Acme Bank' },
            META,
          );
          await gate;
        });
        await sleep(200);
        // The second create reads before the first commits, then waits on the index entry the first holds.
        const second = storage.transaction((tx) => createOrganisation(tx, { name: 'Acrne Bank' }, META));
        const refused = assert.rejects(second, {
          code: 'confusable_name',
          status: 409,
          message: /created at the same time/,
        });
        await sleep(500);
        release();
        await first;
        await refused;
      } finally {
        await storage.close();
      }
    });
  });
}
