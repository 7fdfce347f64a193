import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { loadClientMetadata } from '../../src/authorization-server/client-metadata.ts';
import {
  endFederationRegistrationsVia,
  type FederationRegistrationInput,
  federatedClientFrom,
  refreshFederationRegistrations,
  registerFederationClient,
} from '../../src/authorization-server/federation-registration/index.ts';
import {
  createOrganisation,
  getApplication,
  scopesForRoles,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import {
  addSubordinate,
  FederationError,
  removeSubordinate,
  updateSubordinate,
} from '../../src/federation/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { resolverFactory } from '../federation/support/resolver.ts';
import { startTopology, type TestEntity, type Topology } from '../federation/support/topology.ts';
import { selfSignedCredential } from '../gateway/fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';
import {
  type RegistrationFederation,
  RP,
  registrationFederation,
  resolveRp,
  rpMetadata,
} from './support/federation-registration-fixture.ts';

const targets = await engineTargets();
const silent = pino({ level: 'silent' });
const ACTOR = 'system:test';

/** Everything the registration core may write about one client, for before/after comparisons. */
async function footprint(storage: Storage, clientId: string) {
  const application = await storage.db
    .selectFrom('applications')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  const registration = await storage.db
    .selectFrom('federation_registrations')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  const roles = (
    await storage.db
      .selectFrom('application_roles')
      .select('role')
      .where('client_id', '=', clientId)
      .orderBy('role')
      .execute()
  ).map((r) => r.role);
  const changes = (
    await storage.db
      .selectFrom('change_feed')
      .select(['kind', 'payload'])
      .where('entity_id', '=', clientId)
      .orderBy('seq')
      .execute()
  ).map((c) => ({ kind: c.kind, payload: JSON.parse(c.payload) as Record<string, unknown> }));
  const audit = (
    await storage.db
      .selectFrom('audit_log')
      .select(['action', 'actor', 'details'])
      .where('target_id', '=', clientId)
      .orderBy('seq')
      .execute()
  ).map((a) => ({
    action: a.action,
    actor: a.actor,
    details: JSON.parse(a.details) as Record<string, unknown>,
  }));
  // Plain objects: SQLite rows have a null prototype.
  return {
    application: application && { ...application },
    registration: registration && { ...registration },
    roles,
    changes,
    audit,
  };
}

/** Rows in every table registration writes to: a refused registration leaves all of them as they were. */
async function tableCounts(storage: Storage) {
  const count = async (table: 'applications' | 'federation_registrations' | 'audit_log' | 'change_feed') =>
    Number(
      (
        await storage.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    applications: await count('applications'),
    federation_registrations: await count('federation_registrations'),
    audit_log: await count('audit_log'),
    change_feed: await count('change_feed'),
  };
}

async function rejects(promise: Promise<unknown>, code: string, status: number, message?: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof FederationError, `expected a FederationError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const privateJwk = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const publicJwk = (kid: string) => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid,
});

for (const target of targets) {
  describe(`federation registration core: ${target.name}`, { skip: target.skip }, () => {
    let topology: Topology;
    let resolvers: ReturnType<typeof resolverFactory>;
    const storages: Storage[] = [];
    // The production address policy; DNS from a table: a name pointing inside the network.
    const partnerFetcher = testPartnerFetcher({ dns: { 'keys.internal.example': ['10.0.0.7'] } });

    before(async () => {
      topology = await startTopology();
      resolvers = resolverFactory(topology);
    });

    after(async () => {
      for (const storage of storages) await storage.close();
      await partnerFetcher.close();
      await resolvers?.close();
      await topology?.close();
      await target.cleanup();
    });

    const clock = () => topology.clock;
    const meta = () => ({ actor: ACTOR, now: topology.clock.now });

    /** A fresh database and federation; `register` resolves an RP for real and registers it. */
    async function setup(options: Parameters<typeof registrationFederation>[2] = {}) {
      const storage = await seededStorage(target);
      storages.push(storage);
      const fed = await registrationFederation(topology, storage, options);
      const resolver = resolvers.create([{ entityId: fed.platform.entityId, jwks: fed.platform.jwks() }]);
      const input = async (
        entity: TestEntity,
        extra: Partial<FederationRegistrationInput> = {},
      ): Promise<FederationRegistrationInput> => {
        const resolved = await resolveRp(resolver, entity);
        return {
          entity: resolved,
          rpMetadata: resolved.metadata[RP],
          kind: 'explicit',
          platformEntityId: fed.platform.entityId,
          trustMarkTypes: fed.trustMarkTypes,
          urlGuard: partnerFetcher,
          ...extra,
        };
      };
      const register = async (
        entity: TestEntity = fed.leaf,
        extra: Partial<FederationRegistrationInput> = {},
      ) => registerFederationClient(storage, await input(entity, extra), meta());
      const refresh = (options: { marginSeconds?: number; reevaluateSeconds?: number } = {}) =>
        refreshFederationRegistrations({
          storage,
          resolver,
          entityId: fed.platform.entityId,
          trustMarkTypes: fed.trustMarkTypes,
          urlGuard: partnerFetcher,
          clock: topology.clock.clock,
          logger: silent,
          ...options,
        });
      return { storage, fed, resolver, input, register, refresh };
    }

    /** Registration refused: the error, and not one row written anywhere (the transaction is all or nothing). */
    async function refusedWithoutTrace(
      storage: Storage,
      clientId: string,
      attempt: () => Promise<unknown>,
      code: string,
      status: number,
      message?: RegExp,
    ) {
      const before = await tableCounts(storage);
      const was = await footprint(storage, clientId);
      await rejects(attempt(), code, status, message);
      assert.deepEqual(await tableCounts(storage), before);
      assert.deepEqual(await footprint(storage, clientId), was);
    }

    describe('register', () => {
      test('ok/the registration lasts no longer than the Trust Marks its roles come from, and the token endpoint honours its end (§12.3)', async () => {
        const { storage, fed, input } = await setup();
        const { leaf, platform } = fed;
        const markEnds = clock().seconds() + 600;
        leaf.addTrustMark(
          fed.types.reader,
          await platform.issueTrustMark(leaf, fed.types.reader, { exp: markEnds }),
        );
        const registration = await registerFederationClient(storage, await input(leaf), meta());
        assert.equal(registration.expiresAt, markEnds);
        const client = (at: number) => loadClientMetadata(storage, leaf.entityId, new Date(at * 1000));
        assert.equal((await client(markEnds - 1))?.client_id, leaf.entityId);
        // Between two re-evaluations, an expired registration is already no client.
        assert.equal(await client(markEnds), undefined);
      });

      test('ok/create: a self-signed TLS client of the subordinate’s organisation, roles from its Trust Mark, until the chain’s earliest exp', async () => {
        const { storage, fed, input } = await setup();
        const { leaf, orgIntermediate, platform, orgId } = fed;
        const cred = await selfSignedCredential('leaf-rp');
        leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [cred.jwk] },
        });
        // The earliest exp of the chain is the organisation Intermediate's statement about the leaf.
        const earliest = clock().seconds() + 1800;
        orgIntermediate.subordinates.get(leaf.entityId)!.claims = { exp: earliest };

        const registrationInput = await input(leaf);
        assert.equal(registrationInput.entity.expiresAt, earliest);
        const registration = await registerFederationClient(storage, registrationInput, meta());

        assert.deepEqual(registration, {
          clientId: leaf.entityId,
          orgId,
          roles: ['partner_reader'],
          scopes: await scopesForRoles(storage.db, ['partner_reader']),
          authMethod: 'self_signed_tls_client_auth',
          expiresAt: earliest,
          trustAnchor: platform.entityId,
          authorityHint: orgIntermediate.entityId,
          created: true,
        });
        assert.ok(registration.scopes.length > 0);

        const app = await getApplication(storage.db, leaf.entityId);
        assert.equal(app.client_id, leaf.entityId);
        assert.equal(app.registration_type, 'federation');
        assert.equal(app.org_id, orgId);
        assert.equal(app.status, 'active');
        assert.equal(app.name, 'Leaf RP');
        assert.equal(app.auth_method, 'self_signed_tls_client_auth');
        assert.deepEqual(app.roles, ['partner_reader']);
        assert.deepEqual(app.metadata, { jwks: { keys: [cred.jwk] } });

        const { registration: row, changes, audit } = await footprint(storage, leaf.entityId);
        const at = clock().now.toISOString();
        assert.deepEqual(row, {
          client_id: leaf.entityId,
          org_id: orgId,
          kind: 'explicit',
          trust_anchor: platform.entityId,
          authority_hint: orgIntermediate.entityId,
          via_subordinate: orgIntermediate.entityId,
          trust_mark_types: JSON.stringify([fed.types.reader]),
          expires_at: new Date(earliest * 1000).toISOString(),
          resolved_at: at,
          status: 'active',
          ended_reason: null,
          created_at: at,
          updated_at: at,
        });
        // Enforcement points learn the client and its self-signed certificate from the feed (RFC 8705 §2.2).
        assert.deepEqual(changes, [
          {
            kind: 'app.registered',
            payload: {
              org_id: orgId,
              status: 'active',
              auth_method: 'self_signed_tls_client_auth',
              registration_type: 'federation',
              created: true,
              self_signed_x5t: [cred.x5tS256],
              certificate_apps: [],
              // Issue 15: federation clients are production applications.
              environment: 'production',
            },
          },
        ]);
        assert.deepEqual(
          audit.map((a) => [a.action, a.actor]),
          [
            ['application.create', ACTOR],
            ['federation.registration.create', ACTOR],
          ],
        );
        assert.deepEqual(audit[1]!.details, {
          kind: 'explicit',
          org_id: orgId,
          trust_anchor: platform.entityId,
          via_subordinate: orgIntermediate.entityId,
          roles: ['partner_reader'],
          trust_mark_types: [fed.types.reader],
          expires_at: new Date(earliest * 1000).toISOString(),
        });
        assert.equal((await verifyAuditChain(storage.db)).ok, true);
      });

      test('ok/the platform is the leaf’s Immediate Superior: the leaf itself is the subordinate', async () => {
        const { storage, fed, register } = await setup();
        const direct = await fed.addLeaf('direct', fed.platform);
        await storage.transaction((tx) =>
          addSubordinate(
            tx,
            { entityId: direct.entityId, orgId: fed.orgId, jwks: direct.jwks() },
            { authorityEntityId: fed.platform.entityId },
            meta(),
          ),
        );
        const registration = await register(direct, { kind: 'automatic' });
        assert.equal(registration.authorityHint, fed.platform.entityId);
        assert.equal(registration.orgId, fed.orgId);
        const { registration: row } = await footprint(storage, direct.entityId);
        assert.equal(row?.via_subordinate, direct.entityId);
        assert.equal(row?.kind, 'automatic');
      });

      test('ok/a Trust Mark type mapped to no roles grants every role the organisation is approved for, and only those', async () => {
        const { storage, fed, register } = await setup({
          orgRoles: ['partner_analyst', 'partner_reader'],
          leafMark: 'all',
        });
        const registration = await register();
        assert.deepEqual(registration.roles, ['partner_analyst', 'partner_reader']);
        assert.deepEqual((await footprint(storage, fed.leaf.entityId)).roles, [
          'partner_analyst',
          'partner_reader',
        ]);
      });

      test('ok/several Trust Marks add up; an unmapped type contributes nothing and is not recorded', async () => {
        const { storage, fed, register } = await setup({ orgRoles: ['partner_reader', 'partner_writer'] });
        await fed.mark(fed.leaf, fed.types.unmapped);
        assert.deepEqual((await register()).roles, ['partner_reader']);
        await fed.mark(fed.leaf, fed.types.all);
        const renewed = await register();
        assert.deepEqual(renewed.roles, ['partner_reader', 'partner_writer']);
        const { registration } = await footprint(storage, fed.leaf.entityId);
        assert.deepEqual(
          JSON.parse(registration!.trust_mark_types),
          [fed.types.all, fed.types.reader].sort(),
        );
      });

      test('ok/renew: the RP rotates its client keys, the application follows and the new certificate is published', async () => {
        const { storage, fed, register } = await setup();
        const { leaf } = fed;
        const first = await selfSignedCredential('rp-2026-a');
        leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [first.jwk] },
        });
        assert.equal((await register()).created, true);
        const createdAt = clock().now.toISOString();

        topology.clock.advance(300);
        const second = await selfSignedCredential('rp-2026-b');
        leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [second.jwk] },
        });
        const renewed = await register();
        assert.equal(renewed.created, false);
        assert.equal(renewed.expiresAt, clock().seconds() + 3600);

        const app = await getApplication(storage.db, leaf.entityId);
        assert.deepEqual(app.metadata, { jwks: { keys: [second.jwk] } });
        assert.equal(app.updated_at, clock().now.toISOString());
        const { registration, changes, audit } = await footprint(storage, leaf.entityId);
        assert.deepEqual(
          changes.map((c) => [c.kind, c.payload.self_signed_x5t]),
          [
            ['app.registered', [first.x5tS256]],
            ['app.registered', [second.x5tS256]],
          ],
        );
        assert.deepEqual(
          audit.map((a) => a.action),
          [
            'application.create',
            'federation.registration.create',
            'application.update_registration',
            'federation.registration.renew',
          ],
        );
        assert.equal(registration!.created_at, createdAt);
        assert.equal(registration!.resolved_at, clock().now.toISOString());
        assert.equal(registration!.expires_at, new Date(renewed.expiresAt * 1000).toISOString());

        // The same metadata again: the registration is renewed, but enforcement points hear nothing new.
        topology.clock.advance(60);
        assert.equal((await register()).created, false);
        const again = await footprint(storage, leaf.entityId);
        assert.equal(again.changes.length, 2);
        assert.deepEqual(
          again.audit.slice(4).map((a) => a.action),
          ['federation.registration.renew'],
        );
        assert.equal(again.registration!.resolved_at, clock().now.toISOString());
      });

      test('ok/renew: a private_key_jwt client switching to jwks_uri and a new name keeps its client_id and name', async () => {
        const { storage, fed, register } = await setup();
        fed.leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [publicJwk('k1')] },
        });
        await register();
        fed.leaf.metadata[RP] = rpMetadata({
          client_name: 'Renamed RP',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks_uri: 'https://rp.example.org/jwks.json',
        });
        await register();
        const app = await getApplication(storage.db, fed.leaf.entityId);
        assert.deepEqual(app.metadata, { jwks_uri: 'https://rp.example.org/jwks.json' });
        assert.equal(app.auth_method, 'private_key_jwt');
      });

      test('ok/a registration that ended is taken up again by a new valid chain: the client is reactivated', async () => {
        const { storage, fed, register } = await setup();
        await register();
        await storage.transaction((tx) =>
          endFederationRegistrationsVia(tx, fed.orgIntermediate.entityId, meta()),
        );
        assert.equal((await footprint(storage, fed.leaf.entityId)).application?.status, 'deleted');
        topology.clock.advance(60);
        const again = await register();
        assert.equal(again.created, false);
        const { application, registration, changes } = await footprint(storage, fed.leaf.entityId);
        assert.equal(application?.status, 'active');
        assert.equal(registration?.status, 'active');
        assert.equal(registration?.ended_reason, null);
        assert.deepEqual(
          changes.map((c) => [c.kind, c.payload.status]),
          [
            ['app.registered', 'active'],
            ['app.status', 'deleted'],
            ['app.registered', 'active'],
          ],
        );
      });

      test('ok/an operator’s suspension of a federation client stands when the RP registers again', async () => {
        const { storage, fed, register } = await setup();
        fed.leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [publicJwk('k1')] },
        });
        await register();
        await storage.transaction((tx) =>
          setApplicationStatus(tx, fed.leaf.entityId, 'suspended', { ...meta(), reason: 'incident' }),
        );
        const rotated = publicJwk('k2');
        fed.leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [rotated] },
        });
        topology.clock.advance(60);
        assert.equal((await register()).created, false);
        const { application, registration, changes } = await footprint(storage, fed.leaf.entityId);
        assert.equal(application?.status, 'suspended');
        assert.deepEqual(JSON.parse(application!.metadata), { jwks: { keys: [rotated] } });
        assert.equal(registration?.status, 'active');
        // The new keys are published, with the status the client really has.
        assert.deepEqual(
          changes.map((c) => [c.kind, c.payload.status]),
          [
            ['app.registered', 'active'],
            ['app.status', 'suspended'],
            ['app.registered', 'suspended'],
          ],
        );
      });

      test('ok/an RP named like another application of its organisation is registered under a qualified name', async () => {
        const { storage, fed, register } = await setup();
        const twin = await fed.addLeaf('twin');
        twin.metadata[RP] = rpMetadata({ client_name: 'Leaf RP' });
        await register();
        const registration = await register(twin);
        assert.equal(registration.created, true);
        const app = await getApplication(storage.db, twin.entityId);
        assert.equal(app.name, `Leaf RP (${new URL(twin.entityId).host})`);
        assert.equal((await getApplication(storage.db, fed.leaf.entityId)).name, 'Leaf RP');
      });

      test('fail/no verified Trust Mark of a type this platform maps to roles → 403 invalid_trust_chain, nothing written', async () => {
        for (const leafMark of ['unmapped', 'none'] as const) {
          const { storage, fed, input } = await setup({ leafMark });
          const registrationInput = await input(fed.leaf);
          await refusedWithoutTrace(
            storage,
            fed.leaf.entityId,
            () => registerFederationClient(storage, registrationInput, meta()),
            'invalid_trust_chain',
            403,
            /Trust Mark/,
          );
          const { application, registration } = await footprint(storage, fed.leaf.entityId);
          assert.equal(application, undefined);
          assert.equal(registration, undefined);
        }
      });

      test('fail/a mapped Trust Mark the Trust Anchor does not accept from its issuer is not verified → 403', async () => {
        const { storage, fed, input } = await setup({ leafMark: 'none' });
        const rogue = await topology.addEntity('rogue-issuer');
        fed.platform.addSubordinate(rogue);
        fed.leaf.addTrustMark(fed.types.reader, await rogue.issueTrustMark(fed.leaf, fed.types.reader));
        const registrationInput = await input(fed.leaf);
        assert.deepEqual(registrationInput.entity.trustMarks, []);
        await refusedWithoutTrace(
          storage,
          fed.leaf.entityId,
          () => registerFederationClient(storage, registrationInput, meta()),
          'invalid_trust_chain',
          403,
        );
      });

      /** Another Trust Mark Issuer the Trust Anchor accredits for the platform's own types, beside the platform. */
      async function accreditedIssuer(fed: RegistrationFederation): Promise<TestEntity> {
        const other = await topology.addEntity('accredited-issuer');
        fed.platform.addSubordinate(other);
        const issuers = fed.platform.configuration.trust_mark_issuers as Record<string, string[]>;
        for (const type of [fed.types.reader, fed.types.all])
          issuers[type] = [fed.platform.entityId, other.entityId];
        return other;
      }

      for (const kind of ['explicit', 'automatic'] as const) {
        test(`fail/${kind}: marks of the platform's types signed by another accredited issuer grant no roles → 403, nothing written`, async () => {
          const { storage, fed, input } = await setup({ leafMark: 'none' });
          const other = await accreditedIssuer(fed);
          for (const type of [fed.types.reader, fed.types.all]) {
            fed.leaf.addTrustMark(type, await other.issueTrustMark(fed.leaf, type));
          }
          const registrationInput = await input(fed.leaf, { kind });
          // The federation accepts both marks (§7.3): only the platform's own rule keeps them from granting roles.
          assert.deepEqual(
            registrationInput.entity.trustMarks.map((m) => [m.trust_mark_type, m.iss]).sort(),
            [
              [fed.types.all, other.entityId],
              [fed.types.reader, other.entityId],
            ].sort(),
          );
          await refusedWithoutTrace(
            storage,
            fed.leaf.entityId,
            () => registerFederationClient(storage, registrationInput, meta()),
            'invalid_trust_chain',
            403,
            /Trust Mark/,
          );
        });
      }

      test("ok/beside the platform's own mark, another accredited issuer's mark of a platform type adds no role and is not recorded", async () => {
        const { storage, fed, input } = await setup({ orgRoles: ['partner_reader', 'partner_writer'] });
        const other = await accreditedIssuer(fed);
        fed.leaf.addTrustMark(fed.types.all, await other.issueTrustMark(fed.leaf, fed.types.all));
        const registrationInput = await input(fed.leaf);
        assert.equal(registrationInput.entity.trustMarks.length, 2, 'both marks verify');
        const registration = await registerFederationClient(storage, registrationInput, meta());
        assert.deepEqual(registration.roles, ['partner_reader']);
        const written = await footprint(storage, fed.leaf.entityId);
        assert.deepEqual(written.roles, ['partner_reader']);
        assert.deepEqual(JSON.parse(written.registration!.trust_mark_types), [fed.types.reader]);
      });

      test('fail/the mapped roles are not approved for the organisation → 403, nothing written', async () => {
        const { storage, fed, register } = await setup({ orgRoles: ['partner_writer'] });
        await refusedWithoutTrace(storage, fed.leaf.entityId, () => register(), 'invalid_trust_chain', 403);
      });

      test('fail/the chain does not pass through a subordinate of this platform → 403', async () => {
        const { storage, fed, register } = await setup();
        await refusedWithoutTrace(
          storage,
          fed.leaf.entityId,
          () => register(fed.leaf, { platformEntityId: 'https://platform.example.org' }),
          'invalid_trust_chain',
          403,
          /subordinate of this platform/,
        );
      });

      test('fail/the platform vouches for an Intermediate it has no subordinate record of → 403', async () => {
        const { storage, fed, register } = await setup();
        const stranger = await topology.addEntity('stranger');
        fed.platform.addSubordinate(stranger);
        const leaf = await fed.addLeaf('stranger-leaf', stranger);
        await refusedWithoutTrace(
          storage,
          leaf.entityId,
          () => register(leaf),
          'invalid_trust_chain',
          403,
          /not registered/,
        );
      });

      test('fail/the subordinate was removed from the platform → 403', async () => {
        const { storage, fed, input } = await setup();
        // Resolved while the superior still serves the statement: only the platform's own record says no.
        const registrationInput = await input(fed.leaf);
        await storage.transaction((tx) =>
          removeSubordinate(tx, fed.orgIntermediate.entityId, { ...meta(), reason: 'contract ended' }),
        );
        await refusedWithoutTrace(
          storage,
          fed.leaf.entityId,
          () => registerFederationClient(storage, registrationInput, meta()),
          'invalid_trust_chain',
          403,
          /not registered/,
        );
      });

      test('fail/the subordinate’s organisation is suspended → 403', async () => {
        const { storage, fed, register } = await setup();
        await storage.transaction((tx) => setOrganisationStatus(tx, fed.orgId, 'suspended', meta()));
        await refusedWithoutTrace(
          storage,
          fed.leaf.entityId,
          () => register(),
          'invalid_trust_chain',
          403,
          /suspended/,
        );
      });

      const badMetadata: Array<{ name: string; rp: () => Record<string, unknown>; field?: RegExp }> = [
        {
          name: 'client_secret_basic (no shared secrets)',
          rp: () => rpMetadata({ token_endpoint_auth_method: 'client_secret_basic' }),
        },
        {
          name: 'no token_endpoint_auth_method',
          rp: () => rpMetadata({ token_endpoint_auth_method: undefined }),
        },
        {
          name: 'grant_types without client_credentials',
          rp: () => rpMetadata({ grant_types: ['authorization_code', 'refresh_token'] }),
        },
        { name: 'grant_types not an array', rp: () => rpMetadata({ grant_types: 'client_credentials' }) },
        {
          name: 'signed_jwks_uri only',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              signed_jwks_uri: 'https://rp.example.org/jwks.jose',
            }),
        },
        {
          name: 'jwks with a private key (RFC 7517 §6.2)',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [{ ...privateJwk(), kid: 'leaked' }] },
            }),
        },
        {
          name: 'both jwks and jwks_uri (RFC 7591 §2)',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [publicJwk('k1')] },
              jwks_uri: 'https://rp.example.org/jwks.json',
            }),
        },
        {
          name: 'jwks_uri over http',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              jwks_uri: 'http://rp.example.org/jwks',
            }),
        },
        {
          name: 'a loopback jwks_uri (no SSRF)',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              jwks_uri: 'https://127.0.0.1:8443/jwks',
            }),
        },
        {
          name: 'the cloud metadata service as jwks_uri',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              jwks_uri: 'https://169.254.169.254/latest/meta-data/',
            }),
        },
        {
          name: 'an IPv4-mapped loopback jwks_uri',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              jwks_uri: 'https://[::ffff:127.0.0.1]/jwks',
            }),
        },
        {
          name: 'a jwks_uri whose name resolves to a private address',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'private_key_jwt',
              jwks_uri: 'https://keys.internal.example/jwks',
            }),
        },
        {
          name: 'private_key_jwt without any keys',
          rp: () => rpMetadata({ token_endpoint_auth_method: 'private_key_jwt' }),
        },
        {
          name: 'self_signed_tls_client_auth without the certificate in x5c (RFC 8705 §2.2)',
          rp: () =>
            rpMetadata({
              token_endpoint_auth_method: 'self_signed_tls_client_auth',
              jwks: { keys: [publicJwk('no-cert')] },
            }),
        },
      ];
      for (const { name, rp } of badMetadata) {
        test(`fail/${name} → 400 invalid_client_metadata, nothing written`, async () => {
          const { storage, fed, input } = await setup();
          fed.leaf.metadata[RP] = rp();
          for (const key of Object.keys(fed.leaf.metadata[RP]!)) {
            if (fed.leaf.metadata[RP]![key] === undefined) delete fed.leaf.metadata[RP]![key];
          }
          const registrationInput = await input(fed.leaf);
          await refusedWithoutTrace(
            storage,
            fed.leaf.entityId,
            () => registerFederationClient(storage, registrationInput, meta()),
            'invalid_client_metadata',
            400,
          );
        });
      }

      test('fail/no openid_relying_party in the resolved metadata → 400 invalid_metadata', () => {
        for (const rp of [undefined, null, [], 'x']) {
          assert.throws(
            () => federatedClientFrom('https://rp.example.org', rp),
            (err: unknown) =>
              err instanceof FederationError && err.code === 'invalid_metadata' && err.status === 400,
          );
        }
      });

      test('fail/an application with that client_id is managed otherwise (manual) → 409, left untouched', async () => {
        const { storage, fed, register } = await setup();
        const at = clock().now.toISOString();
        await storage.db
          .insertInto('applications')
          .values({
            client_id: fed.leaf.entityId,
            org_id: fed.orgId,
            name: 'Manual',
            name_key: 'manual',
            status: 'active',
            auth_method: 'tls_client_auth',
            registration_type: 'manual',
            metadata: '{}',
            created_at: at,
            updated_at: at,
          })
          .execute();
        await refusedWithoutTrace(
          storage,
          fed.leaf.entityId,
          () => register(),
          'invalid_request',
          409,
          /registered otherwise/,
        );
      });

      test('fail/the client is registered for another organisation → 409', async () => {
        const { storage, fed, register } = await setup();
        await register();
        const other = await storage.transaction((tx) =>
          createOrganisation(tx, { name: 'Acquirer Org' }, meta()),
        );
        await storage.transaction((tx) =>
          updateSubordinate(tx, fed.orgIntermediate.entityId, { orgId: other }, meta()),
        );
        await refusedWithoutTrace(storage, fed.leaf.entityId, () => register(), 'invalid_request', 409);
      });

      test('fail/a write failing after the application was created rolls back the application too', async () => {
        const { storage, fed, input } = await setup();
        const registrationInput = await input(fed.leaf);
        const before = await tableCounts(storage);
        // The registration record cannot be written: the application written just before it must not stay.
        await sql`ALTER TABLE federation_registrations RENAME TO federation_registrations_hidden`.execute(
          storage.db,
        );
        try {
          await assert.rejects(registerFederationClient(storage, registrationInput, meta()));
        } finally {
          await sql`ALTER TABLE federation_registrations_hidden RENAME TO federation_registrations`.execute(
            storage.db,
          );
        }
        assert.deepEqual(await tableCounts(storage), before);
        assert.equal((await footprint(storage, fed.leaf.entityId)).application, undefined);
      });
    });

    describe('refresh (§12.3)', () => {
      test('ok/nothing due: a registration far from expiry and evaluated recently is left alone', async () => {
        const { fed, register, refresh } = await setup();
        await register();
        const hits = fed.orgIntermediate.hits.get('/fetch');
        assert.deepEqual(await refresh(), { renewed: [], ended: [] });
        assert.equal(fed.orgIntermediate.hits.get('/fetch'), hits);
      });

      test('ok/near chain expiry the chain is resolved again and the registration renewed', async () => {
        const { storage, fed, register, refresh } = await setup();
        const first = await register();
        topology.clock.advance(first.expiresAt - clock().seconds() - 30);
        const hits = fed.orgIntermediate.hits.get('/fetch') ?? 0;
        assert.deepEqual(await refresh({ marginSeconds: 60 }), { renewed: [fed.leaf.entityId], ended: [] });
        assert.ok((fed.orgIntermediate.hits.get('/fetch') ?? 0) > hits, 'the statement was fetched again');
        const { registration, application, audit } = await footprint(storage, fed.leaf.entityId);
        assert.equal(registration?.status, 'active');
        assert.equal(registration?.expires_at, new Date((clock().seconds() + 3600) * 1000).toISOString());
        assert.equal(registration?.resolved_at, clock().now.toISOString());
        assert.equal(application?.status, 'active');
        assert.equal(audit.at(-1)?.action, 'federation.registration.renew');
        assert.equal(audit.at(-1)?.actor, 'system:federation');
      });

      test('ok/a registration not evaluated for reevaluateSeconds is re-resolved: new keys arrive early', async () => {
        const { storage, fed, register, refresh } = await setup();
        fed.leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [publicJwk('old')] },
        });
        await register();
        const rotated = publicJwk('new');
        fed.leaf.metadata[RP] = rpMetadata({
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [rotated] },
        });
        topology.clock.advance(601);
        assert.deepEqual(await refresh({ reevaluateSeconds: 600 }), {
          renewed: [fed.leaf.entityId],
          ended: [],
        });
        const app = await getApplication(storage.db, fed.leaf.entityId);
        assert.deepEqual(app.metadata, { jwks: { keys: [rotated] } });
        const { changes } = await footprint(storage, fed.leaf.entityId);
        assert.deepEqual(
          changes.map((c) => c.kind),
          ['app.registered', 'app.registered'],
        );
      });

      /** Asserts the registration ended with `reason` and the client is gone everywhere at once. */
      async function assertEnded(storage: Storage, clientId: string, orgId: string, reason: RegExp) {
        const { application, registration, changes, audit } = await footprint(storage, clientId);
        assert.equal(registration?.status, 'ended');
        assert.match(registration?.ended_reason ?? '', reason);
        assert.equal(application?.status, 'deleted');
        assert.deepEqual(changes.at(-1), {
          kind: 'app.status',
          payload: { status: 'deleted', org_id: orgId, registration_type: 'federation' },
        });
        assert.deepEqual(
          audit.slice(-2).map((a) => a.action),
          ['application.deregister', 'federation.registration.end'],
        );
        assert.equal(audit.at(-1)?.details.reason, registration?.ended_reason);
        await assert.rejects(getApplication(storage.db, clientId), /does not exist/);
        assert.equal((await verifyAuditChain(storage.db)).ok, true);
      }

      const breaks: Array<{
        name: string;
        brk: (fed: RegistrationFederation, storage: Storage) => unknown;
        reason: RegExp;
      }> = [
        {
          name: 'the superior stops serving the Subordinate Statement (404)',
          brk: (fed) => {
            fed.orgIntermediate.subordinates.delete(fed.leaf.entityId);
          },
          reason: /^trust chain broken: .*§/,
        },
        {
          name: 'the leaf’s Entity Configuration has expired',
          brk: (fed) => {
            fed.leaf.configuration.exp = clock().seconds() - 120;
          },
          reason: /^trust chain broken: .*\(§3\.2 step 8\)$/,
        },
        {
          name: 'the Trust Mark granting its roles was revoked',
          brk: (fed) => {
            for (const jwt of fed.platform.trustMarkStatus.keys())
              fed.platform.trustMarkStatus.set(jwt, 'revoked');
          },
          reason: /Trust Mark/,
        },
        {
          name: 'the platform removed the subordinate',
          brk: (fed, storage) =>
            storage.transaction((tx) => removeSubordinate(tx, fed.orgIntermediate.entityId, meta())),
          reason: /not registered/,
        },
        {
          name: 'the subordinate’s organisation was suspended',
          brk: (fed, storage) =>
            storage.transaction((tx) => setOrganisationStatus(tx, fed.orgId, 'suspended', meta())),
          reason: /suspended/,
        },
      ];
      for (const { name, brk, reason } of breaks) {
        test(`ok/ended when ${name}`, async () => {
          const { storage, fed, register, refresh } = await setup();
          await register();
          topology.clock.advance(601);
          await brk(fed, storage);
          const outcome = await refresh();
          assert.deepEqual(outcome.renewed, []);
          assert.deepEqual(
            outcome.ended.map((e) => e.clientId),
            [fed.leaf.entityId],
          );
          assert.match(outcome.ended[0]!.reason, reason);
          await assertEnded(storage, fed.leaf.entityId, fed.orgId, reason);
          // Ended registrations are not refreshed again.
          topology.clock.advance(3600);
          assert.deepEqual(await refresh(), { renewed: [], ended: [] });
        });
      }

      test('ok/a superior that cannot be reached is retried while the chain lasts, and the registration ends with it', async () => {
        const { storage, fed, register, refresh } = await setup();
        const first = await register();
        fed.orgIntermediate.routes.set('/fetch', (_req, res) => {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end('{"error":"temporarily_unavailable"}');
        });
        topology.clock.advance(601);
        assert.deepEqual(await refresh(), { renewed: [], ended: [] });
        const kept = await footprint(storage, fed.leaf.entityId);
        assert.equal(kept.registration?.status, 'active');
        assert.equal(kept.application?.status, 'active');
        assert.equal(kept.registration?.expires_at, new Date(first.expiresAt * 1000).toISOString());

        // §12.3: never past the chain it rests on.
        topology.clock.advance(first.expiresAt - clock().seconds());
        const outcome = await refresh();
        assert.deepEqual(
          outcome.ended.map((e) => e.clientId),
          [fed.leaf.entityId],
        );
        await assertEnded(storage, fed.leaf.entityId, fed.orgId, /expired/);
      });

      test('ok/a Trust Mark Status endpoint that cannot be reached does not end the registration early', async () => {
        const { storage, fed, register, refresh } = await setup();
        await register();
        fed.platform.routes.set('/status', (_req, res) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"server_error"}');
        });
        topology.clock.advance(601);
        assert.deepEqual(await refresh(), { renewed: [], ended: [] });
        assert.equal((await footprint(storage, fed.leaf.entityId)).application?.status, 'active');
        fed.platform.routes.delete('/status');
        topology.clock.advance(601);
        assert.deepEqual(await refresh(), { renewed: [fed.leaf.entityId], ended: [] });
      });

      test('ok/one broken chain does not stop the others from being renewed', async () => {
        const { storage, fed, register, refresh } = await setup();
        const healthy = await fed.addLeaf('healthy');
        await register();
        await register(healthy);
        fed.orgIntermediate.subordinates.delete(fed.leaf.entityId);
        topology.clock.advance(601);
        const outcome = await refresh();
        assert.deepEqual(outcome.renewed, [healthy.entityId]);
        assert.deepEqual(
          outcome.ended.map((e) => e.clientId),
          [fed.leaf.entityId],
        );
        assert.equal((await footprint(storage, healthy.entityId)).application?.status, 'active');
      });
    });

    describe('endFederationRegistrationsVia', () => {
      test('ok/ends every registration resting on the subordinate, and only those', async () => {
        const { storage, fed, register } = await setup();
        const sibling = await fed.addLeaf('sibling');
        const direct = await fed.addLeaf('direct', fed.platform);
        await storage.transaction((tx) =>
          addSubordinate(
            tx,
            { entityId: direct.entityId, orgId: fed.orgId, jwks: direct.jwks() },
            { authorityEntityId: fed.platform.entityId },
            meta(),
          ),
        );
        for (const entity of [fed.leaf, sibling, direct]) await register(entity);

        const ended = await storage.transaction((tx) =>
          endFederationRegistrationsVia(tx, fed.orgIntermediate.entityId, meta()),
        );
        assert.deepEqual(ended.sort(), [fed.leaf.entityId, sibling.entityId].sort());
        for (const clientId of ended) {
          const { application, registration, changes, audit } = await footprint(storage, clientId);
          assert.equal(application?.status, 'deleted');
          assert.equal(registration?.status, 'ended');
          assert.equal(registration?.ended_reason, `subordinate ${fed.orgIntermediate.entityId} was removed`);
          assert.deepEqual(changes.at(-1), {
            kind: 'app.status',
            payload: { status: 'deleted', org_id: fed.orgId, registration_type: 'federation' },
          });
          assert.deepEqual(
            audit.slice(-2).map((a) => a.action),
            ['application.deregister', 'federation.registration.end'],
          );
        }
        const untouched = await footprint(storage, direct.entityId);
        assert.equal(untouched.application?.status, 'active');
        assert.equal(untouched.registration?.status, 'active');

        // Ending again finds nothing active and writes nothing.
        const counts = await tableCounts(storage);
        assert.deepEqual(
          await storage.transaction((tx) =>
            endFederationRegistrationsVia(tx, fed.orgIntermediate.entityId, meta()),
          ),
          [],
        );
        assert.deepEqual(await tableCounts(storage), counts);
      });
    });
  });
}
