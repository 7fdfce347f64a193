import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt, type JSONWebKeySet } from 'jose';
import { createOrganisation } from '../../src/directory/index.ts';
import { createFederationFetcher, type FederationFetcher } from '../../src/federation/fetch/index.ts';
import {
  addSubordinate,
  createFederationAuthority,
  type FederationAuthority,
  issueTrustMark,
  JWT_TYPES,
  MEDIA_TYPES,
  registerFederationEndpoints,
  rotateFederationKey,
  verifyFederationJwt,
} from '../../src/federation/index.ts';
import { createTrustChainResolver } from '../../src/federation/trust-chain/index.ts';
import { createRootCa, generateKeyPair, issueServerCertificate } from '../../src/pki/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { freePort } from '../support/platform-process.ts';
import { startTopology, type TestEntity, type Topology } from './support/topology.ts';

const [sqlite] = await engineTargets();
const LIFETIME = 3600;

/** The platform's endpoints on their own HTTPS listener, resolving with the real resolver against a live leaf. */
describe('federation resolve endpoint with the trust chain resolver (§8.3, §10)', {
  skip: sqlite?.skip,
}, () => {
  let topology: Topology;
  let leaf: TestEntity;
  let storage: Storage;
  let app: FastifyInstance;
  let fetcher: FederationFetcher;
  let authority: FederationAuthority;
  let ta: string;
  let trustMarkType: string;

  before(async () => {
    topology = await startTopology();
    const now = topology.clock.now;
    const port = await freePort();
    ta = `https://127.0.0.1:${port}`;
    trustMarkType = `${ta}/trust-marks/accredited-partner`;

    const tlsNow = new Date(Date.now() - 60_000);
    const root = await createRootCa({ commonName: 'Authority Test CA', now: tlsNow, validityDays: 2 });
    const serverKey = generateKeyPair('ES256');
    const cert = await issueServerCertificate({
      issuer: root,
      publicKey: serverKey.publicKey,
      commonName: '127.0.0.1',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 1,
      now: tlsNow,
    });

    storage = await seededStorage(sqlite!);
    const meta = { ...META, now };
    const orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Leaf Org' }, meta));
    await storage.transaction((tx) =>
      rotateFederationKey(tx, { kek: KEK, statementLifetimeSeconds: LIFETIME }, meta),
    );

    leaf = await topology.addEntity('leaf');
    leaf.metadata = {
      openid_relying_party: { client_name: 'Leaf RP', token_endpoint_auth_method: 'client_secret_basic' },
    };
    leaf.authorityHints.push(ta);
    await storage.transaction((tx) =>
      addSubordinate(
        tx,
        {
          entityId: leaf.entityId,
          orgId,
          jwks: leaf.jwks(),
          metadataPolicy: {
            openid_relying_party: { token_endpoint_auth_method: { value: 'private_key_jwt' } },
          },
        },
        { authorityEntityId: ta, allowHttpLoopback: false },
        meta,
      ),
    );

    // The resolver trusts the platform as Trust Anchor with the keys it publishes, configured out of band.
    const bootstrap = createFederationAuthority({
      db: storage.db,
      kek: KEK,
      clock: topology.clock.clock,
      entityId: ta,
      statementLifetimeSeconds: LIFETIME,
      trustMarkTypes: [{ type: trustMarkType, roles: [] }],
    });
    const taJwks = await bootstrap.keys.publishedJwks(now);
    fetcher = createFederationFetcher({
      allowLoopback: true,
      ca: [topology.caPem, root.certPem],
      timeoutMs: 3000,
    });
    const resolver = createTrustChainResolver({
      trustAnchors: [{ entityId: ta, jwks: taJwks }],
      fetcher,
      clock: topology.clock.clock,
    });
    authority = createFederationAuthority({
      db: storage.db,
      kek: KEK,
      clock: topology.clock.clock,
      entityId: ta,
      statementLifetimeSeconds: LIFETIME,
      trustMarkTypes: [{ type: trustMarkType, roles: [] }],
      trustAnchors: [ta],
      resolver,
    });
    app = Fastify({
      logger: false,
      https: { key: serverKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: cert.certPem },
    }) as unknown as FastifyInstance;
    await registerFederationEndpoints(app, authority);
    await app.listen({ host: '127.0.0.1', port });

    // The leaf carries a Trust Mark the platform issued, fetched from the platform's trust mark endpoint.
    await storage.transaction((tx) =>
      issueTrustMark(
        tx,
        { trustMarkType, sub: leaf.entityId, expiresIn: 1800 },
        authority.trustMarkTypes,
        meta,
      ),
    );
    const mark = await fetcher.fetch({
      url: `${ta}/federation/trust-mark?trust_mark_type=${encodeURIComponent(trustMarkType)}&sub=${encodeURIComponent(leaf.entityId)}`,
      accept: MEDIA_TYPES.trustMark,
    });
    leaf.addTrustMark(trustMarkType, mark.body);
  });

  after(async () => {
    await app?.close();
    await fetcher?.close();
    await topology?.close();
    await storage?.close();
    await sqlite?.cleanup();
  });

  test('ok/the resolve response carries the policy-applied metadata, the verified trust mark and the chain', async () => {
    const res = await fetcher.fetch({
      url: `${ta}/federation/resolve?${new URLSearchParams([
        ['sub', leaf.entityId],
        ['trust_anchor', ta],
        ['entity_type', 'openid_relying_party'],
      ])}`,
      accept: MEDIA_TYPES.resolveResponse,
    });
    assert.equal(res.status, 200);
    const ec = decodeJwt(
      (
        await fetcher.fetch({
          url: `${ta}/.well-known/openid-federation`,
          accept: MEDIA_TYPES.entityStatement,
        })
      ).body,
    );
    const { payload } = await verifyFederationJwt<Record<string, unknown> & { iat: number; exp: number }>(
      res.body,
      ec.jwks as JSONWebKeySet,
      { typ: JWT_TYPES.resolveResponse, now: topology.clock.now },
    );
    assert.equal(payload.iss, ta);
    assert.equal(payload.sub, leaf.entityId);
    assert.deepEqual(payload.metadata, {
      openid_relying_party: { client_name: 'Leaf RP', token_endpoint_auth_method: 'private_key_jwt' },
    });
    const chain = payload.trust_chain as string[];
    assert.equal(chain.length, 3, 'leaf EC, the platform’s Subordinate Statement, the platform’s EC');
    assert.equal(decodeJwt(chain[1]!).iss, ta);
    const marks = payload.trust_marks as Array<{ trust_mark_type: string }>;
    assert.deepEqual(
      marks.map((m) => m.trust_mark_type),
      [trustMarkType],
    );
    assert.ok(payload.exp <= topology.clock.seconds() + 1800, 'bounded by the trust mark’s expiry');
  });

  test('fail/an entity that is not a subordinate → 400 invalid_trust_chain as a §8.9 error', async () => {
    const stranger = await topology.addEntity('stranger');
    stranger.authorityHints.push(ta);
    const res = await app.inject({
      method: 'GET',
      url: `/federation/resolve?${new URLSearchParams([
        ['sub', stranger.entityId],
        ['trust_anchor', ta],
      ])}`,
    });
    assert.equal(res.statusCode, 400);
    const body = JSON.parse(res.body) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_trust_chain');
    assert.ok(body.error_description.length > 0);
  });
});
