// Issue 15, done-when: the whole onboarding through the web console, in Debian's Chromium against a real
// `accredit serve`. An operator signs in through the platform's own authorization server and creates the
// partner organisation; an invited partner member creates an account, signs in, creates a sandbox application,
// generates its key in the browser and receives the certificate, runs the test plan against the sandbox
// (`accredit testplan run --report-to`), passes the go-live gate and asks for production access; the operator
// approves the role, the production client calls the API, the operator revokes its certificate and sees the
// next refused request in the live decision log. Every main page is screenshotted (dist/screenshots/e2e-*) and
// checked with axe-core; no page may need anything the CSP forbids.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Agent, request } from 'undici';
import {
  launchChromium,
  PASSWORD,
  screenshot,
  seriousA11yViolations,
} from '../console/support/console-platform.ts';
import { CLI, PlatformProcess, run } from '../support/platform-process.ts';

const ORG = 'Acme Payments Ltd';

describe('console onboarding end to end (issue 15)', { timeout: 300_000 }, () => {
  let platform: PlatformProcess;
  let browser: Browser;
  let operatorContext: BrowserContext;
  let partnerContext: BrowserContext;
  let operator: Page;
  let partner: Page;
  let orgId: string;
  const cspViolations: string[] = [];
  const accessibility: Record<string, unknown[]> = {};
  const state: {
    sandbox?: { clientId: string; key: string; cert: string };
    production?: { clientId: string; key: string; cert: string; serial: string };
    token?: string;
  } = {};

  async function newPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text())) cspViolations.push(m.text());
    });
    return page;
  }

  /** Waits for the page's h1, takes its screenshot and runs axe on it. */
  async function checkPage(page: Page, heading: string | RegExp, name: string): Promise<void> {
    await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 20_000 });
    // Loaded: no "Loading …" status left on the page (the screenshot and axe see the real content).
    const loading = page.getByRole('status').filter({ hasText: /^Loading / });
    for (let i = 0; i < 200 && (await loading.count()) > 0; i++) await setTimeout(100);
    assert.equal(await loading.count(), 0, `${name} still loading`);
    await screenshot(page, `e2e-${name}`);
    const violations = await seriousA11yViolations(page);
    if (violations.length > 0) accessibility[name] = violations;
  }

  /** The authorization server's own login page, reached from the console's Sign in. */
  async function signIn(page: Page, username: string): Promise<void> {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Signed in as').waitFor({ timeout: 20_000 });
  }

  /** Follows a link of the main navigation (pages link to each other too). */
  async function nav(page: Page, name: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  }

  async function saveDownload(page: Page, button: string, file: string): Promise<string> {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: button, exact: true }).click(),
    ]);
    const path = join(platform.dir, file);
    await download.saveAs(path);
    return path;
  }

  /** A client-credentials token at the mTLS token endpoint, then a call through the gateway, with a key pair. */
  async function mtlsAgent(certFile: string, keyFile: string): Promise<Agent> {
    return new Agent({
      connect: {
        cert: readFileSync(certFile, 'utf8'),
        key: readFileSync(keyFile, 'utf8'),
        ca: readFileSync(platform.caBundle, 'utf8'),
      },
    });
  }

  before(async () => {
    platform = await PlatformProcess.create({ ACCREDIT_METRICS_ENABLED: 'false' });
    const init = await platform.cli(['init', '--json']);
    assert.equal(init.code, 0, init.stderr);
    await platform.start();
    // The operator's account, as an operator would make it on the platform host.
    const passwordFile = join(platform.dir, 'password');
    writeFileSync(passwordFile, PASSWORD, { mode: 0o600 });
    const added = await platform.cli(['user', 'add', 'ops-lead', '--password-file', passwordFile]);
    assert.equal(added.code, 0, added.stderr);
    const granted = await platform.cli(['operator', 'grant', 'ops-lead', '--role', 'administrator']);
    assert.equal(granted.code, 0, granted.stderr);
    browser = await launchChromium();
    operatorContext = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    partnerContext = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    operator = await newPage(operatorContext);
    partner = await newPage(partnerContext);
  });

  after(async () => {
    await browser?.close();
    await platform?.stop();
    platform?.cleanup();
  });

  test('1 operator signs in through the platform and creates the partner organisation', async () => {
    await operator.goto(`${platform.url}/console/`);
    await checkPage(operator, 'Sign in to Accredit', 'sign-in');
    await operator.getByRole('link', { name: 'Sign in' }).click();
    await signIn(operator, 'ops-lead');
    await checkPage(operator, 'Overview', 'operator-overview');
    const cookies = await operatorContext.cookies();
    const session = cookies.find((c) => c.name === '__Host-accredit-session');
    assert.ok(session?.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(session));

    await nav(operator, 'Organisations');
    await checkPage(operator, 'Organisations', 'operator-organisations');
    await operator.getByLabel('Name').fill(ORG);
    await operator.getByRole('button', { name: 'Create organisation' }).click();
    await operator.getByRole('link', { name: ORG }).click();
    await checkPage(operator, ORG, 'operator-organisation');
    orgId = operator.url().split('/').pop() ?? '';
    assert.match(orgId, /^[0-9a-f-]{36}$/);
  });

  test('2 an invited partner administrator creates an account and signs in', async () => {
    const invite = await platform.cli(['org', 'invite', '--org', orgId, '--role', 'org_admin', '--json']);
    assert.equal(invite.code, 0, invite.stderr);
    const { url } = JSON.parse(invite.stdout) as { url: string };
    assert.ok(url.startsWith(`${platform.url}/console/invite/`), url);
    await partner.goto(url);
    await checkPage(partner, `Join ${ORG}`, 'invite');
    await partner.getByLabel('Username').fill('ada');
    await partner.getByLabel('Password').fill(PASSWORD);
    await partner.getByRole('button', { name: 'Create account and join' }).click();
    await partner.getByRole('heading', { level: 1, name: 'Your account is ready' }).waitFor();
    await partner.getByRole('link', { name: 'Sign in' }).click();
    await signIn(partner, 'ada');
    await checkPage(partner, ORG, 'partner-overview');
    // A second use of the one-time link is refused.
    const again = await request(`${platform.url}/console/api/invitations/${url.split('/').pop()}`, {
      dispatcher: new Agent({ connect: { ca: readFileSync(platform.caBundle, 'utf8') } }),
    });
    assert.equal(again.statusCode, 410);
    await again.body.dump();
  });

  test('3 the partner creates a sandbox application, makes its key in the browser, gets the certificate', async () => {
    const sent: string[] = [];
    partner.on('request', (r) => sent.push(r.postData() ?? ''));
    await nav(partner, 'Applications');
    await checkPage(partner, 'Applications', 'partner-applications');
    await partner.getByLabel('Name', { exact: true }).fill('Acme Sandbox');
    await partner.getByRole('checkbox', { name: /partner_reader/ }).check();
    await partner.getByRole('button', { name: 'Create application' }).click();
    await checkPage(partner, 'Acme Sandbox', 'partner-application');
    const clientId = partner.url().split('/').pop() ?? '';
    await partner.getByRole('button', { name: 'Generate key and request certificate' }).click();
    await partner.getByText(/Certificate [0-9a-f]+ issued/).waitFor({ timeout: 30_000 });
    await screenshot(partner, 'e2e-partner-certificate');
    const key = await saveDownload(partner, 'Save private key (PEM)', 'sandbox.key');
    const cert = await saveDownload(partner, 'Download certificate', 'sandbox.crt');
    assert.match(readFileSync(key, 'utf8'), /BEGIN PRIVATE KEY/);
    assert.match(readFileSync(cert, 'utf8'), /BEGIN CERTIFICATE/);
    assert.ok(!sent.some((body) => body.includes('PRIVATE KEY')), 'the private key never left the browser');
    state.sandbox = { clientId, key, cert };
  });

  test('4 the test plan passes against the sandbox and the partner goes live', async () => {
    const sandbox = state.sandbox!;
    const result = await run(
      process.execPath,
      [
        CLI,
        'testplan',
        'run',
        '--issuer',
        platform.url,
        '--api',
        platform.gatewayUrl,
        '--cert',
        sandbox.cert,
        '--key',
        sandbox.key,
        '--client-id',
        sandbox.clientId,
        '--ca',
        platform.caBundle,
        '--report-to',
        '--json',
      ],
      { ACCREDIT_DIR: '', ACCREDIT_ISSUER: '', ACCREDIT_CA_BUNDLE: '' },
    );
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    await nav(partner, 'Test plan & go-live');
    await checkPage(partner, 'Test plan & go-live', 'partner-test-plan');
    await partner.getByText('passed').first().waitFor();
    await partner.getByRole('button', { name: 'Go live' }).click();
    await partner
      .getByText(/live since/i)
      .first()
      .waitFor({ timeout: 15_000 });
    await screenshot(partner, 'e2e-partner-live');
    // The record of the run is visible to the operator too.
    await nav(operator, 'Go-live');
    await checkPage(operator, 'Go-live', 'operator-go-live');
    await operator.getByText(ORG).first().waitFor();
  });

  test('5 production: roles wait for the operator; the key is made in the browser', async () => {
    await nav(partner, 'Applications');
    await partner.getByRole('heading', { level: 1, name: 'Applications' }).waitFor();
    await partner.getByLabel('Name', { exact: true }).fill('Acme Production');
    await partner.getByLabel('Environment').selectOption('production');
    await partner.getByRole('checkbox', { name: /partner_reader/ }).check();
    await partner.getByRole('button', { name: 'Create application' }).click();
    await partner.getByRole('heading', { level: 1, name: 'Acme Production' }).waitFor();
    const clientId = partner.url().split('/').pop() ?? '';
    await partner.getByText('pending').first().waitFor();
    await partner.getByRole('button', { name: 'Generate key and request certificate' }).click();
    const issued = await partner.getByText(/Certificate [0-9a-f]+ issued/).textContent({ timeout: 30_000 });
    const serial = /Certificate ([0-9a-f]+) issued/.exec(issued ?? '')?.[1] ?? '';
    assert.ok(serial);
    const key = await saveDownload(partner, 'Save private key (PEM)', 'production.key');
    const cert = await saveDownload(partner, 'Download certificate', 'production.crt');
    state.production = { clientId, key, cert, serial };
  });

  test('6 the operator approves the role; the production client calls the API', async () => {
    const production = state.production!;
    await nav(operator, 'Approval queue');
    await checkPage(operator, 'Approval queue', 'operator-approvals');
    await operator.getByRole('button', { name: 'Decide: partner_reader for Acme Production' }).click();
    await operator.getByRole('button', { name: 'Approve', exact: true }).click();
    await operator
      .getByRole('status')
      .filter({ hasText: /Approved/ })
      .waitFor();

    const agent = await mtlsAgent(production.cert, production.key);
    const token = await request(`${platform.mtlsUrl}/token`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: production.clientId,
      }).toString(),
    });
    const tokenBody = (await token.body.json()) as { access_token: string; scope: string };
    assert.equal(token.statusCode, 200, JSON.stringify(tokenBody));
    assert.equal(tokenBody.scope, 'accounts:read');
    state.token = tokenBody.access_token;
    const call = await request(`${platform.gatewayUrl}/v1/accounts`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${state.token}` },
    });
    assert.equal(call.statusCode, 200, await call.body.text());
    await agent.close();
  });

  test('7 the operator revokes the certificate and sees the next refused request in the decision log', async () => {
    const production = state.production!;
    await nav(operator, 'Certificates');
    await checkPage(operator, 'Certificates', 'operator-certificates');
    await operator.getByRole('button', { name: `Revoke certificate ${production.serial}` }).click();
    await operator.getByLabel('Reason (RFC 5280)').selectOption('keyCompromise');
    await operator.getByRole('button', { name: 'Revoke certificate', exact: true }).click();
    await operator
      .getByRole('status')
      .filter({ hasText: /revoked/i })
      .waitFor();

    await nav(operator, 'Decision log');
    await checkPage(operator, 'Decision log', 'operator-decisions');
    await operator.getByLabel('Decision', { exact: true }).selectOption('deny');
    await operator.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 });

    const agent = await mtlsAgent(production.cert, production.key);
    const refused = await request(`${platform.gatewayUrl}/v1/accounts`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${state.token}` },
    });
    assert.equal(refused.statusCode, 403);
    await refused.body.dump();
    await agent.close();
    const row = operator.getByRole('row').filter({ hasText: 'certificate_revoked' }).first();
    await row.waitFor({ timeout: 15_000 });
    assert.match((await row.textContent()) ?? '', /\/v1\/accounts/);
    await screenshot(operator, 'e2e-operator-decision-refused');

    for (const [link, heading, name] of [
      ['Traffic', 'Traffic', 'operator-traffic'],
      ['Access reviews', 'Access reviews', 'operator-access-reviews'],
      ['Audit log', 'Audit log', 'operator-audit'],
      ['Applications', 'Applications', 'operator-applications'],
      ['Registrations', 'Registrations', 'operator-registrations'],
      ['Federation', 'Federation', 'operator-federation'],
    ] as const) {
      await nav(operator, link);
      await checkPage(operator, heading, name);
    }
    for (const [link, heading, name] of [
      ['Members', 'Members', 'partner-members'],
      ['Software statements', 'Software statements', 'partner-statements'],
      ['Access catalog', 'Access catalog', 'partner-catalog'],
    ] as const) {
      await nav(partner, link);
      await checkPage(partner, heading, name);
    }
  });

  test('8 no page needed anything the CSP forbids, and axe found no serious violation', () => {
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(accessibility, {}, JSON.stringify(accessibility, null, 2));
  });
});
