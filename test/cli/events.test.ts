import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { opensslKeyAndRequest, PlatformProcess } from '../support/platform-process.ts';
import { SmtpSink } from '../support/smtp-sink.ts';

interface EventItem {
  seq: number;
  type: string;
  org_id: string | null;
  subject: { kind: string; id: string; purpose?: string };
  data: Record<string, unknown>;
}
interface ExpiringItem {
  kind: string;
  id: string;
  days_left: number;
  org_id: string | null;
  client_id: string | null;
  label: string;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

// keys.maxAgeDays 1: the keys `init` creates are due within a day, so the monitor's first pass at start raises
// key.expiring for each and the operators get mail; partner certificates of 10 days show in `expiring`.
describe('cli + admin API: accredit events list, accredit expiring', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;
  const sink = new SmtpSink();
  let agent: Agent;
  let operator: string;
  let clientId: string;

  const admin = async (path: string) => {
    const res = await request(`${platform.url}/admin/v1${path}`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${operator}` },
    });
    return {
      status: res.statusCode,
      type: String(res.headers['content-type']),
      body: (await res.body.json()) as Record<string, unknown>,
    };
  };

  before(async () => {
    const port = await sink.listen();
    platform = await PlatformProcess.create({
      ACCREDIT_KEYS_MAX_AGE_DAYS: '1',
      ACCREDIT_PARTNER_CERT_DAYS: '10',
      ACCREDIT_SMTP_HOST: '127.0.0.1',
      ACCREDIT_SMTP_PORT: String(port),
      ACCREDIT_SMTP_SECURITY: 'none',
      ACCREDIT_SMTP_FROM: 'accredit@platform.example',
      ACCREDIT_NOTIFICATIONS_OPERATORS: 'ops@platform.example',
    });
    await platform.start(['--init']);
    operator = readFileSync(join(platform.dir, 'operator-token'), 'utf8').trim();
    agent = new Agent({ connect: { ca: readFileSync(platform.caBundle, 'utf8') } });
    const org = json<{ id: string }>(
      (await platform.cli(['org', 'create', '--name', 'Expiry Bank', '--json'])).stdout,
    );
    const app = await platform.cli([
      'app',
      'create',
      '--org',
      org.id,
      '--name',
      'Payments',
      '--roles',
      'partner_reader',
      '--auth',
      'tls_client_auth',
      '--json',
    ]);
    assert.equal(app.code, 0, app.stderr);
    clientId = json<{ client_id: string }>(app.stdout).client_id;
    const key = join(platform.dir, 'p.key');
    const csr = join(platform.dir, 'p.csr');
    assert.equal((await opensslKeyAndRequest({ key, out: csr, subject: '/CN=x' })).code, 0);
    const issued = await platform.cli([
      'cert',
      'issue',
      '--app',
      clientId,
      '--csr',
      csr,
      '--out',
      join(platform.dir, 'p.crt'),
    ]);
    assert.equal(issued.code, 0, issued.stderr);
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    await agent?.close();
    await sink.close();
  });

  test('ok/the monitor ran at start: key.expiring for each platform key, listed with --json and as a table', async () => {
    const listed = await platform.cli(['events', 'list', '--type', 'key.expiring', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout, listed.stderr);
    const events = json<EventItem[]>(listed.stdout);
    assert.deepEqual(events.map((e) => e.subject.purpose).sort(), [
      'access_token',
      'federation',
      'software_statement',
    ]);
    assert.ok(events.every((e) => e.data.threshold === 1 && e.org_id === null));
    const table = await platform.cli(['events', 'list', '--type', 'key.expiring']);
    assert.match(table.stdout, /^SEQ +OCCURRED_AT +TYPE +ORG_ID +SUBJECT +DAYS_LEFT$/m);
    assert.match(table.stdout, /key\.expiring +key:\S+ +0/);
    // Followed with --after: nothing after the last one.
    const last = events.at(-1)!.seq;
    const afterLast = await platform.cli([
      'events',
      'list',
      '--type',
      'key.expiring',
      '--after',
      String(last),
      '--json',
    ]);
    assert.deepEqual(json<EventItem[]>(afterLast.stdout), []);
  });

  test('ok/operators were mailed about each key', async () => {
    for (let i = 0; i < 100 && sink.messages.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    const subjects = sink.messages.map((m) => m.subject).sort();
    assert.equal(subjects.length, 3, JSON.stringify(subjects));
    assert.match(subjects[0]!, /^\[Accredit\] Access token key .+ is due for rotation (today|in 1 day)$/);
    assert.match(subjects[1]!, /^\[Accredit\] Federation entity key /);
    assert.match(subjects[2]!, /^\[Accredit\] Software statement key /);
    assert.ok(sink.messages.every((m) => m.to.join() === 'ops@platform.example'));
  });

  test('ok/accredit events mail: the outbox as operators see it, without bodies', async () => {
    for (let i = 0; i < 100 && sink.messages.length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    const listed = await platform.cli(['events', 'mail', '--status', 'sent', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = json<Array<Record<string, unknown>>>(listed.stdout);
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => r.recipient === 'ops@platform.example' && r.event_type === 'key.expiring'));
    assert.ok(rows.every((r) => !('body' in r)));
    const failed = await platform.cli(['events', 'mail', '--status', 'failed', '--json']);
    assert.deepEqual(json<unknown[]>(failed.stdout), []);
    const res = await admin('/notifications/mail?status=lost');
    assert.equal(res.status, 400);
  });

  test('ok/accredit expiring: certificates and keys within the window, soonest first; --kind filters', async () => {
    const all = await platform.cli(['expiring', '--json']);
    assert.equal(all.code, 0, all.stderr);
    const items = json<ExpiringItem[]>(all.stdout);
    assert.deepEqual(items.map((i) => i.kind).sort(), [
      'access_token_key',
      'certificate',
      'federation_key',
      'software_statement_key',
    ]);
    const cert = items.find((i) => i.kind === 'certificate')!;
    assert.equal(cert.client_id, clientId);
    assert.equal(cert.label, 'Payments');
    assert.equal(cert.days_left, 9);
    const ca = await platform.cli([
      'expiring',
      '--within-days',
      '3650',
      '--kind',
      'ca_certificate',
      '--json',
    ]);
    assert.deepEqual(
      json<ExpiringItem[]>(ca.stdout).map((i) => i.kind),
      ['ca_certificate'],
      'the issuing CA (10 years) is within 3650 days, the root (20 years) is not',
    );
    const table = await platform.cli(['expiring', '--within-days', '5']);
    assert.match(table.stdout, /^KIND +ID +NOT_AFTER +DAYS_LEFT +ORG_ID +LABEL$/m);
    assert.doesNotMatch(table.stdout, /^certificate /m, 'the 10-day certificate is not within 5 days');
  });

  test('ok/GET /admin/v1/expiring pages: every item once, in the order of the whole list; fail/bad cursor', async () => {
    const whole = await admin('/expiring?within_days=3650&limit=1000');
    assert.equal(whole.status, 200, JSON.stringify(whole.body));
    const expected = (whole.body.items as ExpiringItem[]).map((i) => `${i.kind}:${i.id}`);
    assert.ok(expected.length >= 5, `partner certificate, CA and keys: ${expected.join()}`);
    assert.equal(whole.body.next_cursor, null);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await admin(`/expiring?within_days=3650&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...(page.body.items as ExpiringItem[]).map((i) => `${i.kind}:${i.id}`));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    assert.deepEqual(seen, expected);
    const certificates = await admin('/expiring?within_days=3650&kind=certificate&limit=1');
    assert.deepEqual(
      (certificates.body.items as ExpiringItem[]).map((i) => i.kind),
      ['certificate'],
    );
    assert.equal((await admin('/expiring?cursor=not*a*cursor')).status, 400);
    assert.equal((await admin('/expiring?limit=0')).status, 400);
    const cli = await platform.cli(['expiring', '--within-days', '3650', '--limit', '2', '--all', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(
      json<ExpiringItem[]>(cli.stdout).map((i) => `${i.kind}:${i.id}`),
      expected,
    );
  });

  test('ok/GET /admin/v1/events filters by org_id and type', async () => {
    const res = await admin('/events?type=key.expiring&limit=2');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body.items as unknown[]).length, 2);
    assert.equal(typeof res.body.last_seq, 'number');
    const none = await admin('/events?org_id=no-such-org');
    assert.deepEqual(none.body.items, []);
  });

