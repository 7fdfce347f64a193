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
import type { GuardedFetcher, GuardedFetcherOptions } from '../../src/shared/guarded-fetch/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();
const DNS = {
  'keys.acme.example': ['93.184.216.34'],
  'keys.internal.example': ['93.184.216.34', '192.168.10.20'],
};

// A manual application's jwks_uri is fetched by the authorization server like any other client's: the admin API
// refuses one the platform's partner fetcher would not fetch, with the directory's 400 problem, storing nothing.
for (const target of targets) {
  describe(`admin API: application jwks_uri (no SSRF): ${target.name}`, { skip: target.skip }, () => {
    let storage: Storage;
    let operator: string;
    let acme: string;
    const apps: FastifyInstance[] = [];
    const fetchers: GuardedFetcher[] = [];

    async function adminApi(policy: GuardedFetcherOptions = {}): Promise<FastifyInstance> {
      const fetcher = testPartnerFetcher({ dns: DNS, ...policy });
      fetchers.push(fetcher);
      const app = createHttpsServer({ tls: {}, logger: pino({ level: 'silent' }) });
      app.addSchema(problemSchema);
      const deps = {
        storage,
        clock: () => META.now,
        ca: undefined as unknown as CertificateAuthority,
        urlGuard: fetcher,
      };
      await app.register(
        async (admin) => {
          registerOperatorAuth(admin, deps);
          registerApplicationRoutes(admin, deps);
        },
        { prefix: '/admin/v1' },
      );
      await app.ready();
      apps.push(app);
      return app;
    }

    let counter = 0;
    async function create(app: FastifyInstance, jwksUri: string) {
      const r = await app.inject({
        method: 'POST',
        url: '/admin/v1/applications',
        headers: { authorization: `Bearer ${operator}` },
        payload: {
          org_id: acme,
          name: `Keys by reference ${++counter}`,
          roles: ['partner_reader'],
          auth_method: 'private_key_jwt',
          metadata: { jwks_uri: jwksUri },
        },
      });
      return {
        status: r.statusCode,
        type: r.headers['content-type'],
        body: r.json() as Record<string, unknown>,
      };
    }
    const applications = async () =>
      (await storage.db.selectFrom('applications').select('client_id').execute()).length;

    before(async () => {
      storage = await seededStorage(target);
      operator = await storage.transaction((tx) => createOperatorToken(tx, 'alice', META));
      acme = await storage.transaction((tx) =>
        createOrganisation(tx, { name: 'Acme Bank', roles: ['partner_reader'] }, META),
      );
    });

    after(async () => {
      for (const app of apps) await app.close();
      for (const fetcher of fetchers) await fetcher.close();
      await storage?.close();
      await target.cleanup();
    });

    const refusals: Array<[name: string, jwksUri: string, reason: RegExp]> = [
      ['loopback', 'https://127.0.0.1:8443/jwks', /loopback/],
      ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/jwks', /loopback/],
      ['localhost', 'https://localhost/jwks', /loopback/],
      ['the cloud metadata service', 'https://169.254.169.254/latest/meta-data/', /private or link-local/],
      ['RFC 1918', 'https://10.0.0.1/jwks', /private or link-local/],
      ['CGNAT', 'https://100.64.0.1/jwks', /private or link-local/],
      ['IPv6 unique local', 'https://[fd00::1]/jwks', /private or link-local/],
      [
        'a name resolving to a private address',
        'https://keys.internal.example/jwks',
        /private or link-local/,
      ],
    ];
    for (const [name, jwksUri, reason] of refusals) {
      test(`fail/${name} jwks_uri → 400 invalid_input problem, nothing stored`, async () => {
        const api = await adminApi();
        const count = await applications();
        const r = await create(api, jwksUri);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.match(String(r.type), /^application\/problem\+json/);
        assert.equal(r.body.code, 'invalid_input');
        assert.match(String(r.body.detail), /^metadata\.jwks_uri is not a URL the platform fetches/);
        assert.match(String(r.body.detail), reason);
        assert.equal(await applications(), count);
      });
    }

    test('ok/a jwks_uri on a name resolving to public addresses is stored', async () => {
      const r = await create(await adminApi(), 'https://keys.acme.example/jwks');
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.metadata, { jwks_uri: 'https://keys.acme.example/jwks' });
    });

    test('ok/loopback with allowLoopback (development and tests keep working)', async () => {
      const r = await create(await adminApi({ allowLoopback: true }), 'https://127.0.0.1:8443/jwks');
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });
  });
}
