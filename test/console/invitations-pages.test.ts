// Issue 15: the invitation page, the members page and the operator accounts page in a real browser
// (Chromium): they work end to end, are screenshotted, and axe-core finds no serious violations.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  createInvitation,
  createOrganisation,
  memberRoleOf,
  revokeInvitation,
} from '../../src/directory/index.ts';
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

  test('ok/issue 16: long invitation and member lists load more; filters narrow them', async () => {
    const longOrg = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Long Lists Org' }, { actor: 'test', now: new Date() }),
    );
    const admin = await sessionFor(cp, await makeMember(cp, longOrg, 'org_admin', 'long-admin'));
    await makeMember(cp, longOrg, 'viewer', 'long-viewer');
    const ids = await cp.platform.storage.transaction(async (tx) => {
      const created: string[] = [];
      for (let i = 0; i < 103; i++) {
        const { invitation } = await createInvitation(
          tx,
          { orgId: longOrg, role: 'developer', email: `long${i}@partner.example` },
          { actor: 'test', now: new Date(Date.now() - (103 - i) * 1000) },
        );
        created.push(invitation.id);
      }
      await revokeInvitation(tx, longOrg, created[0] as string, { actor: 'test', now: new Date() });
      return created;
    });
    assert.equal(ids.length, 103);
    const context = await signedInContext(browser, cp, admin);
    const page = await context.newPage();
    await page.goto(`${cp.platform.urls.public}/console/orgs/${longOrg}/members`);
    await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
    const invitationRows = page.getByRole('table', { name: 'Invitations' }).locator('tbody tr');
    // The first page (100, newest first), then the rest.
    await page.getByRole('cell', { name: 'long102@partner.example', exact: true }).waitFor();
    assert.equal(await invitationRows.count(), 100);
    await page.getByRole('button', { name: 'Load more invitations' }).click();
    await page.getByRole('cell', { name: 'long0@partner.example', exact: true }).waitFor();
    assert.equal(await invitationRows.count(), 103);
    assert.equal(await page.getByRole('button', { name: 'Load more invitations' }).count(), 0);
    await page.getByLabel('Filter invitations by status').selectOption('revoked');
    await page
      .getByRole('cell', { name: 'long102@partner.example', exact: true })
      .waitFor({ state: 'detached' });
    assert.equal(await invitationRows.count(), 1);
    await page.getByRole('cell', { name: 'long0@partner.example', exact: true }).waitFor();
    // Members: the role filter is applied by the API.
    await page.getByRole('cell', { name: 'long-viewer', exact: true }).first().waitFor();
    await page.getByLabel('Filter by role').selectOption('org_admin');
    await page.getByRole('cell', { name: 'long-viewer', exact: true }).first().waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: 'long-admin', exact: true }).first().waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);
    await context.close();
  });
});