  const bad: Array<[string, string]> = [
    ['fail/limit 0', '/events?limit=0'],
    ['fail/limit over 1000', '/events?limit=1001'],
    ['fail/unknown event type', '/events?type=certificate.exploded'],
    ['fail/negative after', '/events?after=-1'],
    ['fail/unknown parameter', '/events?foo=1'],
    ['fail/within_days 0', '/expiring?within_days=0'],
    ['fail/within_days not a number', '/expiring?within_days=soon'],
    ['fail/unknown kind', '/expiring?kind=passport'],
  ];
  for (const [name, path] of bad) {
    test(`${name}: 400 problem details (RFC 9457)`, async () => {
      const res = await admin(path);
      assert.equal(res.status, 400);
      assert.match(res.type, /application\/problem\+json/);
    });
  }

  test('fail/no operator token: 401', async () => {
    const res = await request(`${platform.url}/admin/v1/expiring`, { dispatcher: agent });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
  });

  test('fail/CLI: a bad number is one line, exit 2; --help works', async () => {
    const badNumber = await platform.cli(['expiring', '--within-days', 'soon']);
    assert.notEqual(badNumber.code, 0);
    assert.equal(badNumber.stderr.trim().split('\n').length, 1, badNumber.stderr);
    assert.match(badNumber.stderr, /--within-days: expected a whole number/);
    const help = await platform.cli(['events', 'list', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--after <seq>/);
    const expiringHelp = await platform.cli(['expiring', '--help']);
    assert.match(expiringHelp.stdout, /--within-days <n>/);
  });
});
