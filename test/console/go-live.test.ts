// Issue 15, the go-live gate: a sandbox application's certificate runs `accredit testplan run --report-to`
// against a started platform; the run is recorded for its organisation over mTLS, checked against what the
// gateway saw, shown to members and operators; going live needs a passed sandbox run of the organisation.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { Agent, request } from 'undici';
import { directoryEnforcementSnapshot } from '../../src/directory/index.ts';
import { untrustedCredential } from '../../src/testplan/credentials.ts';
import { csrWithKey } from '../gateway/fixture.ts';
import { CLI, type RunResult, run } from '../support/platform-process.ts';
import {
  type ConsolePlatform,
  call,
  launchChromium,
  makeMember,
  makeOperator,
  screenshot,
  seriousA11yViolations,
  sessionFor,
  signedInContext,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';

interface Client {
  clientId: string;
  orgId: string;
  serial: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

const CASES = [
  'mtls-handshake',
  'token-issued',
  'allowed-call',
  'missing-token',
  'garbage-token',
  'expired-token',
  'unbound-token',
  'insufficient-scope',
  'untrusted-certificate',
];

describe('test-plan runs and the go-live gate (issue 15)', { timeout: 150_000 }, () => {
  let cp: ConsolePlatform;
  let dir: string;
  let caFile: string;
  let operator: TestSession;
  let auditor: TestSession;
  let adminA: TestSession;
  let viewerA: TestSession;
  let adminB: TestSession;
  let orgA: string;
  let orgB: string;
  let sandboxA: Client;
  let productionA: Client;
  let sandboxB: Client;
  let passedRun: string;
  let productionRun: string;
  let browser: Browser | undefined;

  async function ok<T>(session: TestSession, method: string, path: string, body?: unknown): Promise<T> {
    const res = await call(cp, session, method, path, body);
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    return res.json as T;
  }

  async function client(orgId: string, environment: 'sandbox' | 'production'): Promise<Client> {
    const app = await ok<{ client_id: string }>(operator, 'POST', '/admin/v1/applications', {
      org_id: orgId,
      name: `${environment} app`,
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
    });
    // The directory's application API sets the environment (another part of issue 15); here, directly.
    await cp.platform.storage.db
      .updateTable('applications')
      .set({ environment })
      .where('client_id', '=', app.client_id)
      .execute();
    return certificateFor(app.client_id, orgId);
  }

  async function certificateFor(clientId: string, orgId: string): Promise<Client> {
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await ok<{ certificate_pem: string; serial: string }>(
      operator,
      'POST',
      `/admin/v1/applications/${clientId}/certificates`,
      { csr: csrPem },
    );
    const certFile = join(dir, `${cert.serial}.pem`);
    const keyFile = join(dir, `${cert.serial}.key`);
    writeFileSync(certFile, cert.certificate_pem);
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    return { clientId, orgId, serial: cert.serial, certFile, keyFile, certPem: cert.certificate_pem, keyPem };
  }

  const testplan = (c: Client, extra: string[] = []): Promise<RunResult> =>
    run(
      process.execPath,
      [
        CLI,
        'testplan',
        'run',
        '--issuer',
        cp.platform.urls.public,
        '--api',
        cp.platform.urls.gateway,
        '--cert',
        c.certFile,
        '--key',
        c.keyFile,
        '--client-id',
        c.clientId,
        '--ca',
        caFile,
        '--path',
        '/v1/accounts',
        '--forbidden-path',
        'POST /v1/payments',
        ...extra,
      ],
      { ACCREDIT_DIR: '', ACCREDIT_ISSUER: '', ACCREDIT_CA_BUNDLE: '' },
    );

  /** A report POSTed straight to the mTLS listener, with `credential` as the client certificate (or none). */
  async function submit(
    credential: { certPem: string; keyPem: string } | undefined,
    body: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
    method = 'POST',
    // biome-ignore lint/suspicious/noExplicitAny: test convenience.
  ): Promise<{ status: number; json: any; type: string }> {
    const agent = new Agent({
      connect: {
        ca: cp.platform.ca.chainPem,
        ...(credential ? { cert: credential.certPem, key: credential.keyPem } : {}),
      },
    });
    try {
      const res = await request(`${cp.platform.urls.mtls}/partner/v1/testplan-runs`, {
        method: method as 'POST',
        dispatcher: agent,
        headers,
        body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        json: text ? JSON.parse(text) : undefined,
        type: String(res.headers['content-type']),
      };
    } finally {
      await agent.close();
    }
  }

  /** A report claiming every case passed, for a window the gateway never saw this client in. */
  function forgedReport(minutesAgo = 30) {
    const started = new Date(Date.now() - minutesAgo * 60_000);
    return {
      tool: { name: 'accredit-testplan', version: '0.1.0' },
      started_at: started.toISOString(),
      finished_at: new Date(started.getTime() + 5_000).toISOString(),
      cases: CASES.map((id) => ({ id, title: id, status: 'pass', expected: '200', got: '200', ms: 5 })),
    };
  }

  before(async () => {
    cp = await startConsolePlatform();
    dir = mkdtempSync(join(tmpdir(), 'accredit-golive-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, cp.platform.ca.chainPem);
    operator = await sessionFor(cp, await makeOperator(cp, 'administrator'));
    auditor = await sessionFor(cp, await makeOperator(cp, 'auditor'));
    orgA = (await ok<{ id: string }>(operator, 'POST', '/admin/v1/organisations', { name: 'Alpha Bank' })).id;
    orgB = (await ok<{ id: string }>(operator, 'POST', '/admin/v1/organisations', { name: 'Beta Bank' })).id;
    adminA = await sessionFor(cp, await makeMember(cp, orgA, 'org_admin'));
    viewerA = await sessionFor(cp, await makeMember(cp, orgA, 'viewer'));
    adminB = await sessionFor(cp, await makeMember(cp, orgB, 'org_admin'));
    sandboxA = await client(orgA, 'sandbox');
    productionA = await client(orgA, 'production');
    sandboxB = await client(orgB, 'sandbox');
  });

  after(async () => {
    await browser?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('ok/a sandbox certificate runs the plan with --report-to: a passed run recorded for its organisation', async () => {
    const result = await testplan(sandboxA, ['--report-to', '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const out = JSON.parse(result.stdout) as { submission: { id: string; outcome: string; url: string } };
    assert.equal(out.submission.outcome, 'passed', result.stdout);
    // Discovered: the mTLS listener's base.
    assert.equal(out.submission.url, `${cp.platform.urls.mtls}/partner/v1/testplan-runs`);
    passedRun = out.submission.id;

    const list = await ok<{ items: Array<Record<string, string>> }>(
      viewerA,
      'GET',
      `/partner/v1/organisations/${orgA}/testplan-runs`,
    );
    const row = list.items.find((r) => r.id === passedRun);
    assert.ok(row, JSON.stringify(list));
    assert.equal(row.client_id, sandboxA.clientId);
    assert.equal(row.environment, 'sandbox');
    assert.equal(row.outcome, 'passed');
    const detail = await ok<{ report: { cases: Array<{ id: string }>; observed: Record<string, number> } }>(
      viewerA,
      'GET',
      `/partner/v1/organisations/${orgA}/testplan-runs/${passedRun}`,
    );
    assert.deepEqual(
      detail.report.cases.map((c) => c.id).filter((id) => CASES.includes(id)),
      CASES,
    );
    assert.ok(detail.report.observed.allowed! >= 1 && detail.report.observed.denied! >= 1);

    // Operators (and auditors) see it too.
    const all = await ok<{ items: Array<{ id: string }> }>(
      auditor,
      'GET',
      `/admin/v1/testplan-runs?org_id=${orgA}&outcome=passed`,
    );
    assert.deepEqual(
      all.items.map((r) => r.id),
      [passedRun],
    );
    // The admin routes are in the OpenAPI document.
    const doc = await call(cp, undefined, 'GET', '/admin/v1/openapi.json');
    assert.ok(doc.json.paths['/admin/v1/testplan-runs'], Object.keys(doc.json.paths).join(' '));
    assert.ok(doc.json.paths['/admin/v1/organisations/{orgId}/go-live'].delete);
    const one = await ok<{ id: string; org_name: string }>(
      operator,
      'GET',
      `/admin/v1/testplan-runs/${passedRun}`,
    );
    assert.equal(one.org_name, 'Alpha Bank');
    const status = await ok<{ eligible_run_id: string; sandbox_applications: Array<{ client_id: string }> }>(
      viewerA,
      'GET',
      `/partner/v1/organisations/${orgA}/go-live`,
    );
    assert.equal(status.eligible_run_id, passedRun);
    assert.deepEqual(
      status.sandbox_applications.map((a) => a.client_id),
      [sandboxA.clientId],
    );
  });

  test('ok/the enforcement snapshot and change feed carry each application’s environment (issue 15)', async () => {
    const snapshot = await directoryEnforcementSnapshot(cp.platform.storage.db);
    const env = new Map(snapshot.applications.map((a) => [a.clientId, a.environment]));
    assert.equal(env.get(sandboxA.clientId), 'sandbox');
    assert.equal(env.get(productionA.clientId), 'production');
    const change = await cp.platform.storage.db
      .selectFrom('change_feed')
      .select('payload')
      .where('kind', '=', 'app.registered')
      .where('entity_id', '=', productionA.clientId)
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(change.payload).environment, 'production');
  });

  test('ok/a production application’s run is recorded as production (it cannot open the gate)', async () => {
    const result = await testplan(productionA, ['--report-to', cp.platform.urls.mtls, '--json']);
    const out = JSON.parse(result.stdout) as { submission: { id: string } };
    productionRun = out.submission.id;
    const run = await ok<{ environment: string }>(
      adminA,
      'GET',
      `/partner/v1/organisations/${orgA}/testplan-runs/${productionRun}`,
    );
    assert.equal(run.environment, 'production');
  });

  test('fail/a forged "all passed" report whose window the gateway never saw is recorded as failed', async () => {
    const res = await submit(sandboxA, forgedReport());
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.outcome, 'failed');
    assert.ok(
      res.json.reasons.some((r: string) => /saw no allowed request/.test(r)),
      JSON.stringify(res.json),
    );
    const run = await ok<{ outcome: string; report: { reasons: string[]; observed: { allowed: number } } }>(
      adminA,
      'GET',
      `/partner/v1/organisations/${orgA}/testplan-runs/${res.json.id}`,
    );
    assert.equal(run.outcome, 'failed');
    assert.equal(run.report.observed.allowed, 0);
    assert.ok(run.report.reasons.length >= 2);
  });

  test('fail/a report with a failed or missing required case is failed', async () => {
    const report = forgedReport(0);
    report.cases = report.cases.filter((c) => c.id !== 'untrusted-certificate');
    report.cases[0]!.status = 'fail';
    const res = await submit(sandboxA, report);
    assert.equal(res.status, 201);
    assert.equal(res.json.outcome, 'failed');
    assert.ok(res.json.reasons.includes('required case untrusted-certificate is missing'));
    assert.ok(res.json.reasons.includes('required case mtls-handshake did not pass (fail)'));
  });

  test('fail/--report-to must be an https URL (usage error before any request)', async () => {
    const result = await testplan(sandboxA, ['--report-to', 'http://localhost:1/']);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /--report-to: 'http:\/\/localhost:1\/' must be an https URL/);
  });

  test('fail/a refused submission makes the CLI fail and says why', async () => {
    // The platform's public listener is not the mTLS listener: no such route there.
    const result = await testplan(sandboxA, ['--report-to', `${cp.platform.urls.public}/nowhere`]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /report: the report was not accepted by/);
  });

  test('fail/without a client certificate the submission is refused', async () => {
    const res = await submit(undefined, forgedReport());
    assert.equal(res.status, 401);
    assert.equal(res.json.code, 'certificate_required');
    assert.match(res.type, /application\/problem\+json/);
  });

  test('fail/an untrusted or revoked certificate cannot submit', async () => {
    const untrusted = await submit(await untrustedCredential(sandboxA.clientId), forgedReport());
    assert.equal(untrusted.status, 403);
    assert.equal(untrusted.json.code, 'certificate_untrusted');
    const second = await certificateFor(sandboxA.clientId, orgA);
    await ok(operator, 'POST', `/admin/v1/certificates/${second.serial}/revoke`, {});
    const revoked = await submit(second, forgedReport());
    assert.equal(revoked.status, 403);
    assert.equal(revoked.json.code, 'certificate_revoked');
  });

  test('ok/another organisation’s certificate records the run for that organisation only', async () => {
    const res = await submit(sandboxB, forgedReport());
    assert.equal(res.status, 201);
    const b = await ok<{ items: Array<{ id: string }> }>(
      adminB,
      'GET',
      `/partner/v1/organisations/${orgB}/testplan-runs`,
    );
    assert.deepEqual(
      b.items.map((r) => r.id),
      [res.json.id],
    );
    const a = await ok<{ items: Array<{ id: string }> }>(
      adminA,
      'GET',
      `/partner/v1/organisations/${orgA}/testplan-runs`,
    );
    assert.ok(!a.items.some((r) => r.id === res.json.id));
    // Org A's member cannot read it by id; nor can it go live with it.
    const byId = await call(
      cp,
      adminA,
      'GET',
      `/partner/v1/organisations/${orgA}/testplan-runs/${res.json.id}`,
    );
    assert.equal(byId.status, 404);
    const live = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/go-live`, {
      run_id: res.json.id,
    });
    assert.equal(live.status, 404);
  });

  test('fail/invalid, oversize and wrongly typed bodies are RFC 9457 problems, nothing recorded', async () => {
    const before = await cp.platform.storage.db
      .selectFrom('testplan_runs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const bad = forgedReport();
    (bad.cases[1] as { status: string }).status = 'passed-ish';
    const invalid = await submit(sandboxA, { ...bad, extra: 1 });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.code, 'invalid_report');
    assert.ok(invalid.json.errors.includes('/extra: unknown property'));
    assert.ok(invalid.json.errors.includes('/cases/1/status: must be pass, fail or skip'));
    const backwards = forgedReport();
    backwards.finished_at = new Date(Date.parse(backwards.started_at) - 1000).toISOString();
    const times = await submit(sandboxA, backwards);
    assert.equal(times.status, 400);
    assert.match(times.json.detail, /before started_at/);
    const many = forgedReport();
    many.cases = Array.from({ length: 201 }, (_, i) => ({ ...many.cases[0]!, id: `case-${i}` }));
    assert.equal((await submit(sandboxA, many)).status, 400);
    assert.equal((await submit(sandboxA, '{not json')).json.code, 'invalid_json');
    const big = forgedReport();
    big.cases[0]!.got = 'x'.repeat(300 * 1024);
    const oversize = await submit(sandboxA, big);
    assert.equal(oversize.status, 413);
    assert.equal(oversize.json.code, 'request_too_large');
    const type = await submit(sandboxA, forgedReport(), { 'content-type': 'text/plain' });
    assert.equal(type.status, 415);
    assert.equal((await submit(sandboxA, undefined, {}, 'GET')).status, 405);
    const after = await cp.platform.storage.db
      .selectFrom('testplan_runs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(after.n), Number(before.n));
  });

  test('fail/object level: another organisation’s member gets 404, a viewer cannot go live', async () => {
    for (const path of [
      `/partner/v1/organisations/${orgA}/testplan-runs`,
      `/partner/v1/organisations/${orgA}/testplan-runs/${passedRun}`,
      `/partner/v1/organisations/${orgA}/go-live`,
    ]) {
      assert.equal((await call(cp, adminB, 'GET', path)).status, 404, path);
    }
    const cross = await call(cp, adminB, 'POST', `/partner/v1/organisations/${orgA}/go-live`, {
      run_id: passedRun,
    });
    assert.equal(cross.status, 404);
    // Org B's admin cannot use org A's run for org B either.
    const foreign = await call(cp, adminB, 'POST', `/partner/v1/organisations/${orgB}/go-live`, {
      run_id: passedRun,
    });
    assert.equal(foreign.status, 404);
    const viewer = await call(cp, viewerA, 'POST', `/partner/v1/organisations/${orgA}/go-live`, {
      run_id: passedRun,
    });
    assert.equal(viewer.status, 403);
    assert.equal(viewer.json.code, 'insufficient_member_role');
  });

  test('fail/going live with a failed run or a production run is refused', async () => {
    const failed = await ok<{ items: Array<{ id: string }> }>(
      adminA,
      'GET',
      `/partner/v1/organisations/${orgA}/testplan-runs?outcome=failed`,
    );
    assert.ok(failed.items.length > 0);
    const withFailed = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/go-live`, {
      run_id: failed.items[0]!.id,
    });
    assert.equal(withFailed.status, 409);
    assert.match(withFailed.json.detail, /did not pass/);
    const withProduction = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/go-live`, {
      run_id: productionRun,
    });
    assert.equal(withProduction.status, 409, withProduction.text);
    assert.match(withProduction.json.detail, /sandbox/);
    const bad = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/go-live`, { run: 'x' });
    assert.equal(bad.status, 400);
  });

  test('ok/going live with the passed sandbox run, audited; again is 409; an operator takes it back', async () => {
    const live = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/go-live`, {
      run_id: passedRun,
    });
    assert.equal(live.status, 200, live.text);
    assert.ok(live.json.live_at);
    assert.equal(live.json.live_run_id, passedRun);
    const again = await call(cp, adminA, 'POST', `/partner/v1/organisations/${orgA}/go-live`, {
      run_id: passedRun,
    });
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'already_live');
    const audit = await cp.platform.storage.db
      .selectFrom('audit_log')
      .select(['actor', 'details'])
      .where('action', '=', 'organisation.live')
      .where('target_id', '=', orgA)
      .execute();
    assert.equal(audit.length, 1);
    assert.match(audit[0]!.actor, /^account:/);
    assert.equal(JSON.parse(audit[0]!.details).run_id, passedRun);
    const liveList = await ok<{ items: Array<{ id: string }> }>(auditor, 'GET', '/admin/v1/go-live');
    assert.deepEqual(
      liveList.items.map((o) => o.id),
      [orgA],
    );

    // Auditors read only; administrators take the go-live back (audited); a second time is 409.
    assert.equal((await call(cp, auditor, 'DELETE', `/admin/v1/organisations/${orgA}/go-live`)).status, 403);
    const revoked = await call(
      cp,
      operator,
      'DELETE',
      `/admin/v1/organisations/${orgA}/go-live?reason=review`,
    );
    assert.equal(revoked.status, 204, revoked.text);
    const status = await ok<{ live_at: string | null }>(
      adminA,
      'GET',
      `/partner/v1/organisations/${orgA}/go-live`,
    );
    assert.equal(status.live_at, null);
    const revokedAudit = await cp.platform.storage.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'organisation.live_revoked')
      .where('target_id', '=', orgA)
      .execute();
    assert.equal(revokedAudit.length, 1);
    assert.equal(JSON.parse(revokedAudit[0]!.details).reason, 'review');
    assert.equal((await call(cp, operator, 'DELETE', `/admin/v1/organisations/${orgA}/go-live`)).status, 409);
    assert.equal(
      (await call(cp, operator, 'DELETE', '/admin/v1/organisations/no-such-org/go-live')).status,
      404,
    );
  });

  /**
   * `GET /console/api/session` (the sign-in part of issue 15, built elsewhere) answered in the browser with
   * what it returns for this session: the page's API calls still go to the real APIs with the real cookie.
   */
  async function sessionView(
    context: BrowserContext,
    session: TestSession,
    view: { operator: 'administrator' | 'auditor' | null; orgId?: string; orgName?: string },
  ): Promise<void> {
    await context.route('**/console/api/session', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          account: { id: session.accountId, username: 'tester', name: 'Tester', email: null },
          operator: view.operator,
          memberships: view.orgId
            ? [{ orgId: view.orgId, orgName: view.orgName, orgStatus: 'active', role: 'org_admin' }]
            : [],
          csrfToken: session.csrf,
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      }),
    );
  }

  test('ok/browser: the partner test-plan page and the operator go-live page', async () => {
    browser = await launchChromium();
    const partner = await signedInContext(browser, cp, adminA);
    await sessionView(partner, adminA, { operator: null, orgId: orgA, orgName: 'Alpha Bank' });
    const page = await partner.newPage();
    await page.goto(`${cp.platform.urls.public}/console/orgs/${orgA}/test-plan`);
    await page.getByRole('heading', { level: 1, name: 'Test plan & go-live' }).waitFor();
    await page.getByText('--report-to').first().waitFor();
    await page.getByRole('table', { name: /test-plan runs/i }).waitFor();
    assert.ok(await page.getByText(sandboxA.clientId).first().isVisible());
    await page.getByRole('button', { name: 'Go live' }).waitFor();
    await screenshot(page, 'go-live-partner-test-plan');
    assert.deepEqual(await seriousA11yViolations(page), []);
    // The run's cases.
    await page.getByRole('button', { name: `Cases of ${passedRun}` }).click();
    await page.getByRole('table', { name: /cases of run/i }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByRole('button', { name: 'Go live' }).click();
    await page
      .getByText(/live since/i)
      .first()
      .waitFor();
    await screenshot(page, 'go-live-partner-live');
    await partner.close();

    const ops = await signedInContext(browser, cp, operator);
    await sessionView(ops, operator, { operator: 'administrator' });
    const opsPage = await ops.newPage();
    await opsPage.goto(`${cp.platform.urls.public}/console/operator/go-live`);
    await opsPage.getByRole('heading', { level: 1, name: 'Go-live' }).waitFor();
    await opsPage.getByRole('table', { name: /live organisations/i }).waitFor();
    await opsPage.getByRole('table', { name: /test-plan runs/i }).waitFor();
    await screenshot(opsPage, 'go-live-operator');
    assert.deepEqual(await seriousA11yViolations(opsPage), []);
    await opsPage.getByRole('button', { name: 'Revoke go-live of Alpha Bank' }).click();
    await opsPage.getByRole('button', { name: 'Confirm revoking' }).click();
    await opsPage.getByText('No organisation is live.').waitFor();
    await ops.close();
  });
});
