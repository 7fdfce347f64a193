// Issue 15, operator console pages (directory): a real Chromium signed in as an administrator approves and
// rejects role requests and revokes a certificate through the pages; every page is screenshotted and checked
// with axe-core; an auditor sees the same pages without their change buttons.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Agent, request } from 'undici';
import { createRoleRequest } from '../../src/directory/index.ts';
import { csrWithKey } from '../gateway/fixture.ts';
import {
  type ConsolePlatform,
  call,
  launchChromium,
  makeOperator,
  screenshot,
  seriousA11yViolations,
  sessionFor,
  signedInContext,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';

describe('operator console pages: directory (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let admin: TestSession;
  let auditor: TestSession;
  let browser: Browser;
  let adminContext: BrowserContext;
  let auditorContext: BrowserContext;
  let orgId: string;
  let clientId: string;
  let serial: string;
  let iatId: string;

  async function registerDynamicClient(certPem: string, keyPem: string, subject: string): Promise<string> {
    const iat = await call(cp, admin, 'POST', '/admin/v1/registration/initial-access-tokens', {
      org_id: orgId,
      roles: ['partner_reader'],
    });
    assert.equal(iat.status, 201, iat.text);
    const agent = new Agent({ connect: { ca: cp.platform.ca.chainPem, cert: certPem, key: keyPem } });
    try {
      const res = await request(`${cp.platform.urls.mtls}/register`, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${iat.json.initial_access_token}`,
        },
        body: JSON.stringify({
          client_name: 'Registered batch',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: subject,
          grant_types: ['client_credentials'],
        }),
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, 201, text);
    } finally {
      await agent.close();
    }
    return iat.json.id;
  }
  const requests: Record<string, string> = {};

  const ask = (role: string) =>
    cp.platform.storage.transaction(
      async (tx) =>
        (
          await createRoleRequest(
            tx,
            { orgId, clientId, role },
            { actor: 'account:partner', now: new Date() },
          )
        ).id,
    );

  async function open(context: BrowserContext, path: string, heading: string | RegExp): Promise<Page> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${cp.platform.urls.public}/console/${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.waitForLoadState('networkidle');
    await page
      .locator('[role="status"]', { hasText: /^Loading/ })
      .first()
      .waitFor({ state: 'detached' });
    assert.deepEqual(errors, [], `${path}: no script error`);
    return page;
  }

  /**
   * A signed-in context. GET /console/api/session is the sign-in helper's endpoint: while a branch lacks it
   * (404), the page is told the same answer it would give (the cookie and CSRF token stay the real ones, so
   * every admin API call the page makes is authenticated and CSRF-checked by the platform).
   */
  async function contextFor(session: TestSession, username: string, operator: string) {
    const context = await signedInContext(browser, cp, session);
    await context.route('**/console/api/session', async (route) => {
      const real = await route.fetch();
      if (real.status() !== 404) return route.fulfill({ response: real });
      return route.fulfill({
        json: {
          account: { id: session.accountId, username, name: username, email: null },
          operator,
          memberships: [],
          csrfToken: session.csrf,
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        },
      });
    });
    return context;
  }

  before(async () => {
    cp = await startConsolePlatform({ ACCREDIT_REGISTRATION_ALLOW_IAT: 'true' });
    admin = await sessionFor(cp, await makeOperator(cp, 'administrator', 'pages-admin'));
    auditor = await sessionFor(cp, await makeOperator(cp, 'auditor', 'pages-auditor'));
    orgId = (
      await call(cp, admin, 'POST', '/admin/v1/organisations', {
        name: 'Pages Bank',
        roles: ['partner_reader'],
        contacts: [{ kind: 'security', name: 'Sam Secure', email: 'security@pages.example' }],
      })
    ).json.id;
    const app = await call(cp, admin, 'POST', '/admin/v1/applications', {
      org_id: orgId,
      name: 'Pages app',
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
    });
    assert.equal(app.status, 201, app.text);
    clientId = app.json.client_id;
    requests.writer = await ask('partner_writer');
    requests.analyst = await ask('partner_analyst');
    const { csrPem, keyPem } = await csrWithKey();
    const cert = await call(cp, admin, 'POST', `/admin/v1/applications/${clientId}/certificates`, {
      csr: csrPem,
    });
    assert.equal(cert.status, 201, cert.text);
    serial = cert.json.serial;
    // A client registered by DCR with an initial access token (for the registrations page).
    iatId = await registerDynamicClient(cert.json.certificate_pem, keyPem, cert.json.subject);
    const { publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const sub = await call(cp, admin, 'POST', '/admin/v1/federation/subordinates', {
      entity_id: 'https://rp.pages.example',
      org_id: orgId,
      jwks: { keys: [jwk] },
      metadata_policy: { openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } },
    });
    assert.equal(sub.status, 201, sub.text);
    browser = await launchChromium();
    adminContext = await contextFor(admin, 'pages-admin', 'administrator');
    auditorContext = await contextFor(auditor, 'pages-auditor', 'auditor');
  });
  after(async () => {
    await browser?.close();
    await cp?.stop();
  });

  test('ok/an administrator approves a pending request through the approval queue', async () => {
    const page = await open(adminContext, 'operator/approvals', 'Approval queue');
    await screenshot(page, 'operator-approvals');
    await page.getByRole('button', { name: 'Decide: partner_writer for Pages app' }).click();
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Approved: Pages app now holds partner_writer.' })
      .waitFor();
    const decided = await call(cp, admin, 'GET', `/admin/v1/role-requests/${requests.writer}`);
    assert.equal(decided.json.status, 'approved');
    const app = await call(cp, admin, 'GET', `/admin/v1/applications/${clientId}`);
    assert.ok(app.json.roles.includes('partner_writer'), app.text);
    assert.ok(app.json.scopes.includes('payments:submit'));
    await page.close();
  });

  test('fail/rejecting through the page needs a reason; with one, the request is rejected', async () => {
    const page = await open(adminContext, 'operator/approvals', 'Approval queue');
    await page.getByRole('button', { name: 'Decide: partner_analyst for Pages app' }).click();
    await page.getByRole('button', { name: 'Reject', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'A rejection needs a reason.' }).waitFor();
    assert.equal(
      (await call(cp, admin, 'GET', `/admin/v1/role-requests/${requests.analyst}`)).json.status,
      'pending',
    );
    await page.getByLabel('Reason').fill('Reports are for analysts only');
    await page.getByRole('button', { name: 'Reject', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Rejected:' }).waitFor();
    const decided = await call(cp, admin, 'GET', `/admin/v1/role-requests/${requests.analyst}`);
    assert.equal(decided.json.status, 'rejected');
    assert.equal(decided.json.reason, 'Reports are for analysts only');
    await page.close();
  });

  test('ok/an administrator revokes a certificate with a reason through the certificates page', async () => {
    const page = await open(adminContext, 'operator/certificates', 'Certificates');
    await page.getByLabel('Expiring').selectOption('90');
    await page.waitForLoadState('networkidle');
    await screenshot(page, 'operator-certificates-expiring');
    await page.getByLabel('Expiring').selectOption('');
    await page.getByRole('button', { name: `Revoke certificate ${serial}` }).click();
    await page.getByLabel('Reason (RFC 5280)').selectOption('keyCompromise');
    await screenshot(page, 'operator-certificates-revoke');
    await page.getByRole('button', { name: 'Revoke certificate', exact: true }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Certificate ${serial} revoked.` })
      .waitFor();
    const cert = await call(cp, admin, 'GET', `/admin/v1/certificates/${serial}`);
    assert.equal(cert.json.status, 'revoked');
    assert.equal(cert.json.revocation_reason, 'keyCompromise');
    await page.close();
  });

  test('ok/an administrator adds and removes a subordinate, issues and revokes a Trust Mark through the page', async () => {
    const page = await open(adminContext, 'operator/federation', 'Federation');
    const { publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' };
    await page.getByLabel('Entity Identifier').fill('https://rp2.pages.example');
    await page.getByLabel('Federation Entity Keys (JWKS)').fill(JSON.stringify({ keys: [jwk] }));
    await page.getByRole('button', { name: 'Add subordinate' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Subordinate https://rp2.pages.example added.' })
      .waitFor();
    const added = await call(
      cp,
      admin,
      'GET',
      `/admin/v1/federation/subordinates/${encodeURIComponent('https://rp2.pages.example')}`,
    );
    assert.equal(added.json.status, 'active');
    assert.equal(added.json.org_id, orgId);

    await page.getByLabel('Subject (an active subordinate)').selectOption('https://rp.pages.example');
    await page.getByRole('button', { name: 'Issue Trust Mark' }).click();
    await page.getByRole('status').filter({ hasText: 'Trust Mark issued.' }).waitFor();
    const marks = await call(cp, admin, 'GET', '/admin/v1/federation/trust-marks?status=active');
    assert.equal(marks.json.items.length, 1, marks.text);
    assert.equal(marks.json.items[0].sub, 'https://rp.pages.example');
    await screenshot(page, 'operator-federation-filled');

    await page
      .getByRole('button', { name: /^Revoke Trust Mark .* of https:\/\/rp\.pages\.example$/ })
      .click();
    await page.getByLabel('Reason (for the audit log)').fill('audit found a lapse');
    await page.getByRole('button', { name: 'Revoke Trust Mark', exact: true }).click();
    await page.getByText('No Trust Mark.').waitFor();
    const revoked = await call(
      cp,
      admin,
      'GET',
      `/admin/v1/federation/trust-marks/${marks.json.items[0].id}`,
    );
    assert.equal(revoked.json.status, 'revoked');

    await page.getByRole('button', { name: 'Remove subordinate https://rp2.pages.example' }).click();
    await page.getByLabel('Reason (for the audit log)').fill('left the federation');
    await page.getByRole('button', { name: 'Remove subordinate', exact: true }).click();
    await page.getByRole('button', { name: 'Remove subordinate https://rp2.pages.example' }).waitFor({
      state: 'detached',
    });
    const removed = await call(
      cp,
      admin,
      'GET',
      `/admin/v1/federation/subordinates/${encodeURIComponent('https://rp2.pages.example')}`,
    );
    assert.equal(removed.json.status, 'removed');
    await page.close();
  });

  const pages: Array<[string, string | RegExp, string]> = [
    ['operator', 'Operator overview', 'operator-overview'],
    ['operator/organisations', 'Organisations', 'operator-organisations'],
    ['operator/applications', 'Applications', 'operator-applications'],
    ['operator/approvals', 'Approval queue', 'operator-approvals-after'],
    ['operator/certificates', 'Certificates', 'operator-certificates'],
    ['operator/federation', 'Federation', 'operator-federation'],
    ['operator/registrations', 'Registrations', 'operator-registrations'],
  ];

  test('ok/every operator page renders, is screenshotted, and has no serious axe violation', async () => {
    const all: Array<[string, string | RegExp, string]> = [
      ...pages,
      [`operator/organisations/${orgId}`, 'Pages Bank', 'operator-organisation-detail'],
      [`operator/applications/${clientId}`, 'Pages app', 'operator-application-detail'],
    ];
    for (const [path, heading, name] of all) {
      const page = await open(adminContext, path, heading);
      await screenshot(page, name);
      assert.deepEqual(await seriousA11yViolations(page), [], path);
      await page.close();
    }
  });

  test('ok/the pages show what they read: organisation detail, federation policy, certificates', async () => {
    let page = await open(adminContext, `operator/organisations/${orgId}`, 'Pages Bank');
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /sandbox only/);
    assert.match(text, /Sam Secure/);
    assert.match(text, /Pages app/);
    assert.match(text, /partner_writer/, 'the approved role shows on the organisation');
    await page.close();
    page = await open(adminContext, 'operator/federation', 'Federation');
    assert.match((await page.locator('main').textContent()) ?? '', /https:\/\/rp\.pages\.example/);
    await page.close();
    page = await open(adminContext, 'operator/registrations', 'Registrations');
    const registrations = (await page.locator('main').textContent()) ?? '';
    assert.match(registrations, /Registered batch \(DCR\)/);
    assert.ok(registrations.includes(iatId), 'the initial access token it was registered with');
    await page.close();
    page = await open(adminContext, 'operator', 'Operator overview');
    assert.match((await page.locator('main').textContent()) ?? '', /pending approvals/);
    await page.close();
  });

  test('ok/an auditor sees every page read-only, without change buttons', async () => {
    for (const [path, heading, name] of pages) {
      const page = await open(auditorContext, path, heading);
      if (path !== 'operator' && path !== 'operator/registrations') {
        await page.getByText('You are signed in as an auditor').waitFor();
      }
      for (const label of [/^Decide/, /^Revoke/, /^Remove/, /^Create organisation/, /^Add subordinate/]) {
        assert.equal(await page.getByRole('button', { name: label }).count(), 0, `${path}: ${label}`);
      }
      if (name === 'operator-organisations') {
        await screenshot(page, 'operator-organisations-auditor');
        assert.deepEqual(await seriousA11yViolations(page), [], `${path} (auditor)`);
      }
      await page.close();
    }
    const detail = await open(auditorContext, `operator/applications/${clientId}`, 'Pages app');
    assert.equal(await detail.getByRole('button', { name: /Suspend|Take away/ }).count(), 0);
    await detail.close();
  });

  test('ok/the federation page shows a page of Trust Marks and loads the next one on request', async () => {
    const sub = 'https://many.pages.example';
    const now = Date.now();
    for (let i = 0; i < 105; i++) {
      await cp.platform.storage.db
        .insertInto('federation_trust_marks')
        .values({
          id: `many-${String(i).padStart(3, '0')}`,
          trust_mark_type: 'https://marks.pages.example/many',
          sub,
          iat: Math.floor(now / 1000),
          exp: null,
          status: 'active',
          revoked_at: null,
          created_at: new Date(now + i).toISOString(),
        })
        .execute();
    }
    const page = await open(auditorContext, 'operator/federation', 'Federation');
    // The first page of the filtered list is the one on screen once its answer has arrived.
    const filtered = page.waitForResponse(
      (r) => r.url().includes('/federation/trust-marks?') && r.url().includes(encodeURIComponent(sub)),
    );
    await page.getByLabel('Trust Mark subject').fill(sub);
    await filtered;
    const rows = page.getByRole('table', { name: 'Trust Marks the platform issued' }).locator('tbody tr');
    await page.getByRole('button', { name: 'Load more Trust Marks' }).waitFor();
    assert.equal(await rows.count(), 100, 'the first page');
    await page.getByRole('button', { name: 'Load more Trust Marks' }).click();
    await page.getByRole('button', { name: 'Load more Trust Marks' }).waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 105, 'the rest, appended');
    const text = (await rows.allTextContents()).join('\n');
    assert.equal((text.match(/marks\.pages\.example\/many/g) ?? []).length, 105, 'each once');
    await page.close();
  });
});
