import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createOrganisation } from '../../src/directory/index.ts';
import {
  addSubordinate,
  createFederationAuthority,
  type FederationAuthority,
  type FederationAuthorityOptions,
  registerFederationEndpoints,
  rotateFederationKey,
  type SubordinateInput,
} from '../../src/federation/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import type { EngineTarget } from '../support/engines.ts';

export const TA = 'https://ta.example';
export const TRUST_MARK_TYPE = 'https://ta.example/trust-marks/accredited-partner';
export const LIFETIME = 3600;

/** A subordinate's own Federation Entity Key pair: the private half stays with the test, like a partner's. */
export async function entityKey(): Promise<{
  publicJwk: JWK;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
}> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { publicJwk: { ...jwk, kid, alg: 'ES256', use: 'sig' }, privateKey };
}

export interface AuthorityFixture {
  storage: Storage;
  authority: FederationAuthority;
  app: FastifyInstance;
  base: string;
  orgId: string;
  /** The injected clock's current time; tests move it. */
  clock: { now: Date };
  addLeaf(entityId: string, extra?: Partial<SubordinateInput>): Promise<void>;
  get(path: string): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A fresh database with the seed catalog, one organisation and one federation key, and the federation endpoints
 * on a real HTTP listener on 127.0.0.1 (Entity Identifier https://ta.example, so routes live at the root).
 */
export async function startAuthority(
  target: EngineTarget,
  options: Partial<FederationAuthorityOptions> = {},
): Promise<AuthorityFixture> {
  const storage = await seededStorage(target);
  const clock = { now: new Date(META.now) };
  const orgId = await storage.transaction((tx) =>
    createOrganisation(tx, { name: `Acme ${Math.random().toString(36).slice(2, 8)}` }, META),
  );
  await storage.transaction((tx) =>
    rotateFederationKey(tx, { kek: KEK, statementLifetimeSeconds: LIFETIME }, { ...META, now: clock.now }),
  );
  const authority = createFederationAuthority({
    db: storage.db,
    kek: KEK,
    clock: () => clock.now,
    entityId: TA,
    statementLifetimeSeconds: LIFETIME,
    trustMarkTypes: [{ type: TRUST_MARK_TYPE, roles: [] }],
    trustAnchors: [TA],
    ...options,
  });
  const app = Fastify({ logger: false });
  await registerFederationEndpoints(app, authority);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const prefix = new URL(authority.entityId).pathname.replace(/\/+$/, '');
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${prefix}`;
  return {
    storage,
    authority,
    app,
    base,
    orgId,
    clock,
    async addLeaf(entityId, extra = {}) {
      const { publicJwk } = await entityKey();
      await storage.transaction((tx) =>
        addSubordinate(
          tx,
          { entityId, orgId, jwks: { keys: [publicJwk] }, ...extra },
          { authorityEntityId: authority.entityId },
          { ...META, now: clock.now },
        ),
      );
    },
    get: (path) => fetch(`${base}${path}`),
    async close() {
      await app.close();
      await storage.close();
    },
  };
}
