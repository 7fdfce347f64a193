// Issue 15 test support: a started platform (temp data directory, free ports), accounts, operator roles,
// organisation members, console sessions minted directly (the sign-in flow itself is tested on its own), an
// HTTP client for the admin and partner APIs with the session cookie and CSRF header, and Chromium.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { Agent, request } from 'undici';
import { accountStore } from '../../../src/authorization-server/index.ts';
import {
  type OperatorRole,
  SESSION_COOKIE,
  sessionStore,
  setOperatorRole,
} from '../../../src/console/index.ts';
import { type MemberRole, putMember } from '../../../src/directory/index.ts';
import { initPlatform, type PlatformHandle, startPlatform } from '../../../src/platform/index.ts';
import { loadKek } from '../../../src/platform/kek.ts';
import { capturingLogger } from '../../gateway/fixture.ts';
import { freePort } from '../../support/platform-process.ts';

export const PASSWORD = 'correct horse battery staple';
export const CHROMIUM = process.env.ACCREDIT_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots the browser tests take (not committed: dist/ is ignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../../dist/screenshots/', import.meta.url));

export interface ConsolePlatform {
  platform: PlatformHandle;
  dataDir: string;
  kek: string;
  agent: Agent;
  stop(): Promise<void>;
}

/** Initialises and starts a platform on free ports (SQLite unless `env.ACCREDIT_DATABASE_URL` is given). */
export async function startConsolePlatform(env: Record<string, string> = {}): Promise<ConsolePlatform> {
  const root = mkdtempSync(join(tmpdir(), 'accredit-console-'));
  const dataDir = join(root, 'data');
  const fullEnv = {
    ACCREDIT_PUBLIC_PORT: String(await freePort()),
    ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
    ACCREDIT_MTLS_PORT: String(await freePort()),
    ACCREDIT_GATEWAY_PORT: String(await freePort()),
    ...env,
  };
  await initPlatform({ dataDir, env: fullEnv });
  const platform = await startPlatform({ dataDir, env: fullEnv, logger: capturingLogger().logger });
  const agent = new Agent({ connect: { ca: platform.ca.chainPem } });
  return {
    platform,
    dataDir,
    kek: loadKek(dataDir, { create: false }, fullEnv),
    agent,
    async stop() {
      await agent.close();
      await platform.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** A built-in account with the test password; returns its id. */
export async function createAccount(cp: ConsolePlatform, username = `user${++counter}`): Promise<string> {
  const account = await accountStore(cp.platform.storage.db, cp.kek).add(
    { username, password: PASSWORD, name: username },
    new Date(),
  );
  return account.id;
}

export async function makeOperator(
  cp: ConsolePlatform,
  role: OperatorRole,
  username?: string,
): Promise<string> {
  const id = await createAccount(cp, username);
  await cp.platform.storage.transaction((tx) =>
    setOperatorRole(tx, id, role, { actor: 'test', now: new Date() }),
  );
  return id;
}

export async function makeMember(
  cp: ConsolePlatform,
  orgId: string,
  role: MemberRole,
  username?: string,
): Promise<string> {
  const id = await createAccount(cp, username);
  await cp.platform.storage.transaction((tx) => putMember(tx, { orgId, accountId: id, role }, new Date()));
  return id;
}

export interface TestSession {
  accountId: string;
  secret: string;
  cookie: string;
  csrf: string;
}

/** A console session minted directly in storage (as the sign-in callback would). */
export async function sessionFor(cp: ConsolePlatform, accountId: string): Promise<TestSession> {
  const { secret, session } = await sessionStore(cp.platform.storage.db).create(accountId, new Date());
  return { accountId, secret, cookie: `${SESSION_COOKIE}=${secret}`, csrf: session.csrfToken };
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience.
  json: any;
}

/** Calls the platform's public listener as the browser would: session cookie, CSRF header on unsafe methods. */
export async function call(
  cp: ConsolePlatform,
  session: TestSession | undefined,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
  if (session) {
    headers.cookie = session.cookie;
    if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] ??= session.csrf;
  }
  let payload: string | undefined;
  if (body !== undefined) {
    if (typeof body === 'string') payload = body;
    else {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  const res = await request(`${cp.platform.urls.public}${path}`, {
    method: method as 'GET',
    headers,
    body: payload,
    dispatcher: cp.agent,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** Debian's Chromium, headless, with the flags this offline machine needs. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A browser context already signed in with `session` (the platform's test CA is not in Chromium's store). */
export async function signedInContext(
  browser: Browser,
  cp: ConsolePlatform,
  session: TestSession | undefined,
): Promise<BrowserContext> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  if (session) {
    await context.addCookies([
      {
        name: SESSION_COOKIE,
        value: session.secret,
        url: `${cp.platform.urls.public}/`,
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
      },
    ]);
  }
  return context;
}

/** Saves a full-page screenshot under dist/screenshots/<name>.png (for the developer to look at). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  writeFileSync(file, await page.screenshot({ fullPage: true }));
  return file;
}

const axeSource = await import('node:fs').then((fs) =>
  fs.readFileSync(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8'),
);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; html: string }>;
}

/** Runs axe-core (WCAG 2.x A/AA rules) on the page; returns the serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = (await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe and the document are the page's globals.
    const page = globalThis as any;
    return page.axe.run(page.document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
  })) as { violations: AxeViolation[] };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ ...v, nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, html: n.html })) }));
}
