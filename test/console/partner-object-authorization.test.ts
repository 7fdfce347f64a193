// Issue 15: object-level authorization for EVERY partner endpoint. The routes come from the partner API's own
// OpenAPI document, so an endpoint added later is covered (or this test fails naming the parameter it cannot
// fill). For every route and method: without a session → 401; a member of organisation B naming organisation
// A → 404; a member of B naming its own organisation with A's objects → 404; a viewer of A changing anything →
// 403. Afterwards A's objects are untouched.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOrganisation, recordTestplanRun } from '../../src/directory/index.ts';
import { csrWithKey } from '../gateway/fixture.ts';
import {
  type ConsolePlatform,
  call,
  createAccount,
  makeMember,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';

type Params = Record<string, string>;

const UNSAFE = new Set(['post', 'put', 'patch', 'delete']);

describe('partner API: object-level authorization of every endpoint (issue 15)', { timeout: 180_000 }, () => {
  let cp: ConsolePlatform;
  let adminA: TestSession;
  let viewerA: TestSession;
  let adminB: TestSession;
  let routes: Array<{ method: string; path: string }>;
  const a: Params = {};
  const b: Params = {};

  /** A valid body for each changing route, so that only authorization can refuse it. */
  async function bodyFor(method: string, path: string): Promise<unknown> {
    if (method === 'delete') return undefined;
    if (path.endsWith('/contacts')) return { kind: 'security', name: 'Desk', email: 'desk@b.example' };
    if (path.endsWith('/applications')) return { name: `App ${Math.random()}`, roles: ['partner_reader'] };
    if (path.endsWith('/applications/{clientId}')) return { name: 'Renamed' };
    if (path.endsWith('/role-requests')) return { role: 'partner_writer' };
    if (path.endsWith('/certificates') || path.endsWith('/renew'))
      return { csr: (await csrWithKey()).csrPem };
    if (path.endsWith('/revoke')) return { reason: 'superseded' };
    if (path.endsWith('/members/{accountId}')) return { role: 'viewer' };
    if (path.endsWith('/invitations')) return { role: 'viewer' };
    if (path.endsWith('/go-live')) return { run_id: a.runId };
    if (path.endsWith('/software-statements')) return { client_id: a.clientId };
    return {};
  }

  /** Fills `{param}`s: `orgId` from `org`, every other parameter from `objects` (always organisation A's). */
  function fill(path: string, org: Params, objects: Params): string {
    return path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = name === 'orgId' ? org.orgId : name === 'id' ? objects[idParamOf(path)] : objects[name];
      assert.ok(value, `no sample value for {${name}} in ${path}: add one to this test`);
      return encodeURIComponent(value);
    });
  }

  /** What a bare `{id}` names, by the collection it follows. */
  function idParamOf(path: string): string {
    const collection = /\/([a-z-]+)\/\{id\}/.exec(path)?.[1];
    const map: Record<string, string> = {
      'testplan-runs': 'runId',
      invitations: 'invitationId',
      contacts: 'contactId',
      'role-requests': 'roleRequestId',
    };
    const param = collection ? map[collection] : undefined;
    assert.ok(param, `no sample for {id} after /${collection}/: add one to this test`);
    return param;
  }

  async function seed(session: TestSession, into: Params): Promise<void> {
    const org = into.orgId;
    const contact = await call(cp, session, 'POST', `/partner/v1/organisations/${org}/contacts`, {
      kind: 'technical',
      name: 'Ops',
      email: 'ops@partner.example',
    });
    assert.equal(contact.status, 201, contact.text);
    const contacts = await call(cp, session, 'GET', `/partner/v1/organisations/${org}`);
    into.contactId = contacts.json.contacts.find((c: { name: string }) => c.name === 'Ops').id;
    const app = await call(cp, session, 'POST', `/partner/v1/organisations/${org}/applications`, {
      name: 'Sandbox App',
      roles: ['partner_reader'],
    });
    assert.equal(app.status, 201, app.text);
    into.clientId = app.json.client_id;
    const cert = await call(
      cp,
      session,
      'POST',
      `/partner/v1/organisations/${org}/applications/${into.clientId}/certificates`,
      {
        csr: (await csrWithKey()).csrPem,
      },
    );
    assert.equal(cert.status, 201, cert.text);
    into.serial = cert.json.serial;
    const request = await call(
      cp,
      session,
      'POST',
      `/partner/v1/organisations/${org}/applications/${into.clientId}/role-requests`,
      { role: 'partner_writer' },
    );
    assert.ok(request.status === 201 || request.status === 200, request.text);
    into.roleRequestId = request.json.id;
    const invitation = await call(cp, session, 'POST', `/partner/v1/organisations/${org}/invitations`, {
      role: 'viewer',
    });
    assert.equal(invitation.status, 201, invitation.text);
    into.invitationId = invitation.json.id;
    into.runId = await cp.platform.storage.transaction((tx) =>
      recordTestplanRun(
        tx,
        {
          orgId: org as string,
          clientId: into.clientId as string,
          environment: 'sandbox',
          certX5tS256: 'x'.repeat(43),
          startedAt: new Date(Date.now() - 60_000).toISOString(),
          finishedAt: new Date().toISOString(),
          outcome: 'passed',
          report: { cases: [] },
        },
        { actor: 'test', now: new Date() },
      ),
    );
  }

  before(async () => {
    cp = await startConsolePlatform({ ACCREDIT_METRICS_ENABLED: 'false' });
    const meta = { actor: 'test', now: new Date() };
    a.orgId = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Org Alpha' }, meta),
    );
    b.orgId = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Org Beta' }, meta),
    );
    adminA = await sessionFor(cp, await makeMember(cp, a.orgId, 'org_admin'));
    const viewerId = await makeMember(cp, a.orgId, 'viewer');
    viewerA = await sessionFor(cp, viewerId);
    a.accountId = viewerId;
    adminB = await sessionFor(cp, await makeMember(cp, b.orgId, 'org_admin'));
    b.accountId = await createAccount(cp);
    await seed(adminA, a);
    await seed(adminB, b);
    const doc = await call(cp, undefined, 'GET', '/partner/v1/openapi.json');
    routes = Object.entries(doc.json.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => ({ method, path })),
    );
    assert.ok(routes.length >= 30, `only ${routes.length} partner routes`);
  });

  after(async () => {
    await cp?.stop();
  });

  test('fail/without a session every partner endpoint answers 401', async () => {
    for (const { method, path } of routes) {
      const res = await call(
        cp,
        undefined,
        method.toUpperCase(),
        fill(path, a, a),
        await bodyFor(method, path),
      );
      assert.equal(res.status, 401, `${method} ${path}: ${res.text}`);
    }
  });

  test('fail/a member of another organisation naming this one gets 404 everywhere', async () => {
    for (const { method, path } of routes.filter((r) => r.path.includes('{orgId}'))) {
      const res = await call(cp, adminB, method.toUpperCase(), fill(path, a, a), await bodyFor(method, path));
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    }
  });

  test("fail/another organisation's objects under one's own organisation are 404", async () => {
    const withObjects = routes.filter((r) => /\{orgId\}.*\{\w+\}/.test(r.path));
    assert.ok(withObjects.length >= 15);
    for (const { method, path } of withObjects) {
      const res = await call(cp, adminB, method.toUpperCase(), fill(path, b, a), await bodyFor(method, path));
      assert.equal(res.status, 404, `${method} ${path} with organisation A's object: ${res.text}`);
    }
  });

  test('fail/a viewer changes nothing', async () => {
    for (const { method, path } of routes.filter((r) => r.path.includes('{orgId}') && UNSAFE.has(r.method))) {
      const res = await call(
        cp,
        viewerA,
        method.toUpperCase(),
        fill(path, a, a),
        await bodyFor(method, path),
      );
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
    }
  });

  test("ok/organisation A's objects are untouched after all of that", async () => {
    const base = `/partner/v1/organisations/${a.orgId}`;
    const app = await call(cp, adminA, 'GET', `${base}/applications/${a.clientId}`);
    assert.equal(app.status, 200);
    assert.equal(app.json.name, 'Sandbox App');
    assert.equal(app.json.status, 'active');
    const cert = await call(cp, adminA, 'GET', `${base}/certificates/${a.serial}`);
    assert.equal(cert.json.status, 'active');
    const profile = await call(cp, adminA, 'GET', base);
    assert.ok(profile.json.contacts.some((c: { id: string }) => c.id === a.contactId));
    assert.equal(profile.json.live_at, null);
    const requests = await call(cp, adminA, 'GET', `${base}/role-requests`);
    assert.equal(
      requests.json.items.find((r: { id: string }) => r.id === a.roleRequestId)?.status,
      'pending',
    );
    const invitations = await call(cp, adminA, 'GET', `${base}/invitations`);
    const invitation = invitations.json.items.find((i: { id: string }) => i.id === a.invitationId);
    assert.ok(invitation && !invitation.revoked_at, JSON.stringify(invitation));
    const members = await call(cp, adminA, 'GET', `${base}/members`);
    const viewer = members.json.items.find((m: { account_id: string }) => m.account_id === a.accountId);
    assert.equal(viewer?.role, 'viewer');
  });
});
