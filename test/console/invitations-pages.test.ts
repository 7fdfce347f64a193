// Issue 15: the invitation page, the members page and the operator accounts page in a real browser
// (Chromium): they work end to end, are screenshotted, and axe-core finds no serious violations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createInvitation, createOrganisation, memberRoleOf } from '../../src/directory/index.ts';
import {
  type ConsolePlatform,
  launchChromium,
  makeMember,
  makeOperator,
  PASSWORD,
  screenshot,
  seriousA11yViolations,
  sessionFor,
  signedInContext,
  startConsolePlatform,
} from './support/console-platform.ts';

describe('console pages: invitation, members, operator accounts (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let browser: Browser;
  let orgId: string;

  before(async () => {
    cp = await startConsolePlatform();
    browser = await launchChromium();
    orgId = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Pages Org' }, { actor: 'test', now: new Date() }),
    );
  });
  after(async () => {
    await browser?.close();
    await cp?.stop();
  });

  test('ok/an invitation link: create an account, then sign in and land in the organisation', async () => {
    const { token } = await cp.platform.storage.transaction((tx) =>
      createInvitation(tx, { orgId, role: 'developer' }, { actor: 'test', now: new Date() }),
    );
    const context = await signedInContext(browser, cp, undefined);
    const page = await context.newPage();
    await page.goto(`${cp.platform.urls.public}/console/invite/${token}`);
    await page.getByRole('heading', { level: 1, name: 'Join Pages Org' }).waitFor();
    await screenshot(page, 'console-invite');
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByLabel('Username').fill('invited-dev');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Name (optional)').fill('Invited Developer');
    await page.getByRole('button', { name: 'Create account and join' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account is ready' }).waitFor();
    await page.getByRole('link', { name: 'Sign in' }).click();
    // The platform's own login page.
    await page.getByLabel('Username').fill('invited-dev');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname === `/console/orgs/${orgId}`);
    await page.getByText('Signed in as').waitFor();
    const session = (await page.evaluate(async () => (await fetch('/console/api/session')).json())) as {
      memberships: Array<{ orgId: string; role: string }>;
    };
    assert.equal(session.memberships[0]?.orgId, orgId);
    assert.equal(session.memberships[0]?.role, 'developer');
    // The link is spent.
    await page.goto(`${cp.platform.urls.public}/console/invite/${token}`);
    await page.getByRole('heading', { level: 1, name: 'This invitation can no longer be used' }).waitFor();
    await context.close();
  });

  test('ok/signed in, the invitation page accepts with one button and opens the organisation', async () => {
    const otherOrg = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Accept Org' }, { actor: 'test', now: new Date() }),
    );
    const { token } = await cp.platform.storage.transaction((tx) =>
      createInvitation(tx, { orgId: otherOrg, role: 'viewer' }, { actor: 'test', now: new Date() }),
    );
    const member = await sessionFor(cp, await makeMember(cp, orgId, 'viewer', 'pages-accepter'));
    const context = await signedInContext(browser, cp, member);
    const page = await context.newPage();
    await page.goto(`${cp.platform.urls.public}/console/invite/${token}`);
    await page.getByRole('heading', { level: 1, name: 'Join Accept Org' }).waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByRole('button', { name: 'Accept the invitation' }).click();
    await page.waitForURL((url) => url.pathname === `/console/orgs/${otherOrg}`);
    assert.equal(await memberRoleOf(cp.platform.storage.db, otherOrg, member.accountId), 'viewer');
    await context.close();
  });

  test('ok/the members page: an org admin invites (link shown once), changes a role, removes a member', async () => {
    const admin = await sessionFor(cp, await makeMember(cp, orgId, 'org_admin', 'pages-admin'));
    const viewer = await makeMember(cp, orgId, 'viewer', 'pages-viewer');
    const context = await signedInContext(browser, cp, admin);
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await context.newPage();
    await page.goto(`${cp.platform.urls.public}/console/orgs/${orgId}/members`);
    await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
    await page.getByRole('cell', { name: 'pages-viewer', exact: true }).first().waitFor();
    assert.ok(await page.getByRole('link', { name: 'Members' }).isVisible(), 'in the navigation');
    await page.getByLabel('E-mail (optional)').fill('new@partner.example');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    const link = page.locator('.copy-block code');
    await link.waitFor();
    assert.match(String(await link.textContent()), /\/console\/invite\/[A-Za-z0-9_-]{43}$/);
    await page.getByRole('cell', { name: 'new@partner.example', exact: true }).waitFor();
    await screenshot(page, 'console-members');
    assert.deepEqual(await seriousA11yViolations(page), []);

    await page.getByLabel('Role of pages-viewer').selectOption('developer');
    for (
      let i = 0;
      i < 50 && (await memberRoleOf(cp.platform.storage.db, orgId, viewer)) !== 'developer';
      i += 1
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await memberRoleOf(cp.platform.storage.db, orgId, viewer), 'developer');
    await page.getByRole('button', { name: 'Remove pages-viewer' }).click();
    await page
      .getByRole('cell', { name: 'pages-viewer', exact: true })
      .first()
      .waitFor({ state: 'detached' });
    assert.equal(await memberRoleOf(cp.platform.storage.db, orgId, viewer), undefined);
    // The last org admin: refused with the server's reason.
    await page.getByRole('button', { name: 'Remove pages-admin' }).click();
    await page.getByRole('alert').filter({ hasText: 'last org_admin' }).waitFor();
    await context.close();
  });

  test('ok/the operator accounts page: an administrator grants and revokes; axe-clean', async () => {
    const admin = await sessionFor(cp, await makeOperator(cp, 'administrator', 'pages-operator'));
    await makeMember(cp, orgId, 'viewer', 'pages-future-auditor');
    const context = await signedInContext(browser, cp, admin);
    const page = await context.newPage();
    await page.goto(`${cp.platform.urls.public}/console/operator/accounts`);
    await page.getByRole('heading', { level: 1, name: 'Operator accounts' }).waitFor();
    await page.getByRole('cell', { name: 'pages-operator', exact: true }).first().waitFor();
    await page.getByLabel('Username').fill('pages-future-auditor');
    await page.getByRole('button', { name: 'Grant' }).click();
    await page.getByRole('cell', { name: 'pages-future-auditor', exact: true }).first().waitFor();
    await screenshot(page, 'console-operator-accounts');
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByRole('button', { name: 'Revoke pages-future-auditor' }).click();
    await page
      .getByRole('cell', { name: 'pages-future-auditor', exact: true })
      .first()
      .waitFor({ state: 'detached' });
    await context.close();
  });
});
