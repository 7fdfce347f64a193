import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { verifyAuditChain } from '../../src/audit/index.ts';
import {
  createApplication,
  createOrganisation,
  deregisterApplication,
  getApplication,
  getOrganisation,
  listCatalog,
  setApplicationStatus,
  setOrganisationStatus,
  updateRegisteredApplication,
} from '../../src/directory/index.ts';
import { createRootCa, x5tS256 } from '../../src/pki/index.ts';
import type { Change } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

const publicJwk = (opts: Parameters<typeof generateKeyPairSync>[1], type: 'rsa' | 'ec' | 'ed25519') =>
  // biome-ignore lint/suspicious/noExplicitAny: node's overloads do not narrow on a runtime type string.
  (generateKeyPairSync as any)(type, opts).publicKey.export({ format: 'jwk' });

for (const target of targets) {
  describe(`directory: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/the seed catalog maps the guide’s resources to scopes and default roles', async () => {
      const storage = await seededStorage(target);
      try {
        const catalog = await listCatalog(storage.db);
        const find = (method: string, path: string) =>
          catalog.find((r) => r.method === method && r.path_pattern === path);
        assert.deepEqual(find('GET', '/v1/accounts')?.roles, ['partner_reader']);
        assert.deepEqual(find('POST', '/v1/accounts')?.required_scopes, [['accounts:write']]);
        assert.deepEqual(find('POST', '/v1/payments')?.roles, ['partner_writer']);
        assert.deepEqual(find('GET', '/v1/reports/**')?.required_scopes, [['reports:download']]);
      } finally {
        await storage.close();
      }
    });

    test('ok/organisation and application are created, linked and audited', async () => {
      const storage = await seededStorage(target);
      try {
        const orgId = await storage.transaction((tx) =>
          createOrganisation(
            tx,
            {
              name: '  Acme   Bank ',
              contacts: [{ kind: 'security', name: 'Sec Ops', email: 'sec@acme.example' }],
            },
            META,
          ),
        );
        const org = await getOrganisation(storage.db, orgId);
        assert.equal(org.name, 'Acme Bank');
        assert.deepEqual(org.roles, ['partner_analyst', 'partner_reader', 'partner_writer']);
        assert.equal(org.contacts[0]?.email, 'sec@acme.example');
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              orgId,
              name: 'Payments',
              roles: ['partner_reader', 'partner_writer'],
              authMethod: 'tls_client_auth',
            },
            META,
          ),
        );
        const app = await getApplication(storage.db, clientId);
        assert.equal(app.org_id, orgId);
        assert.deepEqual(app.scopes, ['accounts:read', 'accounts:write', 'payments:submit']);
        assert.match(clientId, /^cl_[A-Za-z0-9_-]{22}$/);
        const audit = await storage.db
          .selectFrom('audit_log')
          .select(['action', 'actor'])
          .where('action', '!=', 'catalog.seed')
          .orderBy('seq')
          .execute();
        assert.deepEqual(
          audit.map((a) => a.action),
          ['organisation.create', 'application.create'],
        );
        assert.equal(audit[0]?.actor, 'operator:test');
        assert.equal((await verifyAuditChain(storage.db)).ok, true);
      } finally {
        await storage.close();
      }
    });

    test('fail/organisation input is rejected with a stable code and nothing is written', async () => {
      const storage = await seededStorage(target);
      try {
        await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme' }, META));
        const cases: Array<[string, Parameters<typeof createOrganisation>[1], string]> = [
          ['fail/duplicate name, other case', { name: 'ACME' }, 'conflict'],
          ['fail/empty name', { name: '   ' }, 'invalid_input'],
          ['fail/bidi override', { name: 'Evil\u202eCorp' }, 'invalid_name_character'],
          ['fail/unknown role', { name: 'Beta', roles: ['root'] }, 'invalid_input'],
          [
            'fail/bad contact e-mail',
            { name: 'Gamma', contacts: [{ kind: 'technical', name: 'x', email: 'nope' }] },
            'invalid_input',
          ],
        ];
        for (const [name, input, code] of cases) {
          await assert.rejects(
            storage.transaction((tx) => createOrganisation(tx, input, META)),
            { code },
            name,
          );
        }
        assert.equal((await storage.db.selectFrom('organisations').selectAll().execute()).length, 1);
        assert.equal(
          (
            await storage.db
              .selectFrom('audit_log')
              .selectAll()
              .where('action', '!=', 'catalog.seed')
              .execute()
          ).length,
          1,
        );
      } finally {
        await storage.close();
      }
    });

    test('fail/application input is rejected: unknown org, duplicates, roles, keys', async () => {
      const storage = await seededStorage(target);
      try {
        const orgId = await storage.transaction((tx) =>
          createOrganisation(tx, { name: 'Acme', roles: ['partner_reader'] }, META),
        );
        await storage.transaction((tx) =>
          createApplication(
            tx,
            { orgId, name: 'App', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
            META,
          ),
        );
        const weakRsa = publicJwk({ modulusLength: 1024 }, 'rsa');
        const goodEc = publicJwk({ namedCurve: 'P-256' }, 'ec');
        const k1 = publicJwk({ namedCurve: 'secp256k1' }, 'ec');
        const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
        const base = { orgId, name: 'Other', roles: ['partner_reader'], authMethod: 'tls_client_auth' };
        const cases: Array<[string, Parameters<typeof createApplication>[1], string]> = [
          ['fail/unknown org', { ...base, orgId: '00000000-0000-0000-0000-000000000000' }, 'not_found'],
          ['fail/duplicate name in org', { ...base, name: 'app' }, 'conflict'],
          ['fail/unknown role', { ...base, roles: ['admin'] }, 'invalid_input'],
          ['fail/no role', { ...base, roles: [] }, 'invalid_input'],
          ['fail/role not approved for org', { ...base, roles: ['partner_writer'] }, 'role_not_approved'],
          ['fail/client_secret auth', { ...base, authMethod: 'client_secret_basic' }, 'invalid_input'],
          ['fail/private_key_jwt without keys', { ...base, authMethod: 'private_key_jwt' }, 'invalid_input'],
          [
            'fail/weak RSA jwk',
            { ...base, authMethod: 'private_key_jwt', metadata: { jwks: { keys: [weakRsa] } } },
            'invalid_input',
          ],
          [
            'fail/secp256k1 jwk',
            { ...base, authMethod: 'private_key_jwt', metadata: { jwks: { keys: [k1] } } },
            'invalid_input',
          ],
          [
            'fail/private key material',
            { ...base, authMethod: 'private_key_jwt', metadata: { jwks: { keys: [priv] } } },
            'invalid_input',
          ],
          [
            'fail/jwks and jwks_uri',
            {
              ...base,
              authMethod: 'private_key_jwt',
              metadata: { jwks: { keys: [goodEc] }, jwks_uri: 'https://x.example/jwks' },
            },
            'invalid_input',
          ],
          [
            'fail/http jwks_uri',
            { ...base, authMethod: 'private_key_jwt', metadata: { jwks_uri: 'http://x.example/jwks' } },
            'invalid_input',
          ],
          // The redirect URI rules of dynamic registration hold for manual clients too.
          [
            'fail/http redirect URI',
            { ...base, metadata: { redirect_uris: ['http://x.example/cb'] } },
            'invalid_input',
          ],
          [
            'fail/redirect URI with a fragment',
            { ...base, metadata: { redirect_uris: ['https://x.example/cb#f'] } },
            'invalid_input',
          ],
          [
            'fail/redirect URIs not a list',
            { ...base, metadata: { redirect_uris: 'https://x.example/cb' } },
            'invalid_input',
          ],
          ['fail/relative redirect URI', { ...base, metadata: { redirect_uris: ['/cb'] } }, 'invalid_input'],
          // RFC 9449 §5.2: a boolean.
          [
            'fail/dpop_bound_access_tokens not a boolean',
            { ...base, metadata: { dpop_bound_access_tokens: 'true' } },
            'invalid_input',
          ],
        ];
        for (const [name, input, code] of cases) {
          await assert.rejects(
            storage.transaction((tx) => createApplication(tx, input, META)),
            { code },
            name,
          );
        }
        const ok = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              ...base,
              authMethod: 'private_key_jwt',
              metadata: {
                jwks: { keys: [goodEc] },
                redirect_uris: ['https://x.example/cb'],
                dpop_bound_access_tokens: true,
              },
            },
            META,
          ),
        );
        assert.ok(ok);
        assert.equal((await storage.db.selectFrom('applications').selectAll().execute()).length, 2);
      } finally {
        await storage.close();
      }
    });

    test('ok/self-signed clients register their certificate in x5c; fail/without or with a mismatched one', async () => {
      const storage = await seededStorage(target);
      try {
        const orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme' }, META));
        const self = await createRootCa({ commonName: 'partner self-signed', now: META.now });
        const other = await createRootCa({ commonName: 'other', now: META.now });
        const jwk = createPublicKey(self.privateKey).export({ format: 'jwk' });
        const x5c = [self.certDer.toString('base64')];
        const base = { orgId, roles: ['partner_reader'], authMethod: 'self_signed_tls_client_auth' };
        const cases: Array<[string, Record<string, unknown> | undefined]> = [
          ['fail/no keys', undefined],
          ['fail/jwks_uri only', { jwks_uri: 'https://partner.example/jwks' }],
          ['fail/no x5c', { jwks: { keys: [jwk] } }],
          [
            'fail/x5c of another key',
            { jwks: { keys: [{ ...jwk, x5c: [other.certDer.toString('base64')] }] } },
          ],
          ['fail/x5c not a certificate', { jwks: { keys: [{ ...jwk, x5c: ['bm90IGEgY2VydA=='] }] } }],
        ];
        for (const [name, metadata] of cases) {
          await assert.rejects(
            storage.transaction((tx) => createApplication(tx, { ...base, name, metadata }, META)),
            { code: 'invalid_input' },
            name,
          );
        }
        await storage.feed.start();
        const seen: Change[] = [];
        storage.feed.subscribe((c) => seen.push(c));
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            { ...base, name: 'ok', metadata: { jwks: { keys: [{ ...jwk, x5c }] } } },
            META,
          ),
        );
        assert.equal(seen[0]?.entityId, clientId);
        assert.deepEqual(seen[0]?.payload.self_signed_x5t, [x5tS256(self.certDer)]);
      } finally {
        await storage.close();
      }
    });

    test('fail/a self-signed certificate registered to one live client cannot be registered by another', async () => {
      const storage = await seededStorage(target);
      try {
        const acme = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme' }, META));
        const evil = await storage.transaction((tx) => createOrganisation(tx, { name: 'Evil' }, META));
        const self = await createRootCa({ commonName: 'acme self-signed', now: META.now });
        const jwk = createPublicKey(self.privateKey).export({ format: 'jwk' });
        // Only public material: anyone who has seen the certificate can present these metadata.
        const metadata = { jwks: { keys: [{ ...jwk, x5c: [self.certDer.toString('base64')] }] } };
        const base = { roles: ['partner_reader'], authMethod: 'self_signed_tls_client_auth', metadata };
        const owner = await storage.transaction((tx) =>
          createApplication(tx, { ...base, orgId: acme, name: 'owner' }, META),
        );
        const before = (await storage.db.selectFrom('applications').select('client_id').execute()).length;
        for (const [name, input] of [
          ['fail/another organisation', { ...base, orgId: evil, name: 'thief' }],
          ['fail/the same organisation', { ...base, orgId: acme, name: 'twin' }],
          [
            'fail/a registered (federation) client',
            {
              ...base,
              orgId: evil,
              name: 'fed',
              registrationType: 'federation',
              clientId: 'https://thief.example',
            },
          ],
        ] as const) {
          await assert.rejects(
            storage.transaction((tx) => createApplication(tx, input, META)),
            (err: { code?: string; details?: { reason?: string } }) =>
              err.code === 'invalid_input' && err.details?.reason === 'certificate_in_use',
            name,
          );
        }
        assert.equal(
          (await storage.db.selectFrom('applications').select('client_id').execute()).length,
          before,
        );
        const pins = await storage.db.selectFrom('self_signed_pins').selectAll().execute();
        assert.deepEqual(
          pins.map((p) => [p.x5t_s256, p.client_id]),
          [[x5tS256(self.certDer), owner]],
        );
        // A deleted client releases its certificate.
        await storage.transaction((tx) => deregisterApplication(tx, owner, { ...META, reason: 'test' }));
        const next = await storage.transaction((tx) =>
          createApplication(tx, { ...base, orgId: evil, name: 'successor' }, META),
        );
        const after = await storage.db.selectFrom('self_signed_pins').selectAll().execute();
        assert.deepEqual(
          after.map((p) => p.client_id),
          [next],
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/an operator suspension survives the end of a registration and a new registration', async () => {
      const storage = await seededStorage(target);
      try {
        const orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme' }, META));
        const goodEc = publicJwk({ namedCurve: 'P-256' }, 'ec');
        const input = {
          authMethod: 'private_key_jwt',
          metadata: { jwks: { keys: [goodEc] } },
          roles: ['partner_reader'],
        };
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            { ...input, orgId, name: 'Fed', registrationType: 'federation', clientId: 'https://rp.example' },
            META,
          ),
        );
        await storage.transaction((tx) => setApplicationStatus(tx, clientId, 'suspended', META));
        await storage.transaction((tx) =>
          deregisterApplication(tx, clientId, { ...META, reason: 'chain broken' }),
        );
        assert.equal((await getApplication(storage.db, clientId)).status, 'suspended');
        await storage.transaction((tx) => updateRegisteredApplication(tx, clientId, input, META));
        assert.equal(
          (await getApplication(storage.db, clientId)).status,
          'suspended',
          'a new registration does not lift it',
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/suspension publishes changes; fail/an app of a suspended org cannot be activated or created', async () => {
      const storage = await seededStorage(target);
      try {
        await storage.feed.start();
        const seen: Change[] = [];
        storage.feed.subscribe((c) => seen.push(c));
        const orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme' }, META));
        const clientId = await storage.transaction((tx) =>
          createApplication(
            tx,
            { orgId, name: 'App', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
            META,
          ),
        );
        await storage.transaction((tx) => setApplicationStatus(tx, clientId, 'suspended', META));
        await storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'suspended', META));
        assert.deepEqual(
          seen.map((c) => [c.kind, c.entityId, c.payload.status]),
          [
            ['org.status', orgId, 'active'],
            ['app.registered', clientId, 'active'],
            ['app.status', clientId, 'suspended'],
            ['org.status', orgId, 'suspended'],
          ],
        );
        await assert.rejects(
          storage.transaction((tx) => setApplicationStatus(tx, clientId, 'active', META)),
          {
            code: 'organisation_not_active',
          },
        );
        await assert.rejects(
          storage.transaction((tx) =>
            createApplication(
              tx,
              { orgId, name: 'New', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
              META,
            ),
          ),
          { code: 'organisation_not_active' },
        );
        await storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'offboarded', META));
        await assert.rejects(
          storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'active', META)),
          {
            code: 'invalid_transition',
          },
        );
      } finally {
        await storage.close();
      }
    });
  });
}
