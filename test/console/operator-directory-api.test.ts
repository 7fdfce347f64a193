// Issue 15, operator console (directory): the approval queue, the certificate list with its "expiring soon"
// filter and revocation with an RFC 5280 reason, the registrations view and the overview, through /admin/v1
// with operator console sessions (administrators change, auditors only read, CSRF on every change).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { Agent, request } from 'undici';
import { createApplication, createRoleRequest } from '../../src/directory/index.ts';
import { csrWithKey } from '../gateway/fixture.ts';
import {
  type ConsolePlatform,
  call,
  makeOperator,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';

describe('operator console: directory admin API (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let admin: TestSession;
  let auditor: TestSession;
  let orgId: string;
  let otherOrgId: string;
  let clientId: string;
  const requests: Record<string, string> = {};
  const meta = () => ({ actor: 'account:partner', now: new Date() });

  const ask = (role: string) =>
    cp.platform.storage.transaction(
      async (tx) => (await createRoleRequest(tx, { orgId, clientId, role }, meta())).id,
    );

  before(async () => {
    cp = await startConsolePlatform({ ACCREDIT_REGISTRATION_ALLOW_IAT: 'true' });
    admin = await sessionFor(cp, await makeOperator(cp, 'administrator'));
    auditor = await sessionFor(cp, await makeOperator(cp, 'auditor'));
    const org = await call(cp, admin, 'POST', '/admin/v1/organisations', {
      name: 'Queue Bank',
      roles: ['partner_reader'],
    });
    assert.equal(org.status, 201, org.text);
    orgId = org.json.id;
    otherOrgId = (await call(cp, admin, 'POST', '/admin/v1/organisations', { name: 'Other Org' })).json.id;
    const app = await call(cp, admin, 'POST', '/admin/v1/applications', {
      org_id: orgId,
      name: 'Queue app',
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
    });
    assert.equal(app.status, 201, app.text);
    clientId = app.json.client_id;
    requests.writer = await ask('partner_writer');
    requests.analyst = await ask('partner_analyst');
  });
  after(async () => {
    await cp?.stop();
  });

  test('ok/the queue lists pending requests, filtered by organisation; one is readable by id', async () => {
    const list = await call(cp, auditor, 'GET', `/admin/v1/role-requests?status=pending&org_id=${orgId}`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.items.map((r: { role: string }) => r.role).sort(), [
      'partner_analyst',
      'partner_writer',
    ]);
    assert.equal(list.json.items[0].org_name, 'Queue Bank');
    assert.equal(list.json.items[0].application_name, 'Queue app');
    const none = await call(cp, admin, 'GET', `/admin/v1/role-requests?org_id=${otherOrgId}`);
    assert.deepEqual(none.json.items, []);
    const one = await call(cp, admin, 'GET', `/admin/v1/role-requests/${requests.writer}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.status, 'pending');
    assert.equal((await call(cp, admin, 'GET', '/admin/v1/role-requests/nope')).status, 404);
    const bad = await call(cp, admin, 'GET', '/admin/v1/role-requests?status=maybe');
    assert.equal(bad.status, 400);
  });

  test('fail/an auditor cannot approve (403 read_only), nor can a session without the CSRF header', async () => {
    const ro = await call(cp, auditor, 'POST', `/admin/v1/role-requests/${requests.writer}/approve`, {});
    assert.equal(ro.status, 403);
    assert.equal(ro.json.code, 'read_only');
    const csrf = await call(
      cp,
      admin,
      'POST',
      `/admin/v1/role-requests/${requests.writer}/approve`,
      {},
      { 'x-csrf-token': 'wrong' },
    );
    assert.equal(csrf.status, 403);
    assert.equal(csrf.json.code, 'csrf_token_invalid');
    const still = await call(cp, admin, 'GET', `/admin/v1/role-requests/${requests.writer}`);
    assert.equal(still.json.status, 'pending', 'nothing was decided');
    const roles = await call(cp, admin, 'GET', `/admin/v1/applications/${clientId}/roles`);
    assert.ok(!roles.json.items.some((g: { role: string }) => g.role === 'partner_writer'));
  });

  test('ok/approving grants the role: the organisation is approved and the application gets its scopes', async () => {
    const res = await call(cp, admin, 'POST', `/admin/v1/role-requests/${requests.writer}/approve`, {});
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'approved');
    assert.match(res.json.decided_by, /^account:/);
    const app = await call(cp, admin, 'GET', `/admin/v1/applications/${clientId}`);
    assert.ok(app.json.roles.includes('partner_writer'), app.text);
    assert.ok(app.json.scopes.includes('payments:submit'), app.text);
    const org = await call(cp, admin, 'GET', `/admin/v1/organisations/${orgId}`);
    assert.ok(org.json.roles.includes('partner_writer'));
    const audit = await cp.platform.storage.db
      .selectFrom('audit_log')
      .select(['action', 'actor'])
      .where('action', '=', 'role_request.approve')
      .execute();
    assert.equal(audit.length, 1);
    assert.match(audit[0]?.actor ?? '', /^account:/, 'the operator account is the actor');
    const missing = await call(cp, admin, 'POST', '/admin/v1/role-requests/nope/approve', {});
    assert.equal(missing.status, 404);
  });

  test('fail/a request decided once answers 409 to a second decision', async () => {
    const again = await call(cp, admin, 'POST', `/admin/v1/role-requests/${requests.writer}/approve`, {});
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'role_request_decided');
    const reject = await call(cp, admin, 'POST', `/admin/v1/role-requests/${requests.writer}/reject`, {
      reason: 'changed my mind',
    });
    assert.equal(reject.status, 409);
  });

  test('fail/a rejection needs a reason (missing, empty or blank: 400), then records it', async () => {
    const path = `/admin/v1/role-requests/${requests.analyst}/reject`;
    for (const body of [{}, { reason: '' }, { reason: '   ' }]) {
      const res = await call(cp, admin, 'POST', path, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    }
    const still = await call(cp, admin, 'GET', `/admin/v1/role-requests/${requests.analyst}`);
    assert.equal(still.json.status, 'pending');
    const res = await call(cp, admin, 'POST', path, { reason: 'Reports are not offered to payment firms' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'rejected');
    assert.equal(res.json.reason, 'Reports are not offered to payment firms');
    const app = await call(cp, admin, 'GET', `/admin/v1/applications/${clientId}`);
    assert.ok(!app.json.roles.includes('partner_analyst'));
    const decided = await call(cp, admin, 'GET', `/admin/v1/role-requests?status=rejected&org_id=${orgId}`);
    assert.deepEqual(
      decided.json.items.map((r: { id: string }) => r.id),
      [requests.analyst],
    );
  });

  test('ok/approve with an end date; an end date in the past is refused', async () => {
    const id = await ask('partner_analyst');
    const past = await call(cp, admin, 'POST', `/admin/v1/role-requests/${id}/approve`, {
      expires_at: '2001-01-01T00:00:00Z',
    });
    assert.equal(past.status, 400, past.text);
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const ok = await call(cp, admin, 'POST', `/admin/v1/role-requests/${id}/approve`, { expires_at: until });
    assert.equal(ok.status, 200, ok.text);
    const roles = await call(cp, admin, 'GET', `/admin/v1/applications/${clientId}/roles`);
    const grant = roles.json.items.find((g: { role: string }) => g.role === 'partner_analyst');
    assert.equal(grant?.expires_at, until);
  });

  const serials: string[] = [];
  let credential: { certPem: string; keyPem: string; subject: string };

  test('ok/certificates: listed across applications; expiring soon sorted by not_after; filters', async () => {
    for (let i = 0; i < 2; i++) {
      const { csrPem, keyPem } = await csrWithKey();
      const issued = await call(cp, admin, 'POST', `/admin/v1/applications/${clientId}/certificates`, {
        csr: csrPem,
      });
      assert.equal(issued.status, 201, issued.text);
      serials.push(issued.json.serial);
      credential = { certPem: issued.json.certificate_pem, keyPem, subject: issued.json.subject };
    }
    const all = await call(cp, auditor, 'GET', '/admin/v1/certificates');
    assert.equal(all.status, 200);
    assert.ok(serials.every((s) => all.json.items.some((c: { serial: string }) => c.serial === s)));
    assert.equal(all.json.items[0].certificate_pem, undefined, 'lists carry no PEM');

    const soon = await call(cp, auditor, 'GET', '/admin/v1/certificates?expiring_within_days=3650');
    assert.equal(soon.status, 200, soon.text);
    const ends = soon.json.items.map((c: { not_after: string }) => c.not_after);
    assert.ok(ends.length >= 2);
    assert.deepEqual([...ends].sort(), ends, 'soonest first');
    const none = await call(cp, auditor, 'GET', '/admin/v1/certificates?expiring_within_days=0');
    assert.deepEqual(none.json.items, []);

    const mine = await call(cp, auditor, 'GET', `/admin/v1/certificates?client_id=${clientId}`);
    assert.deepEqual(mine.json.items.map((c: { serial: string }) => c.serial).sort(), [...serials].sort());
    const other = await call(cp, auditor, 'GET', `/admin/v1/certificates?org_id=${otherOrgId}`);
    assert.deepEqual(other.json.items, []);
    const inOrg = await call(cp, auditor, 'GET', `/admin/v1/certificates?org_id=${orgId}&status=active`);
    assert.equal(inOrg.json.items.length, 2);
    for (const q of ['expiring_within_days=-1', 'expiring_within_days=soon', 'status=gone']) {
      assert.equal((await call(cp, auditor, 'GET', `/admin/v1/certificates?${q}`)).status, 400, q);
    }
  });

  test('ok/revocation with an RFC 5280 reason; an unknown reason or an auditor is refused', async () => {
    const serial = serials[0];
    const bad = await call(cp, admin, 'POST', `/admin/v1/certificates/${serial}/revoke`, { reason: 'lost' });
    assert.equal(bad.status, 400);
    const ro = await call(cp, auditor, 'POST', `/admin/v1/certificates/${serial}/revoke`, {
      reason: 'keyCompromise',
    });
    assert.equal(ro.status, 403);
    const ok = await call(cp, admin, 'POST', `/admin/v1/certificates/${serial}/revoke`, {
      reason: 'keyCompromise',
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'revoked');
    assert.equal(ok.json.revocation_reason, 'keyCompromise');
    const soon = await call(cp, auditor, 'GET', '/admin/v1/certificates?expiring_within_days=3650');
    assert.ok(!soon.json.items.some((c: { serial: string }) => c.serial === serial), 'revoked: not expiring');
    const revoked = await call(cp, auditor, 'GET', '/admin/v1/certificates?status=revoked');
    assert.deepEqual(
      revoked.json.items.map((c: { serial: string }) => c.serial),
      [serial],
    );
  });

  test('ok/registrations: a DCR client shows with its organisation, initial access token and metadata', async () => {
    const iat = await call(cp, admin, 'POST', '/admin/v1/registration/initial-access-tokens', {
      org_id: orgId,
      roles: ['partner_reader'],
    });
    assert.equal(iat.status, 201, iat.text);
    const agent = new Agent({
      connect: { ca: cp.platform.ca.chainPem, cert: credential.certPem, key: credential.keyPem },
    });
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
          tls_client_auth_subject_dn: credential.subject,
          grant_types: ['client_credentials'],
        }),
      });
      const text = await res.body.text();
      assert.equal(res.statusCode, 201, text);
      const registered = JSON.parse(text) as { client_id: string; registration_access_token: string };

      const view = await call(cp, auditor, 'GET', '/admin/v1/registrations?type=dynamic');
      assert.equal(view.status, 200, view.text);
      const item = view.json.items.find((r: { client_id: string }) => r.client_id === registered.client_id);
      assert.ok(item, view.text);
      assert.equal(item.type, 'dynamic');
      assert.equal(item.org_id, orgId);
      assert.equal(item.org_name, 'Queue Bank');
      assert.equal(item.status, 'active');
      assert.equal(item.software_statement.initial_access_token_id, iat.json.id);
      assert.equal(item.trust_chain, null);
      assert.equal(item.metadata.tls_client_auth_subject_dn, credential.subject);
      assert.ok(item.created_at);
      assert.ok(!view.text.includes(registered.registration_access_token), 'no registration token');
      assert.ok(!view.text.includes('registration_token_hash'));

      const fed = await call(cp, auditor, 'GET', '/admin/v1/registrations?type=federation');
      assert.deepEqual(fed.json.items, []);
      const bad = await call(cp, auditor, 'GET', '/admin/v1/registrations?type=manual');
      assert.equal(bad.status, 400);
    } finally {
      await agent.close();
    }
  });

  test('ok/registrations: a federation registration shows its chain and the subordinate statement’s policy', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'f1', alg: 'ES256', use: 'sig' };
    const policy = { openid_relying_party: { grant_types: { subset_of: ['authorization_code'] } } };
    const sub = await call(cp, admin, 'POST', '/admin/v1/federation/subordinates', {
      entity_id: 'https://intermediate.fed.example',
      org_id: orgId,
      jwks: { keys: [jwk] },
      is_intermediate: true,
      metadata_policy: policy,
    });
    assert.equal(sub.status, 201, sub.text);
    // What the directory and the authorization server record once a chain resolved (their own tests cover
    // how it gets there): the client, whose client_id is its Entity Identifier, and the registration.
    await cp.platform.storage.transaction((tx) =>
      createApplication(
        tx,
        {
          orgId,
          name: 'Leaf RP',
          roles: ['partner_reader'],
          authMethod: 'private_key_jwt',
          registrationType: 'federation',
          clientId: 'https://leaf.fed.example',
          metadata: { grant_types: ['authorization_code'], jwks: { keys: [jwk] } },
        },
        meta(),
      ),
    );
    const now = new Date().toISOString();
    await cp.platform.storage.db
      .insertInto('federation_registrations')
      .values({
        client_id: 'https://leaf.fed.example',
        org_id: orgId,
        kind: 'automatic',
        trust_anchor: 'https://anchor.fed.example',
        authority_hint: 'https://intermediate.fed.example',
        via_subordinate: 'https://intermediate.fed.example',
        trust_mark_types: JSON.stringify(['https://marks.example/accredited']),
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        resolved_at: now,
        status: 'active',
        ended_reason: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const view = await call(cp, auditor, 'GET', '/admin/v1/registrations?type=federation');
    assert.equal(view.status, 200, view.text);
    assert.equal(view.json.items.length, 1, view.text);
    const [item] = view.json.items;
    assert.equal(item.type, 'federation');
    assert.equal(item.client_id, 'https://leaf.fed.example');
    assert.equal(item.org_name, 'Queue Bank');
    assert.equal(item.software_statement, null);
    assert.equal(item.refreshed_at, now);
    assert.equal(item.trust_chain.kind, 'automatic');
    assert.deepEqual(item.trust_chain.trust_mark_types, ['https://marks.example/accredited']);
    const ids: string[] = item.trust_chain.entity_ids;
    assert.deepEqual(ids.slice(0, 2), ['https://leaf.fed.example', 'https://intermediate.fed.example']);
    assert.equal(ids.at(-1), 'https://anchor.fed.example');
    assert.equal(ids.length, 4, 'leaf, intermediate, the platform, the anchor');
    assert.deepEqual(item.metadata_policy, policy);
    assert.equal(item.application_name, 'Leaf RP');
    assert.deepEqual(item.metadata.grant_types, ['authorization_code']);
    const all = await call(cp, auditor, 'GET', '/admin/v1/registrations');
    assert.deepEqual(all.json.items.map((r: { type: string }) => r.type).sort(), ['dynamic', 'federation']);
    const one = await call(
      cp,
      auditor,
      'GET',
      `/admin/v1/registrations?client_id=${encodeURIComponent('https://leaf.fed.example')}`,
    );
    assert.equal(one.json.items.length, 1);
  });

  test('ok/the configured Trust Mark types are listed for the console (auditors read them)', async () => {
    const res = await call(cp, auditor, 'GET', '/admin/v1/federation/trust-mark-types');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.items.length, 1);
    assert.match(res.json.items[0].type, /\/trust-marks\/accredited-partner$/);
    assert.deepEqual(res.json.items[0].roles, []);
  });

  test('ok/overview counts; an organisation’s live status', async () => {
    await ask('partner_analyst').catch(() => undefined);
    const pending = (await call(cp, auditor, 'GET', '/admin/v1/role-requests?status=pending')).json.items;
    const res = await call(cp, auditor, 'GET', '/admin/v1/overview');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.pending_role_requests, pending.length);
    assert.equal(res.json.organisations.total, 2);
    assert.equal(res.json.organisations.active, 2);
    assert.equal(res.json.expiring_within_days, 30);
    assert.equal(res.json.certificates_expiring, 0);
    assert.equal(res.json.registrations.dynamic, 1);
    assert.equal(res.json.registrations.federation, 1);
    const live = await call(cp, auditor, 'GET', `/admin/v1/organisations/${orgId}/live-status`);
    assert.equal(live.status, 200, live.text);
    assert.deepEqual(live.json, { org_id: orgId, live: false, live_at: null });
    const missing = await call(cp, auditor, 'GET', '/admin/v1/organisations/nope/live-status');
    assert.equal(missing.status, 404);
  });
});
