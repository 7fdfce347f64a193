import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { createOrganisation } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { registerOperatorAuth } from '../../src/platform/admin-api/auth.ts';
import { registerInitialAccessTokenRoutes } from '../../src/platform/admin-api/initial-access-tokens-routes.ts';
import { problemSchema } from '../../src/platform/admin-api/schemas.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import { createOperatorToken } from '../../src/platform/operator-tokens.ts';
import type { Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();
const BASE = '/admin/v1/registration/initial-access-tokens';

interface TokenView {
  id: string;
  org_id: string;
  roles: string[];
  status: string;
  created_by: string;
  expires_at: string;
  max_uses: number;
  used_count: number;
  revoked_at: string | null;
  initial_access_token?: string;
}

for (const target of targets) {
  describe(`admin API: initial access tokens (RFC 7591 §3): ${target.name}`, { skip: target.skip }, () => {
    let storage: Storage;
    let operator: string;
    let acme: string;
    let suspended: string;
    const apps: FastifyInstance[] = [];

    async function adminApi(enabled: boolean): Promise<FastifyInstance> {
      const app = createHttpsServer({ tls: {}, logger: pino({ level: 'silent' }) });
      app.addSchema(problemSchema);
      const deps = {
        storage,
        clock: () => META.now,
        ca: undefined as unknown as CertificateAuthority,
        urlGuard: { assertFetchable: async () => {} },
      };
      await app.register(
        async (admin) => {
          registerOperatorAuth(admin, deps);
          registerInitialAccessTokenRoutes(admin, deps, { enabled });
        },
        { prefix: '/admin/v1' },
      );
      await app.ready();
      apps.push(app);
      return app;
    }
    let api: FastifyInstance;
    let disabled: FastifyInstance;

    const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, app = api) => {
      const r = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${operator}` },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
      return {
        status: r.statusCode,
        headers: r.headers,
        body: r.body ? (r.json() as Record<string, unknown>) : {},
      };
    };

    before(async () => {
      storage = await seededStorage(target);
      operator = await storage.transaction((tx) => createOperatorToken(tx, 'alice', META));
      acme = await storage.transaction((tx) =>
        createOrganisation(tx, { name: 'Acme Bank', roles: ['partner_reader', 'partner_writer'] }, META),
      );
      suspended = await storage.transaction((tx) => createOrganisation(tx, { name: 'Gone Ltd' }, META));
      await storage.db
        .updateTable('organisations')
        .set({ status: 'suspended' })
        .where('id', '=', suspended)
        .execute();
      api = await adminApi(true);
      disabled = await adminApi(false);
    });

    after(async () => {
      for (const app of apps) await app.close();
      await storage?.close();
      await target.cleanup();
    });

    test('ok/issue: 201, the token once (no-store), defaults of a day and one use; list and read never show it; audited', async () => {
      const r = await call('POST', BASE, { org_id: acme, roles: ['partner_writer', 'partner_reader'] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.headers['cache-control'], 'no-store');
      const issued = r.body as unknown as TokenView;
      assert.equal(r.headers.location, `${BASE}/${issued.id}`);
      assert.match(String(issued.initial_access_token), /^acc_iat_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(issued.roles, ['partner_reader', 'partner_writer']);
      assert.equal(issued.status, 'active');
      assert.equal(issued.created_by, 'operator:alice');
      assert.equal(issued.max_uses, 1);
      assert.equal(issued.used_count, 0);
      assert.equal(issued.expires_at, new Date(META.now.getTime() + 86_400_000).toISOString());

      const list = await call('GET', `${BASE}?org_id=${acme}`);
      assert.equal(list.status, 200);
      const items = list.body.items as TokenView[];
      assert.ok(items.some((t) => t.id === issued.id));
      assert.ok(!JSON.stringify(list.body).includes(String(issued.initial_access_token)));
      const read = await call('GET', `${BASE}/${issued.id}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.initial_access_token, undefined);
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'actor', 'details'])
        .where('target_id', '=', issued.id)
        .execute();
      assert.deepEqual(
        audit.map((a) => [a.action, a.actor]),
        [['initial_access_token.issue', 'operator:alice']],
      );
      assert.ok(!JSON.stringify(audit).includes(String(issued.initial_access_token)));
    });

    test('ok/revoke (DELETE, or POST …/revoke with a reason): status revoked, audited once, idempotent', async () => {
      const issued = (await call('POST', BASE, { org_id: acme, roles: ['partner_reader'], max_uses: 5 }))
        .body as unknown as TokenView;
      const revoked = await call('POST', `${BASE}/${issued.id}/revoke`, {
        reason: 'sent to the wrong partner',
      });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.equal(revoked.body.status, 'revoked');
      assert.equal(revoked.body.revoked_at, META.now.toISOString());
      const again = await call('DELETE', `${BASE}/${issued.id}`);
      assert.equal(again.status, 200);
      assert.equal(again.body.status, 'revoked');
      const audit = await storage.db
        .selectFrom('audit_log')
        .select(['action', 'details'])
        .where('target_id', '=', issued.id)
        .where('action', '=', 'initial_access_token.revoke')
        .execute();
      assert.equal(audit.length, 1);
      assert.equal(JSON.parse(audit[0]!.details).reason, 'sent to the wrong partner');
      assert.equal((await call('DELETE', `${BASE}/00000000-0000-0000-0000-000000000000`)).status, 404);
      assert.equal((await verifyAuditChain(storage.db)).ok, true);
    });

    const refusals: Array<{
      name: string;
      body: () => Record<string, unknown>;
      status: number;
      code: string;
    }> = [
      {
        name: 'fail/no roles',
        body: () => ({ org_id: acme, roles: [] }),
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'fail/expires_in_seconds below a minute',
        body: () => ({ org_id: acme, roles: ['partner_reader'], expires_in_seconds: 59 }),
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'fail/expires_in_seconds beyond 30 days',
        body: () => ({ org_id: acme, roles: ['partner_reader'], expires_in_seconds: 30 * 86_400 + 1 }),
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'fail/max_uses 0',
        body: () => ({ org_id: acme, roles: ['partner_reader'], max_uses: 0 }),
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'fail/max_uses above 100',
        body: () => ({ org_id: acme, roles: ['partner_reader'], max_uses: 101 }),
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'fail/an unknown role',
        body: () => ({ org_id: acme, roles: ['root'] }),
        status: 400,
        code: 'invalid_input',
      },
      {
        name: 'fail/a role the organisation is not approved for',
        body: () => ({ org_id: acme, roles: ['partner_analyst'] }),
        status: 403,
        code: 'role_not_approved',
      },
      {
        name: 'fail/an unknown organisation',
        body: () => ({ org_id: 'nope', roles: ['partner_reader'] }),
        status: 404,
        code: 'not_found',
      },
      {
        name: 'fail/a suspended organisation',
        body: () => ({ org_id: suspended, roles: ['partner_reader'] }),
        status: 409,
        code: 'organisation_not_active',
      },
    ];
    for (const c of refusals) {
      test(`${c.name}: ${c.status} ${c.code}, nothing issued`, async () => {
        const before = await storage.db.selectFrom('initial_access_tokens').select('id').execute();
        const r = await call('POST', BASE, c.body());
        assert.equal(r.status, c.status, JSON.stringify(r.body));
        assert.equal(r.body.code, c.code, JSON.stringify(r.body));
        assert.equal(
          (await storage.db.selectFrom('initial_access_tokens').select('id').execute()).length,
          before.length,
        );
      });
    }

    test('fail/registration.allowInitialAccessTokens off: issuing is refused (409) naming the key; list and revoke still work', async () => {
      const r = await call('POST', BASE, { org_id: acme, roles: ['partner_reader'] }, disabled);
      assert.equal(r.status, 409);
      assert.equal(r.body.code, 'initial_access_tokens_disabled');
      assert.match(String(r.body.detail), /registration\.allowInitialAccessTokens/);
      assert.match(String(r.body.detail), /ACCREDIT_REGISTRATION_ALLOW_IAT/);
      assert.equal((await call('GET', BASE, undefined, disabled)).status, 200);
    });

    test('fail/without an operator token: 401', async () => {
      const r = await api.inject({ method: 'GET', url: BASE });
      assert.equal(r.statusCode, 401);
    });
  });
}
