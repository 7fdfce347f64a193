// Issue 15 monitoring: the live decision log (list, filters, paging, SSE stream), per-organisation traffic,
// client last-seen times, access reviews, and the audit log with its hash-chain verification — through the
// admin API with console sessions, decisions made by the real gateway of a started platform.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { sessionStore } from '../../src/console/index.ts';
import {
  type ConsolePlatform,
  call,
  makeMember,
  makeOperator,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';
import { createClientWithCert, type GatewayClient } from './support/monitoring.ts';

const DAY_MS = 86_400_000;

interface Item {
  id: number;
  at: string;
  door: string;
  decision: 'allow' | 'deny';
  reason: string;
  status: number;
  path: string;
  client_id: string | null;
  org_id: string | null;
  latency_ms: number;
}

/** Reads an SSE response until `done` says the collected text is enough (or the stream ends). */
async function readStream(
  body: AsyncIterable<Buffer>,
  done: (text: string) => boolean,
  onFirstChunk?: () => Promise<void>,
): Promise<string> {
  let text = '';
  let first = true;
  for await (const chunk of body) {
    text += chunk.toString('utf8');
    if (first) {
      first = false;
      await onFirstChunk?.();
    }
    if (done(text)) break;
  }
  return text;
}

const decisionEvents = (text: string) =>
  [...text.matchAll(/id: (\d+)\nevent: decision\ndata: (.*)\n\n/g)].map((m) => ({
    id: Number(m[1]),
    item: JSON.parse(m[2] as string) as Item,
  }));

describe('console monitoring API (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let admin: TestSession;
  let auditor: TestSession;
  let member: TestSession;
  let acme: GatewayClient;
  let globex: GatewayClient;
  let idleClientId: string;
  const streamUrl = (query = '') => `${cp.platform.urls.public}/admin/v1/decisions/stream${query}`;
  const openStream = (session: TestSession | undefined, query = '', headers: Record<string, string> = {}) =>
    request(streamUrl(query), {
      headers: { accept: 'text/event-stream', ...(session ? { cookie: session.cookie } : {}), ...headers },
      dispatcher: cp.agent,
      // A stream that never delivers what a test waits for fails the test instead of hanging it.
      signal: AbortSignal.timeout(15_000),
    });

  before(async () => {
    cp = await startConsolePlatform();
    admin = await sessionFor(cp, await makeOperator(cp, 'administrator'));
    auditor = await sessionFor(cp, await makeOperator(cp, 'auditor'));
    acme = await createClientWithCert(cp, 'Acme Monitoring Bank');
    globex = await createClientWithCert(cp, 'Globex Monitoring');
    member = await sessionFor(cp, await makeMember(cp, acme.orgId, 'org_admin'));
    idleClientId = (await createClientWithCert(cp, 'Idle Partner', { token: false })).clientId;
  });
  after(async () => {
    await acme?.close();
    await globex?.close();
    await cp?.stop();
  });

  test('ok/decisions: allowed and refused requests are listed newest first, filtered, paged', async () => {
    const ok1 = await acme.get('/v1/accounts');
    assert.equal(ok1.status, 200, ok1.text);
    const ok2 = await globex.get('/v1/accounts');
    assert.equal(ok2.status, 200, ok2.text);
    const refused = await acme.get('/v1/accounts', { token: false });
    assert.equal(refused.status, 401, refused.text);

    const all = await call(cp, admin, 'GET', '/admin/v1/decisions?limit=500');
    assert.equal(all.status, 200, all.text);
    const items = all.json.items as Item[];
    assert.ok(items.length >= 3);
    for (let i = 1; i < items.length; i++) assert.ok((items[i - 1] as Item).id > (items[i] as Item).id);
    assert.equal(items[0]?.decision, 'deny', 'the refused request came last, so it is first');
    assert.equal(items[0]?.status, 401);
    assert.ok(items[0]?.at);

    const acmeOnly = await call(cp, admin, 'GET', `/admin/v1/decisions?org_id=${acme.orgId}`);
    const acmeItems = acmeOnly.json.items as Item[];
    assert.ok(acmeItems.length >= 1);
    assert.ok(acmeItems.every((i) => i.org_id === acme.orgId && i.client_id === acme.clientId));

    const byClient = await call(cp, admin, 'GET', `/admin/v1/decisions?client_id=${globex.clientId}`);
    assert.ok((byClient.json.items as Item[]).every((i) => i.client_id === globex.clientId));
    assert.ok((byClient.json.items as Item[]).length >= 1);

    const reason = items[0]?.reason as string;
    const denials = await call(cp, admin, 'GET', `/admin/v1/decisions?decision=deny&reason=${reason}`);
    const denied = denials.json.items as Item[];
    assert.ok(denied.length >= 1);
    assert.ok(denied.every((i) => i.decision === 'deny' && i.reason === reason));
    const allows = await call(cp, admin, 'GET', '/admin/v1/decisions?decision=allow&door=gateway');
    assert.ok((allows.json.items as Item[]).every((i) => i.decision === 'allow' && i.door === 'gateway'));
    const otherDoor = await call(cp, admin, 'GET', '/admin/v1/decisions?door=ext_authz');
    assert.deepEqual(otherDoor.json.items, []);

    // Paging: limit 1, then before = next_before, until the end.
    const seen: number[] = [];
    let before: number | null | undefined;
    for (let n = 0; n < 50; n++) {
      const page = await call(
        cp,
        admin,
        'GET',
        `/admin/v1/decisions?limit=1${before ? `&before=${before}` : ''}`,
      );
      assert.equal(page.status, 200, page.text);
      seen.push(...(page.json.items as Item[]).map((i) => i.id));
      before = page.json.next_before;
      if (before === null) break;
    }
    assert.deepEqual(
      seen,
      items.map((i) => i.id),
    );
  });

  test('fail/decisions: bad filters are RFC 9457 problems', async () => {
    for (const query of [
      'decision=maybe',
      'limit=501',
      'limit=0',
      'before=abc',
      'reason=Not-A-Reason',
      'unknown=1',
    ]) {
      const res = await call(cp, admin, 'GET', `/admin/v1/decisions?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.equal(typeof res.json.code, 'string');
    }
  });

  test('fail/no token material ever appears in a decision item', async () => {
    const fake = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';
    const res = await acme.get('/v1/accounts', {
      token: false,
      headers: { authorization: `Bearer ${fake}` },
    });
    assert.equal(res.status, 401);
    const inPath = await acme.get(`/v1/accounts/${fake}?access_token=${fake}`, { token: false });
    assert.ok(inPath.status >= 400);
    await acme.get('/v1/accounts'); // and a real token, allowed
    const list = await call(cp, admin, 'GET', '/admin/v1/decisions?limit=500');
    assert.equal(list.status, 200);
    assert.doesNotMatch(list.text, /eyJ/);
    assert.doesNotMatch(list.text, new RegExp(acme.accessToken.slice(0, 40)));
  });

  test('ok/stream: the next matching decision arrives live; Last-Event-ID resumes', async () => {
    const res = await openStream(admin, `?org_id=${globex.orgId}`);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const text = await readStream(
      res.body,
      (t) => decisionEvents(t).length >= 1,
      async () => {
        // Another organisation's decision first (filtered out), then Globex's.
        await acme.get('/v1/accounts');
        await acme.get('/v1/accounts', { token: false });
        await globex.get('/v1/accounts');
      },
    );
    res.body.destroy();
    const [event] = decisionEvents(text);
    assert.ok(event);
    // Acme's decisions came first: the filter let only Globex's through.
    assert.equal(event.item.org_id, globex.orgId);
    assert.doesNotMatch(text, /eyJ/);

    // Resume: everything after an id still held, then live.
    const resumed = await openStream(admin, '', { 'last-event-id': String(event.id - 1) });
    assert.equal(resumed.statusCode, 200);
    const replay = await readStream(
      resumed.body,
      (t) => decisionEvents(t).length >= 2,
      async () => {
        await acme.get('/v1/accounts');
      },
    );
    resumed.body.destroy();
    const ids = decisionEvents(replay).map((e) => e.id);
    assert.deepEqual(ids.slice(0, 2), [event.id, event.id + 1]);
  });

  test('ok/stream: ends when the session ends (checked on the heartbeat)', async () => {
    const session = await sessionFor(cp, await makeOperator(cp, 'auditor'));
    const res = await openStream(session, '?heartbeat_seconds=1');
    assert.equal(res.statusCode, 200);
    const text = await readStream(
      res.body,
      () => false,
      async () => {
        await sessionStore(cp.platform.storage.db).revoke(session.secret, new Date());
      },
    );
    assert.match(text, /event: end\ndata: \{"reason":"session_ended"\}/);
    assert.equal((await openStream(session)).statusCode, 401);
  });

  test('fail/stream: beyond the maximum of concurrent streams → 429 problem', async () => {
    const open = [];
    try {
      for (let i = 0; i < 16; i++) {
        const res = await openStream(admin);
        assert.equal(res.statusCode, 200);
        open.push(res);
      }
      const refused = await openStream(admin);
      assert.equal(refused.statusCode, 429);
      const body = (await refused.body.json()) as { code: string };
      assert.equal(body.code, 'too_many_streams');
    } finally {
      for (const res of open) res.body.destroy();
    }
    // The closed streams free their places.
    for (let i = 0; i < 50 && cp.platform.decisionRecorder.subscribers() > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const again = await openStream(admin);
    assert.equal(again.statusCode, 200);
    again.body.destroy();
  });

  test('ok/stats: requests, denials and latency per organisation', async () => {
    const before = await call(cp, admin, 'GET', '/admin/v1/decisions/stats?minutes=60');
    assert.equal(before.status, 200, before.text);
    const acmeBefore = before.json.organisations.find((o: { org_id: string }) => o.org_id === acme.orgId);
    await acme.get('/v1/accounts');
    await acme.get('/v1/accounts');
    await acme.get('/v1/no-such-route');
    const after = await call(cp, admin, 'GET', '/admin/v1/decisions/stats?minutes=60');
    const acmeAfter = after.json.organisations.find((o: { org_id: string }) => o.org_id === acme.orgId);
    assert.ok(acmeAfter);
    assert.equal(acmeAfter.requests - (acmeBefore?.requests ?? 0), 3);
    assert.equal(acmeAfter.denials - (acmeBefore?.denials ?? 0), 1);
    assert.equal(acmeAfter.series.length, 60);
    assert.equal(typeof acmeAfter.p95_ms, 'number');
    assert.ok(acmeAfter.p95_ms >= acmeAfter.p50_ms);
    assert.ok(after.json.total.requests >= acmeAfter.requests + 1);
    assert.ok(after.json.total.denials >= 1);
    const reasons = after.json.denials_by_reason as Array<{ reason: string; count: number }>;
    assert.ok(
      reasons.some((r) => r.reason === 'route_not_found'),
      JSON.stringify(reasons),
    );
    assert.equal((await call(cp, admin, 'GET', '/admin/v1/decisions/stats?minutes=0')).status, 400);
    assert.equal((await call(cp, admin, 'GET', '/admin/v1/decisions/stats?minutes=1441')).status, 400);
  });

  test('ok/access reviews: role holders, inactive clients (after a flush), expiring certificates', async () => {
    await acme.get('/v1/accounts');
    await cp.platform.decisionRecorder.flush();
    const activity = await cp.platform.storage.db
      .selectFrom('client_activity')
      .selectAll()
      .where('client_id', '=', acme.clientId)
      .executeTakeFirst();
    assert.ok(activity, 'client_activity was written');
    assert.equal(activity.org_id, acme.orgId);
    assert.ok(activity.last_allowed_at);
    // The idle partner was created 40 days ago and never called.
    await cp.platform.storage.db
      .updateTable('applications')
      .set({ created_at: new Date(Date.now() - 40 * DAY_MS).toISOString() })
      .where('client_id', '=', idleClientId)
      .execute();

    const summary = await call(cp, auditor, 'GET', '/admin/v1/access-reviews');
    assert.equal(summary.status, 200, summary.text);
    const readerCount = (summary.json.roles as Array<{ role: string; holders: number }>).find(
      (r) => r.role === 'partner_reader',
    );
    assert.ok(readerCount && readerCount.holders >= 1, summary.text);
    assert.ok(summary.json.operators >= 2);

    const walk = async (path: string, limit = 1) => {
      const items: Array<Record<string, unknown>> = [];
      let cursor: string | null = null;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const res = await call(
          cp,
          auditor,
          'GET',
          `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(res.status, 200, res.text);
        assert.ok(res.json.items.length <= limit);
        items.push(...res.json.items);
        cursor = res.json.next_cursor;
      } while (cursor);
      return items;
    };

    const inactive = (await walk('/admin/v1/access-reviews/inactive-clients?inactive_days=30')) as Array<{
      client_id: string;
      last_seen_at: string | null;
      days_without_traffic: number;
    }>;
    const idle = inactive.find((c) => c.client_id === idleClientId);
    assert.ok(idle, 'the never-seen client created 40 days ago is inactive');
    assert.equal(idle.last_seen_at, null);
    assert.ok(idle.days_without_traffic >= 40);
    assert.ok(!inactive.some((c) => c.client_id === acme.clientId), 'a client seen now is not inactive');
    assert.equal(new Set(inactive.map((c) => c.client_id)).size, inactive.length, 'each client once');

    const readers = (await walk('/admin/v1/access-reviews/role-holders?role=partner_reader')) as Array<{
      role: string;
      client_id: string;
    }>;
    assert.ok(readers.some((h) => h.client_id === acme.clientId));
    assert.ok(readers.every((h) => h.role === 'partner_reader'));
    assert.equal(readers.length, readerCount.holders, 'the walk lists as many holders as the summary counts');

    const expiring = (await walk(
      '/admin/v1/access-reviews/expiring-certificates?expiring_days=3650',
    )) as Array<{
      client_id: string;
      kind: string;
    }>;
    assert.ok(expiring.some((c) => c.client_id === acme.clientId));
    const operators = (await walk('/admin/v1/access-reviews/operators')) as Array<{
      account_id: string;
      role: string;
      username: string;
    }>;
    assert.equal(operators.length, summary.json.operators);
    assert.equal(operators.find((o) => o.account_id === auditor.accountId)?.role, 'auditor');
    assert.equal(operators.find((o) => o.account_id === admin.accountId)?.role, 'administrator');
    assert.ok(operators.every((o) => typeof o.username === 'string'));

    const soon = await call(
      cp,
      admin,
      'GET',
      '/admin/v1/access-reviews/expiring-certificates?expiring_days=1',
    );
    assert.equal(soon.status, 200);
    assert.deepEqual(soon.json.items, []);
    assert.equal(soon.json.next_cursor, null);
    const longer = await call(cp, admin, 'GET', '/admin/v1/access-reviews/inactive-clients?inactive_days=60');
    assert.equal(longer.status, 200);
    assert.ok(!(longer.json.items as Array<{ client_id: string }>).some((c) => c.client_id === idleClientId));
  });

  test('fail/access reviews: bad days, limit and cursor are 400 problems', async () => {
    const bad = [
      '/admin/v1/access-reviews/inactive-clients?inactive_days=0',
      '/admin/v1/access-reviews/inactive-clients?inactive_days=3651',
      '/admin/v1/access-reviews/inactive-clients?inactive_days=ten',
      '/admin/v1/access-reviews/expiring-certificates?expiring_days=0',
      '/admin/v1/access-reviews/expiring-certificates?expiring_days=-1',
      '/admin/v1/access-reviews/role-holders?limit=0',
      '/admin/v1/access-reviews/operators?limit=1001',
      '/admin/v1/access-reviews/role-holders?cursor=not*a*cursor',
      `/admin/v1/access-reviews/inactive-clients?cursor=${Buffer.from('["x"]').toString('base64url')}`,
      `/admin/v1/access-reviews/operators?cursor=${Buffer.from('{"a":1}').toString('base64url')}`,
    ];
    for (const path of bad) {
      const res = await call(cp, auditor, 'GET', path);
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/, path);
    }
  });

  test('ok/audit: filters and newest-first paging', async () => {
    const res = await call(cp, auditor, 'GET', '/admin/v1/audit?actor=operator:test&order=desc&limit=1');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.items.length, 1);
    assert.equal(res.json.items[0].actor, 'operator:test');
    assert.equal(typeof res.json.next_before, 'number');
    const next = await call(
      cp,
      auditor,
      'GET',
      `/admin/v1/audit?actor=operator:test&before=${res.json.next_before}&limit=100`,
    );
    assert.ok(next.json.items.length >= 2);
    assert.ok(
      next.json.items.every(
        (e: { seq: number; actor: string }) => e.seq < res.json.next_before && e.actor === 'operator:test',
      ),
    );
    const byTarget = await call(cp, auditor, 'GET', `/admin/v1/audit?target_id=${acme.clientId}`);
    assert.ok(byTarget.json.items.length >= 1);
    assert.ok(byTarget.json.items.every((e: { target_id: string }) => e.target_id === acme.clientId));
    const byAction = await call(cp, auditor, 'GET', '/admin/v1/audit?action=organisation.create&order=desc');
    assert.ok(byAction.json.items.length >= 3);
    assert.ok(byAction.json.items.every((e: { action: string }) => e.action === 'organisation.create'));
    const future = await call(
      cp,
      auditor,
      'GET',
      `/admin/v1/audit?since=${new Date(Date.now() + DAY_MS).toISOString()}`,
    );
    assert.deepEqual(future.json.items, []);
    assert.equal((await call(cp, auditor, 'GET', '/admin/v1/audit?since=yesterday')).status, 400);
    // The older oldest-first form still answers as before.
    const legacy = await call(cp, auditor, 'GET', '/admin/v1/audit?limit=2');
    assert.equal(legacy.json.items[0].seq, 1);
  });

  test('fail/audit verify: an intact chain, then a tampered row is found', async () => {
    const intact = await call(cp, auditor, 'GET', '/admin/v1/audit/verify');
    assert.equal(intact.status, 200, intact.text);
    assert.equal(intact.json.ok, true);
    assert.ok(intact.json.entries > 3);
    const db = cp.platform.storage.db;
    const row = await db.selectFrom('audit_log').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
    await db.updateTable('audit_log').set({ details: '{"tampered":true}' }).where('seq', '=', 3).execute();
    try {
      const broken = await call(cp, auditor, 'GET', '/admin/v1/audit/verify');
      assert.equal(broken.json.ok, false);
      assert.equal(broken.json.brokenAt, 3);
    } finally {
      await db.updateTable('audit_log').set({ details: row.details }).where('seq', '=', 3).execute();
    }
    assert.equal((await call(cp, auditor, 'GET', '/admin/v1/audit/verify')).json.ok, true);
  });

  test('ok/e2e: an operator revokes a certificate and sees the next refused request in the decision log', async () => {
    const initech = await createClientWithCert(cp, 'Initech Revoked');
    try {
      assert.equal((await initech.get('/v1/accounts')).status, 200);
      // The gateway refuses a revoked certificate before the token is read; the decision line still names the
      // application and organisation the certificate was issued to, so operators can follow one organisation.
      const res = await openStream(admin, `?decision=deny&org_id=${initech.orgId}`);
      assert.equal(res.statusCode, 200);
      let refusedStatus = 0;
      const text = await readStream(
        res.body,
        (t) => decisionEvents(t).length >= 1,
        async () => {
          const revoked = await call(cp, admin, 'POST', `/admin/v1/certificates/${initech.serial}/revoke`, {
            reason: 'keyCompromise',
          });
          assert.equal(revoked.status, 200, revoked.text);
          refusedStatus = (await initech.get('/v1/accounts')).status;
        },
      );
      res.body.destroy();
      assert.equal(refusedStatus, 403);
      const [event] = decisionEvents(text);
      assert.equal(event?.item.decision, 'deny');
      assert.equal(event?.item.reason, 'certificate_revoked');
      assert.equal(event?.item.path, '/v1/accounts');
      assert.equal(event?.item.client_id, initech.clientId);
      assert.equal(event?.item.org_id, initech.orgId);
      const listed = await call(cp, auditor, 'GET', '/admin/v1/decisions?limit=1');
      assert.equal(listed.json.items[0].id, event?.id, 'it is the newest decision');
    } finally {
      await initech.close();
    }
  });

  test('fail/auth: no session → 401, a partner member → 401, an auditor reads everything', async () => {
    const paths = [
      '/admin/v1/decisions',
      '/admin/v1/decisions/stats',
      '/admin/v1/access-reviews',
      '/admin/v1/access-reviews/role-holders',
      '/admin/v1/access-reviews/operators',
      '/admin/v1/access-reviews/inactive-clients',
      '/admin/v1/access-reviews/expiring-certificates',
      '/admin/v1/audit?order=desc',
      '/admin/v1/audit/verify',
    ];
    for (const path of paths) {
      assert.equal((await call(cp, undefined, 'GET', path)).status, 401, path);
      assert.equal((await call(cp, member, 'GET', path)).status, 401, path);
      assert.equal((await call(cp, auditor, 'GET', path)).status, 200, path);
    }
    assert.equal((await openStream(undefined)).statusCode, 401);
    assert.equal((await openStream(member)).statusCode, 401);
    const auditorStream = await openStream(auditor);
    assert.equal(auditorStream.statusCode, 200);
    auditorStream.body.destroy();
  });
});
