// Issue 16: "cursor pagination and filters on every list". Every GET operation of the admin and partner OpenAPI
// documents that answers a collection (`items: [...]`) takes `limit` and `cursor` and answers `next_cursor`, so a
// list added later without them fails here, naming it. The exceptions are lists bounded by configuration, not by
// data, each with its reason.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ConsolePlatform,
  call,
  makeOperator,
  sessionFor,
  startConsolePlatform,
} from '../console/support/console-platform.ts';

/** Lists whose length the platform's configuration or the standards bound, not partners or operators. */
const BOUNDED: Record<string, string> = {
  'admin GET /admin/v1/federation/keys':
    "the platform's own federation signing keys: the active one and the retired",
  'admin GET /admin/v1/federation/trust-mark-types':
    "the Trust Mark types named in the platform's configuration",
};

/** Lists whose documents declare no 200 schema: each must still take limit and cursor. */
const UNDECLARED_LISTS = [
  'admin GET /admin/v1/certificates',
  'admin GET /admin/v1/users',
  'admin GET /admin/v1/grants',
  'admin GET /admin/v1/operator-accounts',
  'admin GET /admin/v1/organisations/{id}/invitations',
  'admin GET /admin/v1/organisations/{id}/members',
  'admin GET /admin/v1/catalog/scopes',
  'admin GET /admin/v1/catalog/roles',
  'admin GET /admin/v1/catalog/resources',
  'admin GET /admin/v1/catalog/revisions',
  'admin GET /admin/v1/audit',
  'admin GET /admin/v1/events',
  'admin GET /admin/v1/notifications/mail',
  'admin GET /admin/v1/expiring',
  'partner GET /partner/v1/organisations/{orgId}/members',
  'partner GET /partner/v1/organisations/{orgId}/invitations',
];

interface Operation {
  parameters?: Array<{ name: string; in: string }>;
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}

function collections(doc: { paths: Record<string, Record<string, Operation>> }) {
  const out: Array<{ route: string; op: Operation }> = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    const get = ops.get;
    const schema = get?.responses?.['200']?.content?.['application/json']?.schema;
    if (get && schema?.properties?.items?.type === 'array') out.push({ route: `GET ${path}`, op: get });
  }
  return out;
}

describe('every list is paged', () => {
  let cp: ConsolePlatform;
  before(async () => {
    cp = await startConsolePlatform();
  });
  after(async () => {
    await cp?.stop();
  });

  for (const api of ['admin', 'partner'] as const) {
    test(`${api} API: every collection takes limit and cursor and answers next_cursor`, async () => {
      const operator = await sessionFor(cp, await makeOperator(cp, 'administrator'));
      const answer = await call(cp, operator, 'GET', `/${api}/v1/openapi.json`);
      assert.equal(answer.status, 200, answer.text);
      const lists = collections(answer.json);
      assert.ok(lists.length >= 5, `found only ${lists.length} lists: the document's shape changed?`);
      const unpaged: string[] = [];
      for (const { route, op } of lists) {
        const key = `${api} ${route}`;
        if (BOUNDED[key]) continue;
        const query = new Set((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
        const schema = op.responses?.['200']?.content?.['application/json']?.schema;
        const missing = [
          ...(query.has('limit') ? [] : ['limit']),
          ...(query.has('cursor') ? [] : ['cursor']),
          ...(schema?.properties?.next_cursor ? [] : ['next_cursor']),
        ];
        if (missing.length > 0) unpaged.push(`${key} (no ${missing.join(', ')})`);
      }
      for (const key of UNDECLARED_LISTS.filter((k) => k.startsWith(`${api} `))) {
        const path = key.slice(`${api} GET `.length);
        const op = answer.json.paths[path]?.get as Operation | undefined;
        const query = new Set((op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
        if (!op) unpaged.push(`${key} (not in the document)`);
        else if (!query.has('limit') || !query.has('cursor')) unpaged.push(`${key} (no limit or cursor)`);
      }
      // Any operation that takes a limit pages with a cursor too (no "first N only" lists).
      for (const [path, ops] of Object.entries(
        answer.json.paths as Record<string, Record<string, Operation>>,
      )) {
        const query = new Set((ops.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
        // The decision log pages backwards from the newest (`before` = next_before of the previous page).
        const cursorName = path === '/admin/v1/decisions' ? 'before' : 'cursor';
        if (query.has('limit') && !query.has(cursorName))
          unpaged.push(`${api} GET ${path} (a limit without a cursor)`);
      }
      assert.deepEqual(unpaged, [], `lists without cursor pagination:\n${unpaged.join('\n')}`);
    });
  }
});
