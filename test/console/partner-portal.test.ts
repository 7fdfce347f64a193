// Issue 15 partner portal in Chromium: create an application, make a key and a CSR in the browser (WebCrypto),
// receive the certificate, save the key as PEM and as PKCS#12 and check both with openssl; the private key is
// never sent. Screenshots and an axe-core check of every partner page.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createOrganisation } from '../../src/directory/index.ts';
import {
  type ConsolePlatform,
  launchChromium,
  makeMember,
  screenshot,
  seriousA11yViolations,
  sessionFor,
  signedInContext,
  startConsolePlatform,
} from './support/console-platform.ts';

const PASSPHRASE = 'portal-test-passphrase';
const openssl = (...args: string[]) =>
  execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('partner portal in the browser (issue 15)', { timeout: 180_000 }, () => {
  let cp: ConsolePlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let orgId: string;
  let dir: string;
  const sent: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accredit-portal-'));
    // Renewal allowed at once (100 % window), so the renew flow needs no clock games.
    cp = await startConsolePlatform({ ACCREDIT_RENEWAL_WINDOW_PERCENT: '100' });
    orgId = await cp.platform.storage.transaction((tx) =>
      createOrganisation(
        tx,
        {
          name: 'Portal Partner Ltd',
          roles: ['partner_reader'],
          contacts: [{ kind: 'security', name: 'Security Desk', email: 'security@portal.example' }],
        },
        { actor: 'test', now: new Date() },
      ),
    );
    const accountId = await makeMember(cp, orgId, 'org_admin', 'portal-admin');
    const session = await sessionFor(cp, accountId);
    browser = await launchChromium();
    context = await signedInContext(browser, cp, session);
    page = await context.newPage();
    page.on('request', (request) => {
      sent.push(`${request.method()} ${request.url()}\n${request.postData() ?? ''}`);
    });
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const consoleUrl = (path: string) => `${cp.platform.urls.public}/console/${path}`;
  const check = async (name: string) => {
    await screenshot(page, name);
    assert.deepEqual(await seriousA11yViolations(page), [], `${name}: no serious accessibility violations`);
  };
  const save = async (button: string, file: string) => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: button, exact: true }).click(),
    ]);
    const path = join(dir, file);
    await download.saveAs(path);
    return path;
  };

  test('ok/overview: profile, contacts, role requests', async () => {
    await page.goto(consoleUrl(`orgs/${orgId}`));
    await page.getByRole('heading', { level: 1, name: 'Portal Partner Ltd' }).waitFor();
    await page.getByText('Security Desk').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Ops Team');
    await page.getByLabel('E-mail').fill('ops@portal.example');
    await page.getByRole('button', { name: 'Add contact' }).click();
    await page.getByRole('cell', { name: 'ops@portal.example' }).waitFor();
    await page.getByRole('button', { name: 'Remove contact Ops Team' }).click();
    await page.getByRole('cell', { name: 'ops@portal.example' }).waitFor({ state: 'detached' });
    await check('partner-overview');
  });

  let clientId: string;
  test('ok/create an application, generate key + CSR, get the certificate, save PEM and PKCS#12', async () => {
    await page.goto(consoleUrl(`orgs/${orgId}/applications`));
    await page.getByRole('heading', { level: 1, name: 'Applications' }).waitFor();
    await page.getByRole('checkbox', { name: /partner_reader/ }).waitFor();
    await check('partner-applications');
    await page.getByLabel('Name', { exact: true }).fill('Browser App');
    await page.getByRole('checkbox', { name: /partner_reader/ }).check();
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByRole('heading', { level: 1, name: 'Browser App' }).waitFor();
    clientId = decodeURIComponent(page.url().split('/').at(-1) ?? '');
    assert.match(clientId, /^cl_/);

    await page.getByRole('button', { name: 'Generate key and request certificate' }).click();
    await page.getByText(/Certificate [0-9a-f]+ issued/).waitFor({ timeout: 20_000 });
    await check('partner-application');

    const keyFile = await save('Save private key (PEM)', 'client.key');
    const certFile = await save('Download certificate', 'client.pem');
    const bundleFile = await save('Download CA bundle', 'ca-bundle.pem');
    await page.getByLabel('PKCS#12 passphrase').fill(PASSPHRASE);
    const p12File = await save('Save as PKCS#12', 'client.p12');

    assert.match(readFileSync(keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    // The key and the certificate belong together; the certificate verifies against the bundle.
    const keyPub = openssl('pkey', '-in', keyFile, '-pubout');
    assert.equal(openssl('x509', '-in', certFile, '-noout', '-pubkey'), keyPub);
    assert.match(openssl('x509', '-in', certFile, '-noout', '-subject'), new RegExp(`CN *= *${clientId}`));
    assert.match(openssl('verify', '-CAfile', bundleFile, certFile), /OK/);
    // The PKCS#12 opens with the passphrase and holds the key, the certificate and the chain.
    const opened = openssl('pkcs12', '-in', p12File, '-passin', `pass:${PASSPHRASE}`, '-nodes');
    assert.match(opened, /BEGIN PRIVATE KEY/);
    assert.ok((opened.match(/BEGIN CERTIFICATE/g) ?? []).length >= 2, 'certificate and CA chain');
    const p12Key = join(dir, 'p12.key');
    openssl('pkcs12', '-in', p12File, '-passin', `pass:${PASSPHRASE}`, '-nodes', '-nocerts', '-out', p12Key);
    assert.equal(openssl('pkey', '-in', p12Key, '-pubout'), keyPub);
    assert.throws(() => openssl('pkcs12', '-in', p12File, '-passin', 'pass:wrong-passphrase', '-nodes'));

    // Only the CSR left the page.
    const leaked = sent.filter((s) => s.includes('PRIVATE KEY'));
    assert.deepEqual(leaked, []);
    assert.ok(
      sent.some((s) => s.includes('BEGIN CERTIFICATE REQUEST')),
      'the CSR was sent',
    );
  });

  test('ok/upload a CSR, renew in the browser, rename', async () => {
    // A CSR made elsewhere: only it is pasted; the key never meets the browser.
    const csrFile = join(dir, 'upload.csr');
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'upload.key'),
      '-out',
      csrFile,
      '-subj',
      '/CN=ignored',
    );
    await page.getByRole('button', { name: 'Request another certificate' }).click();
    await page.getByRole('radio', { name: /Upload a CSR/ }).check();
    await page.getByLabel('Certificate request (PKCS#10, PEM)').fill(readFileSync(csrFile, 'utf8'));
    await page.getByRole('button', { name: 'Request certificate', exact: true }).click();
    await page.getByText(/Certificate [0-9a-f]+ issued/).waitFor();
    const rows = page.getByRole('row').filter({ hasText: 'active' });
    assert.equal(await rows.count(), 2);

    const first =
      (await page
        .getByRole('button', { name: /^Renew certificate / })
        .first()
        .getAttribute('aria-label')) ?? '';
    const serial = first.replace('Renew certificate ', '');
    await page.getByRole('button', { name: first }).click();
    await page.getByRole('button', { name: 'Generate key and renew certificate' }).click();
    await page
      .getByRole('row')
      .filter({ hasText: serial })
      .filter({ hasText: /[0-9a-f]{20,}.*[0-9a-f]{20,}/ })
      .first()
      .waitFor();
    await check('partner-application-renewed');

    await page.getByLabel('Application name').fill('Browser App Renamed');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { level: 1, name: 'Browser App Renamed' }).waitFor();
    assert.deepEqual(
      sent.filter((s) => s.includes('PRIVATE KEY')),
      [],
    );
  });

  test('ok/playbook, software statements and catalog pages', async () => {
    await page.goto(consoleUrl(`orgs/${orgId}/applications/${clientId}/playbook`));
    await page.getByRole('heading', { level: 1, name: 'Playbook' }).waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    assert.ok(text.includes(clientId));
    assert.ok(text.includes(`${cp.platform.urls.mtls}/token`));
    await check('partner-playbook');

    await page.goto(consoleUrl(`orgs/${orgId}/software-statements`));
    await page.getByRole('heading', { level: 1, name: 'Software statements' }).waitFor();
    await page.getByText(/production applications, available once/).waitFor();
    await check('partner-software-statements');

    await page.goto(consoleUrl(`orgs/${orgId}/catalog`));
    await page.getByRole('heading', { level: 1, name: 'Access catalog' }).waitFor();
    await page.getByRole('cell', { name: 'partner_reader', exact: true }).waitFor();
    await check('partner-catalog');
  });

  test('ok/a viewer sees the pages without the forms that change anything', async () => {
    const viewerId = await makeMember(cp, orgId, 'viewer', 'portal-viewer');
    const viewer = await sessionFor(cp, viewerId);
    const viewerContext = await signedInContext(browser, cp, viewer);
    try {
      const viewerPage = await viewerContext.newPage();
      await viewerPage.goto(consoleUrl(`orgs/${orgId}/applications`));
      await viewerPage.getByRole('link', { name: 'Browser App Renamed' }).click();
      await viewerPage.getByRole('heading', { level: 1, name: 'Browser App Renamed' }).waitFor();
      await viewerPage.getByRole('heading', { name: 'Certificates' }).waitFor();
      // Every API answer is in (the forms depend on the member role the profile tells).
      await viewerPage.waitForLoadState('networkidle');
      await viewerPage
        .getByRole('button', { name: /^Download certificate / })
        .first()
        .waitFor();
      assert.equal(await viewerPage.getByRole('heading', { name: 'Get a certificate' }).count(), 0);
      assert.equal(await viewerPage.getByRole('button', { name: /^Revoke/ }).count(), 0);
      assert.equal(await viewerPage.getByRole('button', { name: 'Delete application' }).count(), 0);
      await viewerPage.goto(consoleUrl(`orgs/${orgId}/applications`));
      await viewerPage.getByRole('heading', { level: 1, name: 'Applications' }).waitFor();
      await viewerPage.waitForLoadState('networkidle');
      assert.equal(await viewerPage.getByRole('heading', { name: 'Create an application' }).count(), 0);
    } finally {
      await viewerContext.close();
    }
  });
});
