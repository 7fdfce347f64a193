import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  fetchEntityConfiguration,
  getUsedJsonWebKey,
  resolveTrustChains,
  trustMarkSchema,
  type VerifyCallback,
} from '@openid-federation/core';
import { FederationClient } from '@sphereon/openid-federation-client';
import Fastify, { type FastifyInstance } from 'fastify';
import { compactVerify, decodeJwt, importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { createOrganisation } from '../../src/directory/index.ts';
import { createFederationFetcher } from '../../src/federation/fetch/index.ts';
import {
  addSubordinate,
  createFederationAuthority,
  ENTITY_CONFIGURATION_PATH,
  type FederationAuthority,
  issueTrustMark,
  MEDIA_TYPES,
  registerFederationEndpoints,
  rotateFederationKey,
} from '../../src/federation/index.ts';
import { createTrustChainResolver } from '../../src/federation/trust-chain/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import {
  createTestClock,
  startTopology,
  type TestEntity,
  type Topology,
  tlsMaterial,
} from './support/topology.ts';

// The libraries read the wall clock (neither takes a clock for chain resolution), so the platform does too here.
const meta = () => ({ ...META, now: new Date() });
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface HttpsPlatform {
  entityId: string;
  trustMarkType: string;
  authority: FederationAuthority;
  storage: Storage;
  orgId: string;
  close(): Promise<void>;
}

/**
 * The platform's federation authority on a real HTTPS listener (Entity Identifier `https://127.0.0.1:PORT`, the
 * topology's CA): the listener is bound first so the Entity Identifier can name its port.
 */
async function startHttpsPlatform(): Promise<HttpsPlatform> {
  const [sqlite] = await engineTargets();
  const storage = await seededStorage(sqlite!);
  const tls = await tlsMaterial();
  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const entityId = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const trustMarkType = `${entityId}/trust-marks/accredited-partner`;
  const orgId = await storage.transaction((tx) =>
    createOrganisation(tx, { name: 'Interop Partner' }, meta()),
  );
  await storage.transaction((tx) =>
    rotateFederationKey(tx, { kek: KEK, statementLifetimeSeconds: 3600 }, meta()),
  );
  const authority = createFederationAuthority({
    db: storage.db,
    kek: KEK,
    clock: () => new Date(),
    entityId,
    statementLifetimeSeconds: 3600,
    trustMarkTypes: [{ type: trustMarkType, roles: [] }],
  });
  const app: FastifyInstance = Fastify({
    logger: false,
    serverFactory: (handler) => server.on('request', handler),
  });
  await registerFederationEndpoints(app, authority);
  await app.ready();
  return {
    entityId,
    trustMarkType,
    authority,
    storage,
    orgId,
    async close() {
      await app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await storage.close();
      await sqlite!.cleanup();
    },
  };
}

/** The verification @openid-federation/core delegates to its caller: the JWS against the key it picked. */
const verifyJwtCallback: VerifyCallback = async ({ jwt, jwk }) => {
  try {
    await compactVerify(jwt, await importJWK(jwk as JWK, 'ES256'));
    return true;
  } catch {
    return false;
  }
};

let topology: Topology;
let platform: HttpsPlatform;
let leaf: TestEntity;
let trustMark: string;
/** A leaf whose trust_marks entry has only the final members (trust_mark_type, trust_mark). */
let finalFormLeaf: TestEntity;
let previousDispatcher: Dispatcher;
let agent: Agent;

/** Registers `entity` as the platform's subordinate, issues it a mark and collects it as the partner would. */
async function markedSubordinate(entity: TestEntity, expiresIn?: number): Promise<string> {
  await platform.storage.transaction((tx) =>
    addSubordinate(
      tx,
      { entityId: entity.entityId, orgId: platform.orgId, jwks: entity.jwks() },
      { authorityEntityId: platform.entityId },
      meta(),
    ),
  );
  await platform.storage.transaction((tx) =>
    issueTrustMark(
      tx,
      { trustMarkType: platform.trustMarkType, sub: entity.entityId, expiresIn },
      platform.authority.trustMarkTypes,
      meta(),
    ),
  );
  // §8.6: the Trust Mark endpoint, over HTTPS.
  const url = new URL(platform.authority.urls.trustMark);
  url.searchParams.set('trust_mark_type', platform.trustMarkType);
  url.searchParams.set('sub', entity.entityId);
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), MEDIA_TYPES.trustMark);
  return response.text();
}

