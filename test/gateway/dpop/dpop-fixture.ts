import assert from 'node:assert/strict';
import {
  createHash,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, type JWK, SignJWT } from 'jose';
import type { Agent } from 'undici';
import {
  type CatalogRoute,
  createDecisionCore,
  createDecisionListener,
  createGateway,
  type DecisionCore,
  type DecisionListener,
  type Gateway,
  type LivenessState,
} from '../../../src/gateway/index.ts';
import { createLivenessState } from '../../../src/platform/enforcement-feed/index.ts';
import { createDpopNonces, type DpopNonces } from '../../../src/shared/dpop/index.ts';
import { createMemoryReplayCache, type ReplayCache } from '../../../src/shared/replay-cache/index.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { createPartner, installCa } from '../../support/ca-fixture.ts';
import { seededStorage } from '../../support/directory-fixture.ts';
import { engineTargets } from '../../support/engines.ts';
import {
  type ClientCredential,
  capturingLogger,
  clientAgent,
  csrWithKey,
  JwksServer,
  serverTlsFrom,
  signingKey,
  TokenMinter,
} from '../fixture.ts';

export const ISSUER = 'https://localhost:8443';
export const AUDIENCE = 'https://api.example.com';
/** The URL clients address (a proxy's), unlike the gateway's socket URL: `htu` is judged against this. */
export const PUBLIC_URL = 'https://api.example.com';
export const SECRET = 'decision-secret-0123456789abcdefghijklmnop';

const op = (
  method: string,
  pathPattern: string,
  mtls: 'required' | 'optional',
  dpop: 'accepted' | 'refused' | 'required',
) => ({ method, pathPattern, scopes: [['accounts:read']], auth: 'token', mtls, dpop }) as CatalogRoute;

export const ROUTES: CatalogRoute[] = [
  // DPoP without a client certificate.
  op('GET', '/v1/accounts', 'optional', 'accepted'),
  op('POST', '/v1/accounts', 'optional', 'accepted'),
  // DPoP and a client certificate both (the catalog says mTLS is required).
  op('GET', '/v1/strict', 'required', 'accepted'),
  // Certificate-bound tokens only.
  op('GET', '/v1/legacy', 'required', 'refused'),
  // DPoP-bound tokens only, no certificate needed.
  op('GET', '/v1/dpop-only', 'optional', 'required'),
];

export interface DpopKey {
  privateKey: KeyObject;
  jwk: JWK;
  jkt: string;
}

export async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

export const athOf = (token: string) => createHash('sha256').update(token).digest('base64url');
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export interface ProofInput {
  key: DpopKey;
  htm: string;
  htu: string;
  token?: string;
  nonce?: string;
  /** Claims to set (undefined removes one). */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Another key signs while the header names `key`. */
  signWith?: KeyObject;
}

/** A DPoP proof (RFC 9449 §4.2) as a client makes one: fresh jti and iat, ath of the token. */
export async function proof(input: ProofInput): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    htm: input.htm,
    htu: input.htu,
    iat: Math.floor(Date.now() / 1000),
    ...(input.token !== undefined ? { ath: athOf(input.token) } : {}),
    ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
    ...input.claims,
  };
  const clean = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  const header = { alg: 'ES256', typ: 'dpop+jwt', jwk: input.key.jwk, ...input.header };
  const cleanHeader = Object.fromEntries(Object.entries(header).filter(([, v]) => v !== undefined));
  return new SignJWT(clean)
    .setProtectedHeader(cleanHeader as { alg: string })
    .sign(input.signWith ?? input.key.privateKey);
}

/** `alg: none`: no signature. */
export function unsignedProof(key: DpopKey, claims: Record<string, unknown>): string {
  return `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })}.${b64(claims)}.`;
}

/** HS256 keyed with the public JWK's JSON (an algorithm-confusion attempt). */
export function hmacProof(key: DpopKey, claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.jwk })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', JSON.stringify(key.jwk)).update(input).digest('base64url')}`;
}

