import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createOrganisation } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { registerApplicationRoutes } from '../../src/platform/admin-api/applications-routes.ts';
import { registerOperatorAuth } from '../../src/platform/admin-api/auth.ts';
import { problemSchema } from '../../src/platform/admin-api/schemas.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import { createOperatorToken } from '../../src/platform/operator-tokens.ts';
import type { Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

// Public clients (auth method none) through the admin API, as `accredit app create --auth none` sends them:
// accepted for the code flow, refused with a 400 problem (nothing stored) for client credentials.
const [target] = (await engineTargets()).filter((t) => t.name === 'sqlite');
const CALLBACK = 'https://app.acme.example/cb';

describe('admin API: public clients (auth method none)', () => {
  let storage: Storage;
  let operator: string;
  let acme: string;
  let api: FastifyInstance;
  const fetcher = testPartnerFetcher();

  before(async () => {
    storage = await seededStorage(target!);
    operator = await storage.transaction((tx) => createOperatorToken(tx, 'alice', META));
    acme = await storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Acme Bank', roles: ['partner_reader'] }, META),
    );
    api = createHttpsServer({ tls: {}, logger: pino({ level: 'silent' }) });
    api.addSchema(problemSchema);
    const deps = {
      storage,
      clock: () => META.now,
      ca: undefined as unknown as CertificateAuthority,
      urlGuard: fetcher,
    };
    await api.register(
      async (admin) => {
        registerOperatorAuth(admin, deps);
        registerApplicationRoutes(admin, deps);
      },
      { prefix: '/admin/v1' },
    );
    await api.ready();
  });

  after(async () => {
    await api?.close();
    await fetcher.close();
    await storage?.close();
    await target!.cleanup();
  });

  const create = async (name: string, grantTypes: string[]) => {
    const r = await api.inject({
      method: 'POST',
      url: '/admin/v1/applications',
      headers: { authorization: `Bearer ${operator}` },
      payload: {
        org_id: acme,
        name,
        roles: ['partner_reader'],
        auth_method: 'none',
        metadata: { grant_types: grantTypes, redirect_uris: [CALLBACK] },
      },
    });
    return {
      status: r.statusCode,
      type: r.headers['content-type'],
      body: r.json() as Record<string, unknown>,
    };
  };

  test('ok/a public client of the code flow is registered', async () => {
    const r = await create('Mobile app', ['authorization_code', 'refresh_token']);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.auth_method, 'none');
  });

  test('fail/a public client with client_credentials → 400 invalid_input, nothing stored', async () => {
    const before = (await storage.db.selectFrom('applications').select('client_id').execute()).length;
    const r = await create('Mobile backend', ['authorization_code', 'client_credentials']);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(String(r.type), /^application\/problem\+json/);
    assert.equal(r.body.code, 'invalid_input');
    assert.match(String(r.body.detail), /cannot use client_credentials \(RFC 6749 §4\.4\)/);
    const after = (await storage.db.selectFrom('applications').select('client_id').execute()).length;
    assert.equal(after, before);
  });
});