/**
 * A partner's relying party under the platform holding the platform's mark; with `entryId` its trust_marks entry
 * also names the type as `id`, as README advises partners whose peers use pre-final libraries.
 */
async function partnerLeaf(name: string, entryId: boolean): Promise<{ leaf: TestEntity; trustMark: string }> {
  const entity = await topology.addEntity(name);
  entity.metadata.openid_relying_party = {
    client_name: 'Interop RP',
    client_registration_types: ['automatic'],
    redirect_uris: ['https://rp.interop.example/callback'],
    token_endpoint_auth_method: 'private_key_jwt',
  };
  entity.authorityHints.push(platform.entityId);
  const jwt = await markedSubordinate(entity, 86_400);
  const type = platform.trustMarkType;
  entity.configuration.trust_marks = [
    entryId
      ? { trust_mark_type: type, id: type, trust_mark: jwt }
      : { trust_mark_type: type, trust_mark: jwt },
  ];
  return { leaf: entity, trustMark: jwt };
}

before(async () => {
  // Both libraries fetch with the global fetch; it trusts the test federation's CA for the length of this file.
  const tls = await tlsMaterial();
  previousDispatcher = getGlobalDispatcher();
  agent = new Agent({ connect: { ca: tls.caPem } });
  setGlobalDispatcher(agent);

  topology = await startTopology({ clock: createTestClock(new Date()) });
  platform = await startHttpsPlatform();
  ({ leaf, trustMark } = await partnerLeaf('leaf', true));
  ({ leaf: finalFormLeaf } = await partnerLeaf('final-form-leaf', false));
});

after(async () => {
  await platform?.close();
  await topology?.close();
  setGlobalDispatcher(previousDispatcher);
  await agent?.close();
});

