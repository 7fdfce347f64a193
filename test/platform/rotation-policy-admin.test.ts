import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { type CertificateAuthority, createCsr } from '../../src/pki/index.ts';
import { registerOperatorAuth } from '../../src/platform/admin-api/auth.ts';
import { registerRotationPolicyRoutes } from '../../src/platform/admin-api/rotation-policy-routes.ts';
import { problemSchema } from '../../src/platform/admin-api/schemas.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import { createOperatorToken } from '../../src/platform/operator-tokens.ts';
import type { Storage } from '../../src/storage/index.ts';
import { createPartner, installCa, type Partner } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const target = (await engineTargets()).find((t) => t.name === 'sqlite')!;

describe('admin API: rotation policies and operator renewal', () => {
  let storage: Storage;
  let ca: CertificateAuthority;
  let app: FastifyInstance;
  let operator: string;
  let partner: Partner;

  const call = async (method: 'GET' | 'PUT' | 'DELETE' | 'POST', url: string, payload?: unknown) => {
    const r = await app.inject({
      method,
      url: `/admin/v1${url}`,
      headers: { authorization: `Bearer ${operator}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
    return { status: r.statusCode, body: r.body ? (r.json() as Record<string, unknown>) : {} };
  };

  before(async () => {
    storage = await seededStorage(target);
    ca = await installCa(storage);
    partner = await createPartner(storage, 'Acme Bank');
    operator = await storage.transaction((tx) => createOperatorToken(tx, 'alice', META));
    app = createHttpsServer({ tls: {}, logger: pino({ level: 'silent' }) });
    app.addSchema(problemSchema);
    const deps = { storage, clock: () => META.now, ca, urlGuard: undefined as never };
    await app.register(
      async (admin) => {
        registerOperatorAuth(admin, deps);
        registerRotationPolicyRoutes(admin, deps);
      },
      { prefix: '/admin/v1' },
    );
    await app.ready();
  });

  after(async () => {
    await app.close();
    await storage.close();
    await target.cleanup();
  });

  test('ok/GET: no policy stored, the platform’s in force', async () => {
    const r = await call('GET', `/organisations/${partner.orgId}/rotation-policy`);
    assert.equal(r.status, 200);
    assert.equal(r.body.policy, null);
    assert.deepEqual(r.body.effective, {
      lifetime_days: 90,
      key_algorithms: ['ES256', 'ES384', 'RSA-2048', 'RSA-3072', 'RSA-4096', 'Ed25519'],
      renewals_before_review: null,
    });
  });

  test('ok/PUT organisation then application: application over organisation, field by field; audited', async () => {
    const org = await call('PUT', `/organisations/${partner.orgId}/rotation-policy`, {
      lifetime_days: 30,
      key_algorithms: ['ES384'],
      renewals_before_review: 5,
    });
    assert.equal(org.status, 200, JSON.stringify(org.body));
    const appPolicy = await call('PUT', `/applications/${partner.clientId}/rotation-policy`, {
      lifetime_days: 7,
    });
    assert.equal(appPolicy.status, 200);
    assert.deepEqual(appPolicy.body.effective, {
      lifetime_days: 7,
      key_algorithms: ['ES384'],
      renewals_before_review: 5,
    });
    const audit = await storage.db
      .selectFrom('audit_log')
      .select(['action', 'actor'])
      .where('action', '=', 'rotation_policy.set')
      .execute();
    assert.deepEqual(
      audit.map((a) => a.actor),
      ['operator:alice', 'operator:alice'],
    );
  });

  const invalid: Array<[string, Record<string, unknown>]> = [
    ['fail/unknown key algorithm', { key_algorithms: ['RS256'] }],
    ['fail/lifetime beyond 825 days', { lifetime_days: 1000 }],
    ['fail/negative review limit', { renewals_before_review: -1 }],
    ['fail/unknown field', { lifetime: 30 }],
    ['fail/empty algorithm list', { key_algorithms: [] }],
  ];
  for (const [name, payload] of invalid) {
    test(name, async () => {
      const r = await call('PUT', `/applications/${partner.clientId}/rotation-policy`, payload);
      assert.equal(r.status, 400, JSON.stringify(r.body));
    });
  }

  test('fail/unknown organisation or application: 404, nothing stored', async () => {
    assert.equal(
      (await call('PUT', '/organisations/nope/rotation-policy', { lifetime_days: 3 })).status,
      404,
    );
    assert.equal((await call('GET', '/applications/cl_nope/rotation-policy')).status, 404);
    const rows = await storage.db.selectFrom('rotation_policies').select('subject_id').execute();
    assert.equal(rows.length, 2);
  });

  test('ok/operator issuance and renewal follow the policy; approve-renewal', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const first = await storage.transaction(async (tx) =>
      ca.issue(tx, { clientId: partner.clientId, csrPem: await createCsr(p384) }, META),
    );
    const refused = await call('POST', `/certificates/${first.serial}/renew`, {
      csr: await createCsr(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'key_algorithm_not_allowed');
    const renewed = await call('POST', `/certificates/${first.serial}/renew`, {
      csr: await createCsr(generateKeyPairSync('ec', { namedCurve: 'P-384' })),
    });
    assert.equal(renewed.status, 201, JSON.stringify(renewed.body));
    assert.equal(renewed.body.renews, first.serial);
    assert.equal(renewed.body.renewal_count, 0);
    const approved = await call('POST', `/certificates/${String(renewed.body.serial)}/approve-renewal`);
    assert.equal(approved.status, 200);
    assert.equal((await call('POST', '/certificates/ffff/approve-renewal')).status, 404);
  });

  test('ok/DELETE: the next level applies; a second DELETE is 404', async () => {
    assert.equal((await call('DELETE', `/applications/${partner.clientId}/rotation-policy`)).status, 204);
    assert.equal((await call('DELETE', `/applications/${partner.clientId}/rotation-policy`)).status, 404);
    const r = await call('GET', `/applications/${partner.clientId}/rotation-policy`);
    assert.equal((r.body.effective as { lifetime_days: number }).lifetime_days, 30);
  });
});
