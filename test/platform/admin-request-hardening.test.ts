import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Agent, fetch as undiciFetch } from 'undici';
import { createOrganisation } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { registerApplicationRoutes } from '../../src/platform/admin-api/applications-routes.ts';
import { registerOperatorAuth } from '../../src/platform/admin-api/auth.ts';
import { registerOrganisationRoutes } from '../../src/platform/admin-api/organisations-routes.ts';
import { problemSchema } from '../../src/platform/admin-api/schemas.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import { createOperatorToken } from '../../src/platform/operator-tokens.ts';
import type { Storage } from '../../src/storage/index.ts';
import { capturingLogger, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

// What is under test is the HTTP layer (logging, body parsing), the same on every engine.
const target = (await engineTargets()).find((t) => t.name === 'sqlite')!;

/** `depth` levels of nested arrays around a number: 20,000 levels is 40 KB, well under the body limit. */
const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('admin API: credentials stay out of the request log; deep JSON is a 400', () => {
  let storage: Storage;
  let app: FastifyInstance;
  let agent: Agent;
  let baseUrl: string;
  let operator: string;
  let orgId: string;
  let lines: string[];
  const fetcher = testPartnerFetcher();

  const call = async (path: string, init: { method?: string; body?: string } = {}) => {
    const r = await undiciFetch(`${baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${operator}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
      dispatcher: agent,
    });
    return {
      status: r.status,
      type: r.headers.get('content-type') ?? '',
      body: (await r.json()) as Record<string, unknown>,
    };
  };
  const loggedUrls = () =>
    lines
      .map((l) => JSON.parse(l) as { req?: { url?: string } })
      .flatMap((l) => (l.req?.url !== undefined ? [l.req.url] : []));

  before(async () => {
    storage = await seededStorage(target);
    const ca = await installCa(storage);
    operator = await storage.transaction((tx) => createOperatorToken(tx, 'alice', META));
    orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, META));
    const captured = capturingLogger();
    lines = captured.lines;
    app = createHttpsServer({ tls: await serverTlsFrom(ca), logger: captured.logger });
    app.addSchema(problemSchema);
    const deps = { storage, clock: () => META.now, ca: ca as CertificateAuthority, urlGuard: fetcher };
    await app.register(
      async (admin) => {
        registerOperatorAuth(admin, deps);
        registerOrganisationRoutes(admin, deps);
        registerApplicationRoutes(admin, deps);
      },
      { prefix: '/admin/v1' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `https://localhost:${(app.server.address() as AddressInfo).port}`;
    agent = new Agent({ connect: { ca: ca.chainPem } });
  });

  after(async () => {
    await agent?.close();
    await app?.close();
    await storage?.close();
    await target.cleanup();
    await fetcher.close();
  });

  test('fail/an operator token in ?access_token= (RFC 6750 §5.3) never reaches the request log', async () => {
    lines.length = 0;
    await call(`/admin/v1/organisations?access_token=${operator}`);
    await call(`/admin/v1/applications?org_id=${orgId}&client_secret=${operator}`);
    assert.ok(lines.length > 0, 'requests are logged');
    assert.equal(
      lines.some((l) => l.includes(operator)),
      false,
      'no log line carries the token',
    );
    assert.ok(
      loggedUrls().includes('/admin/v1/organisations?access_token=[redacted]'),
      loggedUrls().join(' '),
    );
    assert.ok(loggedUrls().includes(`/admin/v1/applications?org_id=${orgId}&client_secret=[redacted]`));
  });

  test('fail/a token in the path never reaches the request log, the error handler’s lines included', async () => {
    lines.length = 0;
    const r = await call(`/admin/v1/organisations/${operator}`);
    assert.equal(r.status, 404);
    await call(`/admin/v1/nowhere/${operator}/x`);
    assert.equal(
      lines.some((l) => l.includes(operator)),
      false,
    );
    assert.ok(loggedUrls().includes('/admin/v1/organisations/[redacted]'), loggedUrls().join(' '));
    assert.ok(loggedUrls().includes('/admin/v1/nowhere/[redacted]/x'));
  });

  test('ok/ordinary paths, ids and query parameters are logged as they are', async () => {
    lines.length = 0;
    const id = randomUUID();
    await call(`/admin/v1/organisations/${id}`);
    await call(`/admin/v1/applications?org_id=${orgId}`);
    assert.ok(loggedUrls().includes(`/admin/v1/organisations/${id}`));
    assert.ok(loggedUrls().includes(`/admin/v1/applications?org_id=${orgId}`));
  });

  const application = (metadata: unknown) =>
    `{"org_id":${JSON.stringify(orgId)},"name":"Deep ${randomUUID()}","roles":["partner_reader"],` +
    `"auth_method":"tls_client_auth","metadata":${typeof metadata === 'string' ? metadata : JSON.stringify(metadata)}}`;

  const deepCases = [
    ['fail/metadata nested 20,000 levels', `{"x":${nested(20_000)}}`],
    ['fail/metadata nested one level past the bound', `{"x":${nested(63)}}`],
    ['fail/a deep body that is not even an application', nested(20_000)],
  ] as const;
  for (const [name, metadata] of deepCases) {
    test(`${name} is a problem+json 400 json_too_deep, and the server stays up`, async () => {
      const body = name.includes('not even') ? metadata : application(metadata);
      const r = await call('/admin/v1/applications', { method: 'POST', body });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.type, /^application\/problem\+json/);
      assert.equal(r.body.code, 'json_too_deep');
      assert.equal((await call('/admin/v1/organisations')).status, 200, 'the server still answers');
    });
  }

  test('ok/moderately nested metadata (the bound, 64 levels, counted from the body) still works', async () => {
    // Body object + metadata object + {"x":…} = 3 levels, 61 more make 64.
    const r = await call('/admin/v1/applications', {
      method: 'POST',
      body: application(`{"x":${nested(61)},"contacts":[{"a":{"b":[1,2]}}]}`),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });

  test('fail/malformed and empty JSON are still problem+json 400s', async () => {
    for (const body of ['{"org_id":', '']) {
      const r = await call('/admin/v1/applications', { method: 'POST', body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.match(r.type, /^application\/problem\+json/);
    }
  });

  test('fail/prototype poisoning is still refused by the parser', async () => {
    const r = await call('/admin/v1/applications', {
      method: 'POST',
      body: application('{"__proto__":{"polluted":true}}'),
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