describe('Trust Mark interoperability with federation libraries (§7.1)', () => {
  it('ok/the mark carries trust_mark_type (§7.1) and the pre-final id, equal to it', () => {
    const claims = decodeJwt(trustMark);
    assert.equal(claims.trust_mark_type, platform.trustMarkType);
    assert.equal(claims.id, platform.trustMarkType);
    assert.equal(claims.iss, platform.entityId);
    assert.equal(claims.sub, leaf.entityId);
  });

  it("ok/the platform's own resolver keeps the mark: id is an additional claim it ignores (§7.1)", async () => {
    const fetcher = createFederationFetcher({ allowLoopback: true, ca: (await tlsMaterial()).caPem });
    try {
      const configuration = await (await fetch(`${platform.entityId}${ENTITY_CONFIGURATION_PATH}`)).text();
      const anchor = { entityId: platform.entityId, jwks: decodeJwt(configuration).jwks as JSONWebKeySet };
      const resolver = createTrustChainResolver({ trustAnchors: [anchor], fetcher, clock: () => new Date() });
      const result = await resolver.resolve(leaf.entityId);
      assert.ok(result.ok, JSON.stringify(result.findings));
      assert.deepEqual(result.findings, []);
      assert.deepEqual(
        result.entity.trustMarks.map((m) => [m.trust_mark_type, m.trust_mark]),
        [[platform.trustMarkType, trustMark]],
      );
    } finally {
      await fetcher.close();
    }
  });

  describe('@openid-federation/core', () => {
    it("ok/accepts the platform's Entity Configuration and its trust_mark_issuers", async () => {
      const configuration = await fetchEntityConfiguration({
        entityId: platform.entityId,
        verifyJwtCallback,
      });
      assert.equal(configuration.sub, platform.entityId);
      assert.deepEqual(configuration.trust_mark_issuers, { [platform.trustMarkType]: [platform.entityId] });
    });

    it("ok/parses the platform's Trust Mark and verifies it with the platform's keys", async () => {
      const configuration = await fetchEntityConfiguration({
        entityId: platform.entityId,
        verifyJwtCallback,
      });
      const parsed = trustMarkSchema.parse({ id: platform.trustMarkType, trust_mark: trustMark });
      assert.equal(parsed.trust_mark.claims.id, platform.trustMarkType);
      assert.equal(parsed.trust_mark.claims.iss, platform.entityId);
      const jwk = getUsedJsonWebKey(parsed.trust_mark.header, configuration);
      assert.equal(await verifyJwtCallback({ jwt: trustMark, jwk } as Parameters<VerifyCallback>[0]), true);
    });

    it('ok/resolves a Trust Chain from the marked leaf to the platform as Trust Anchor', async () => {
      const chains = await resolveTrustChains({
        entityId: leaf.entityId,
        trustAnchorEntityIds: [platform.entityId],
        verifyJwtCallback,
      });
      assert.equal(chains.length, 1);
      const [chain] = chains;
      assert.equal(chain!.trustAnchorEntityConfiguration.sub, platform.entityId);
      // The library's chain leaves out the subject's own Entity Configuration (it is rawLeafEntityConfiguration).
      assert.deepEqual(
        chain!.chain.map((s) => [s.iss, s.sub]),
        [
          [platform.entityId, leaf.entityId],
          [platform.entityId, platform.entityId],
        ],
      );
      const marks = chain!.rawLeafEntityConfiguration.trust_marks ?? [];
      assert.equal(marks.length, 1);
      assert.equal(marks[0]!.trust_mark.claims.id, platform.trustMarkType);
    });
    it('fail/refuses a leaf whose trust_marks entry lacks id (why README advises partners to add it)', async () => {
      await assert.rejects(
        resolveTrustChains({
          entityId: finalFormLeaf.entityId,
          trustAnchorEntityIds: [platform.entityId],
          verifyJwtCallback,
        }),
        (err: Error & { cause?: { cause?: { issues?: Array<{ path: unknown[] }> } } }) => {
          assert.deepEqual(
            err.cause?.cause?.issues?.map((issue) => issue.path),
            [['trust_marks', 0, 'id']],
          );
          return true;
        },
      );
    });
  });

  describe('@sphereon/openid-federation-client', () => {
    it('ok/verifies the Trust Mark against the platform as Trust Anchor', async () => {
      const client = new FederationClient(null, null);
      const anchor = await client.entityConfigurationStatementGet(platform.entityId);
      const result = await client.verifyTrustMark(trustMark, anchor, nowSeconds());
      assert.equal(result.isValid, true, result.errorMessage ?? undefined);
    });

    it('fail/refuses a mark without exp though §7.1 makes exp OPTIONAL (library limitation)', async () => {
      const client = new FederationClient(null, null);
      const anchor = await client.entityConfigurationStatementGet(platform.entityId);
      const lasting = await markedSubordinate(await topology.addEntity('lasting'));
      assert.equal(decodeJwt(lasting).exp, undefined);
      const result = await client.verifyTrustMark(lasting, anchor, nowSeconds());
      assert.equal(result.isValid, false);
      assert.match(result.errorMessage ?? '', /expired/);
    });

    it('ok/resolves and verifies the Trust Chain from the marked leaf to the platform', async () => {
      const client = new FederationClient(null, null);
      const resolved = await client.resolveTrustChain(leaf.entityId, [platform.entityId]);
      assert.equal(resolved.errorMessage ?? undefined, undefined);
      const chain = resolved.trustChain ?? [];
      assert.equal(chain.length, 3);
      const verified = await client.verifyTrustChain(chain, platform.entityId, nowSeconds());
      assert.equal(verified.isValid, true, verified.errorMessage ?? undefined);
    });

    it('fail/refuses a leaf whose trust_marks entry lacks id (why README advises partners to add it)', async () => {
      const client = new FederationClient(null, null);
      const resolved = await client.resolveTrustChain(finalFormLeaf.entityId, [platform.entityId]);
      assert.match(resolved.errorMessage ?? '', /Field 'id' is required/);
    });
  });
});
