// Issue 16: cursor pagination on the lists that were still read whole — a partner's role requests, node join
// tokens and the notification outbox: every item exactly once across pages, the filters, the 400 problems.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { enqueueMail } from '../../src/audit/notifications/mail-outbox.ts';
import { createApplication, createOrganisation, createRoleRequest } from '../../src/directory/index.ts';
import {
  type ApiAnswer,
  type ConsolePlatform,
  call,
  makeMember,
  makeOperator,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from '../console/support/console-platform.ts';
import { engineTargets } from '../support/engines.ts';

/** Every page of `path` at `limit` rows: the ids in order, and how many pages it took. */
async function walk(
  cp: ConsolePlatform,
  session: TestSession,
  path: string,
  limit: number,
  idOf: (item: Record<string, unknown>) => string,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: ApiAnswer = await call(
      cp,
      session,
      'GET',
      `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    assert.equal(page.status, 200, page.text);
    assert.ok(page.json.items.length <= limit);
    ids.push(...page.json.items.map(idOf));
    cursor = page.json.next_cursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

async function assertRefusedPaging(cp: ConsolePlatform, session: TestSession, path: string): Promise<void> {
  const sep = path.includes('?') ? '&' : '?';
  for (const bad of [
    'cursor=not*a*cursor',
    `cursor=${Buffer.from('["x"]').toString('base64url')}`,
    'limit=0',
    'limit=1001',
  ]) {
    const res = await call(cp, session, 'GET', `${path}${sep}${bad}`);
    assert.equal(res.status, 400, `${bad}: ${res.text}`);
    assert.match(String(res.headers['content-type'] ?? ''), /application\/problem\+json/);
  }
}

describe('small lists, paged', () => {
  let cp: ConsolePlatform;
  let operator: TestSession;
  let orgA: string;
  let orgB: string;
  let memberA: TestSession;
  const requestIds: string[] = [];

  before(async () => {
    cp = await startConsolePlatform();
    operator = await sessionFor(cp, await makeOperator(cp, 'administrator'));
    const meta = { actor: 'test', now: new Date() };
    ({ orgA, orgB } = await cp.platform.storage.transaction(async (tx) => ({
      orgA: await createOrganisation(tx, { name: 'Paged Partner A', roles: ['partner_reader'] }, meta),
      orgB: await createOrganisation(tx, { name: 'Paged Partner B', roles: ['partner_reader'] }, meta),
    })));
    memberA = await sessionFor(cp, await makeMember(cp, orgA, 'viewer'));
    for (const [org, count] of [
      [orgA, 7],
      [orgB, 2],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const id = await cp.platform.storage.transaction(async (tx) => {
          const clientId = await createApplication(
            tx,
            { orgId: org, name: `app ${i}`, roles: ['partner_reader'], authMethod: 'tls_client_auth' },
            meta,
          );
          return (await createRoleRequest(tx, { orgId: org, clientId, role: 'partner_writer' }, meta)).id;
        });
        if (org === orgA) requestIds.push(id);
      }
    }
  });
  after(async () => {
    await cp?.stop();
  });

  test('partner role requests: every request of the organisation once, only its own', async () => {
    const path = `/partner/v1/organisations/${orgA}/role-requests`;
    const { ids, pages } = await walk(cp, memberA, path, 3, (r) => String(r.id));
    assert.equal(pages, 3);
    assert.deepEqual([...ids].sort(), [...requestIds].sort());
    assert.equal(new Set(ids).size, ids.length, 'no request twice');
    const pending = await walk(cp, memberA, `${path}?status=pending`, 100, (r) => String(r.id));
    assert.equal(pending.ids.length, 7);
    const none = await walk(cp, memberA, `${path}?status=approved`, 100, (r) => String(r.id));
    assert.equal(none.ids.length, 0);
    await assertRefusedPaging(cp, memberA, path);
  });

  test('notification outbox: pages newest first, status and event filters, never a body', async () => {
    const eventId = randomUUID();
    const base = Date.now();
    for (let i = 0; i < 5; i++) {
      await cp.platform.storage.transaction((tx) =>
        enqueueMail(
          tx,
          {
            eventId: i < 3 ? eventId : randomUUID(),
            eventType: 'certificate.expiring',
            recipient: `sec${i}@partner.example`,
            subject: `mail ${i}`,
            body: 'SECRET BODY',
          },
          new Date(base + i * 1000),
        ),
      );
    }
    const all = await walk(cp, operator, '/admin/v1/notifications/mail', 2, (m) => String(m.recipient));
    assert.deepEqual(
      all.ids,
      [4, 3, 2, 1, 0].map((i) => `sec${i}@partner.example`),
      'newest first, each once',
    );
    const ofEvent = await walk(cp, operator, `/admin/v1/notifications/mail?event_id=${eventId}`, 2, (m) =>
      String(m.recipient),
    );
    assert.equal(ofEvent.ids.length, 3);
    const page = await call(cp, operator, 'GET', '/admin/v1/notifications/mail?status=pending');
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes('SECRET BODY'), 'bodies are never listed');
    await assertRefusedPaging(cp, operator, '/admin/v1/notifications/mail');
  });
});

// Another node joins only a PostgreSQL platform: join tokens exist only there.
const postgres = (await engineTargets()).find((t) => t.name === 'postgres');
describe('join tokens, paged (PostgreSQL)', { skip: postgres?.skip ?? 'no PostgreSQL target' }, () => {
  let pg: ConsolePlatform;
  let pgOperator: TestSession;
  before(async () => {
    const options = (postgres as NonNullable<typeof postgres>).freshOptions();
    pg = await startConsolePlatform({
      ACCREDIT_DATABASE_URL: options.url,
      ACCREDIT_DATABASE_SCHEMA: options.schema ?? '',
    });
    pgOperator = await sessionFor(pg, await makeOperator(pg, 'administrator'));
  });
  after(async () => {
    await pg?.stop();
    await postgres?.cleanup();
  });

  test('join tokens: pages newest first, state filters', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(pg, pgOperator, 'POST', '/admin/v1/nodes/join-tokens', { ttl_seconds: 600 });
      assert.equal(res.status, 201, res.text);
      made.push(res.json.id);
    }
    const revoked = await call(pg, pgOperator, 'DELETE', `/admin/v1/nodes/join-tokens/${made[0]}`);
    assert.equal(revoked.status, 200, revoked.text);
    const all = await walk(pg, pgOperator, '/admin/v1/nodes/join-tokens', 2, (t) => String(t.id));
    assert.equal(all.pages, 3);
    assert.deepEqual([...all.ids].sort(), [...made].sort());
    const onlyRevoked = await walk(pg, pgOperator, '/admin/v1/nodes/join-tokens?state=revoked', 10, (t) =>
      String(t.id),
    );
    assert.deepEqual(onlyRevoked.ids, [made[0]]);
    const unused = await walk(pg, pgOperator, '/admin/v1/nodes/join-tokens?state=unused', 10, (t) =>
      String(t.id),
    );
    assert.equal(unused.ids.length, 4);
    const badState = await call(pg, pgOperator, 'GET', '/admin/v1/nodes/join-tokens?state=lost');
    assert.equal(badState.status, 400);
    await assertRefusedPaging(pg, pgOperator, '/admin/v1/nodes/join-tokens');
  });
});