export interface Client {
  clientId: string;
  orgId: string;
  cred: ClientCredential;
  agent: Agent;
}

export interface DpopEnv {
  storage: Storage;
  tls: { cert: string; key: string };
  caPem: string;
  gateway: Gateway;
  /** A second gateway node sharing the replay cache and the nonce secret. */
  gateway2: Gateway;
  core: DecisionCore;
  listener: DecisionListener;
  replayCache: ReplayCache;
  nonces: DpopNonces;
  minter: TokenMinter;
  liveness: LivenessState;
  reader: Client;
  /** An agent trusting the platform CA, without a client certificate. */
  noCert: Agent;
  lines: string[];
  /** The headers of the last request the upstream received. */
  upstreamSeen(): IncomingHttpHeaders | undefined;
  close(): Promise<void>;
}

export async function dpopEnv(): Promise<DpopEnv> {
  const sqlite = (await engineTargets()).find((t) => t.name === 'sqlite');
  assert.ok(sqlite);
  const storage = await seededStorage(sqlite);
  const ca = await installCa(storage);
  const tls = await serverTlsFrom(ca);
  const acme = await createPartner(storage, 'Acme Bank');
  const { csrPem, keyPem } = await csrWithKey();
  const view = await storage.transaction((tx) =>
    ca.issue(tx, { clientId: acme.clientId, csrPem }, { actor: 'operator:test', now: new Date() }),
  );
  const cred = { certPem: view.certificate_pem, keyPem, x5tS256: view.x5t_s256 };
  const readerAgent = clientAgent(ca.chainPem, cred);
  const noCert = clientAgent(ca.chainPem);
  const key = await signingKey('k1');
  const jwks = new JwksServer(tls);
  jwks.keys.push(key.publicJwk);
  await jwks.start();
  let seen: IncomingHttpHeaders | undefined;
  const upstream: Server = createServer((req, res) => {
    seen = req.headers;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const liveness = await createLivenessState(storage);
  const { logger, lines } = capturingLogger();
  const replayCache = createMemoryReplayCache();
  const nonceSecret = randomBytes(32);
  const dpop = { replayCache, nonceSecret };
  const gatewayOptions = {
    host: '127.0.0.1',
    port: 0,
    publicUrl: PUBLIC_URL,
    tls: { ...tls, ca: ca.chainPem },
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.url,
    jwksCa: ca.chainPem,
    liveness,
    routes: ROUTES,
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    logger,
    jwksCooldownMs: 0,
    dpop,
  };
  const gateway = await createGateway(gatewayOptions);
  const gateway2 = await createGateway(gatewayOptions);
  const core = await createDecisionCore({
    liveness,
    routes: ROUTES,
    trustedCa: ca.chainPem,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.url,
    jwksCa: ca.chainPem,
    jwksCooldownMs: 0,
    dpop,
    logger,
  });
  const listener = await createDecisionListener({
    host: '127.0.0.1',
    port: 0,
    tls,
    core,
    logger,
    secret: SECRET,
    edgeUrl: PUBLIC_URL,
  });
  return {
    storage,
    tls,
    caPem: ca.chainPem,
    gateway,
    gateway2,
    core,
    listener,
    replayCache,
    nonces: createDpopNonces({ secret: nonceSecret }),
    minter: new TokenMinter(ISSUER, AUDIENCE, key),
    liveness,
    reader: { clientId: acme.clientId, orgId: acme.orgId, cred, agent: readerAgent },
    noCert,
    lines,
    upstreamSeen: () => seen,
    async close() {
      await readerAgent.close();
      await noCert.close();
      await listener.close();
      await gateway.close();
      await gateway2.close();
      await core.close();
      await replayCache.close();
      liveness.close();
      upstream.close();
      await jwks.close();
      await storage.close();
    },
  };
}
