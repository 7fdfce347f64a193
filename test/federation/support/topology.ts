import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, type JSONWebKeySet, type JWK, SignJWT } from 'jose';
import { ENTITY_CONFIGURATION_PATH, JWT_TYPES, MEDIA_TYPES } from '../../../src/federation/index.ts';
import { createRootCa, generateKeyPair, issueServerCertificate } from '../../../src/pki/index.ts';

/** An ES256 Federation Entity Key. */
export interface TestKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export async function createTestKey(kid?: string): Promise<TestKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = await exportJWK(publicKey);
  const id = kid ?? (await calculateJwkThumbprint(jwk));
  return { kid: id, privateKey, publicJwk: { ...jwk, kid: id, alg: 'ES256', use: 'sig' } };
}

export const jwksOf = (...keys: TestKey[]): JSONWebKeySet => ({ keys: keys.map((k) => k.publicJwk) });

export interface SignOptions {
  /** Key that signs; default the entity's signing key. */
  key?: TestKey;
  /** Header members merged over `{ alg, kid, typ }`; a member set to `undefined` is left out. */
  header?: Record<string, unknown>;
  /** Produce an `alg: none` token with an empty signature. */
  unsigned?: boolean;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function signJwt(
  payload: Record<string, unknown>,
  typ: string,
  key: TestKey,
  options: SignOptions = {},
): Promise<string> {
  const signer = options.key ?? key;
  const header: Record<string, unknown> = { alg: 'ES256', kid: signer.kid, typ, ...options.header };
  for (const name of Object.keys(header)) if (header[name] === undefined) delete header[name];
  if (options.unsigned) return `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(signer.privateKey);
}

/** The test clock: statements are issued relative to it and the resolver reads it. */
export interface TestClock {
  now: Date;
  readonly clock: () => Date;
  advance(seconds: number): void;
  seconds(): number;
}

export function createTestClock(start = new Date('2026-03-01T12:00:00.000Z')): TestClock {
  const state: TestClock = {
    now: start,
    clock: () => state.now,
    advance(seconds) {
      state.now = new Date(state.now.getTime() + seconds * 1000);
    },
    seconds: () => Math.floor(state.now.getTime() / 1000),
  };
  return state;
}

/** What a superior says about one Immediate Subordinate at its fetch endpoint. */
export interface SubordinateRecord {
  entity: TestEntity;
  /** Claims merged last (metadata_policy, constraints, metadata, crit, iat/exp overrides…); `undefined` removes. */
  claims?: Record<string, unknown>;
  /** Keys stated for the subordinate; default the subordinate's currently published keys. */
  jwks?: () => JSONWebKeySet;
  sign?: SignOptions;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export interface TestEntity {
  readonly name: string;
  readonly entityId: string;
  /** Published Federation Entity Keys, in `jwks` order. */
  keys: TestKey[];
  signingKey: TestKey;
  authorityHints: string[];
  metadata: Record<string, Record<string, unknown>>;
  /** Entity Configuration claims merged last; `undefined` removes a claim. */
  configuration: Record<string, unknown>;
  configurationSign: SignOptions;
  /** Replaces the served Entity Configuration JWT outright. */
  configurationJwt?: string;
  readonly subordinates: Map<string, SubordinateRecord>;
  /** Trust Mark Status answers by Trust Mark JWT; a JWT not in the map gets 404. */
  readonly trustMarkStatus: Map<string, string>;
  /** Requests served, by path. */
  readonly hits: Map<string, number>;
  /** Extra or replacement routes by path. */
  readonly routes: Map<string, Handler>;
  readonly fetchEndpoint: string;
  readonly statusEndpoint: string;
  jwks(): JSONWebKeySet;
  addSubordinate(entity: TestEntity, record?: Omit<SubordinateRecord, 'entity'>): void;
  sign(payload: Record<string, unknown>, typ: string, options?: SignOptions): Promise<string>;
  /** Issues a Trust Mark (status `active` at this issuer's status endpoint) about `subject`. */
  issueTrustMark(
    subject: TestEntity | string,
    trustMarkType: string,
    claims?: Record<string, unknown>,
    options?: SignOptions,
  ): Promise<string>;
  /** Puts a Trust Mark into this entity's Entity Configuration. */
  addTrustMark(trustMarkType: string, trustMark: string): void;
}

export interface Topology {
  readonly caPem: string;
  readonly clock: TestClock;
  addEntity(name: string): Promise<TestEntity>;
  /** Starts a bare HTTPS server on 127.0.0.1 for fetcher tests. */
  startServer(handler: Handler): Promise<{ url: string; close(): Promise<void> }>;
  close(): Promise<void>;
}

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

let tls: Promise<TlsMaterial> | undefined;

// One CA and one 127.0.0.1 server certificate per process; TLS validity is real time, not the test clock.
export function tlsMaterial(): Promise<TlsMaterial> {
  tls ??= (async () => {
    const now = new Date(Date.now() - 60_000);
    const root = await createRootCa({ commonName: 'Federation Test CA', now, validityDays: 30 });
    const { privateKey, publicKey } = generateKeyPair('ES256');
    const cert = await issueServerCertificate({
      issuer: root,
      publicKey,
      commonName: '127.0.0.1',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 7,
      now,
    });
    return {
      caPem: root.certPem,
      certPem: cert.certPem,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  })();
  return tls;
}

function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) req.destroy();
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const sendError = (res: ServerResponse, status: number, error: string) =>
  send(res, status, 'application/json', JSON.stringify({ error, error_description: error }));

async function listen(handler: Handler): Promise<{ server: Server; port: number }> {
  const material = await tlsMaterial();
  const server = createServer({ key: material.keyPem, cert: material.certPem }, (req, res) => {
    readBody(req)
      .then((body) => handler(req, res, body))
      .catch(() => {
        if (!res.headersSent) sendError(res, 500, 'server_error');
        else res.destroy();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * A live federation on 127.0.0.1: each entity is its own HTTPS server (entity id `https://127.0.0.1:PORT`)
 * serving its Entity Configuration (§9), a fetch endpoint (§8.1) and a Trust Mark Status endpoint (§8.4), all
 * signed on request from the in-memory definitions at the test clock's time.
 */
export async function startTopology(options: { clock?: TestClock } = {}): Promise<Topology> {
  const material = await tlsMaterial();
  const clock = options.clock ?? createTestClock();
  const servers: Server[] = [];

  async function addEntity(name: string): Promise<TestEntity> {
    const key = await createTestKey(`${name}-1`);
    let entity: TestEntity | undefined;
    const { server, port } = await listen(async (req, res, body) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const self = entity!;
      self.hits.set(url.pathname, (self.hits.get(url.pathname) ?? 0) + 1);
      const custom = self.routes.get(url.pathname);
      if (custom) return custom(req, res, body);
      const now = clock.seconds();
      if (url.pathname === ENTITY_CONFIGURATION_PATH && req.method === 'GET') {
        const jwt =
          self.configurationJwt ??
          (await self.sign(
            configurationClaims(self, now),
            JWT_TYPES.entityStatement,
            self.configurationSign,
          ));
        return send(res, 200, MEDIA_TYPES.entityStatement, jwt);
      }
      if (url.pathname === '/fetch' && req.method === 'GET') {
        const sub = url.searchParams.get('sub');
        if (!sub) return sendError(res, 400, 'invalid_request');
        const record = self.subordinates.get(sub);
        if (!record) return sendError(res, 404, 'not_found');
        const claims = {
          iss: self.entityId,
          sub,
          iat: now - 60,
          exp: now + 3600,
          jwks: record.jwks ? record.jwks() : record.entity.jwks(),
          source_endpoint: self.fetchEndpoint,
          ...record.claims,
        };
        return send(
          res,
          200,
          MEDIA_TYPES.entityStatement,
          await self.sign(claims, JWT_TYPES.entityStatement, record.sign),
        );
      }
      if (url.pathname === '/status' && req.method === 'POST') {
        const trustMark = new URLSearchParams(body).get('trust_mark');
        if (!trustMark) return sendError(res, 400, 'invalid_request');
        const status = self.trustMarkStatus.get(trustMark);
        if (status === undefined) return sendError(res, 404, 'not_found');
        const jwt = await self.sign(
          { iss: self.entityId, iat: now - 1, trust_mark: trustMark, status },
          JWT_TYPES.trustMarkStatusResponse,
        );
        return send(res, 200, MEDIA_TYPES.trustMarkStatusResponse, jwt);
      }
      return sendError(res, 404, 'not_found');
    });
    servers.push(server);
    const entityId = `https://127.0.0.1:${port}`;
    const created: TestEntity = {
      name,
      entityId,
      keys: [key],
      signingKey: key,
      authorityHints: [],
      metadata: {},
      configuration: {},
      configurationSign: {},
      subordinates: new Map(),
      trustMarkStatus: new Map(),
      hits: new Map(),
      routes: new Map(),
      fetchEndpoint: `${entityId}/fetch`,
      statusEndpoint: `${entityId}/status`,
      jwks: () => jwksOf(...created.keys),
      addSubordinate(sub, record = {}) {
        created.subordinates.set(sub.entityId, { ...record, entity: sub });
        if (!sub.authorityHints.includes(entityId)) sub.authorityHints.push(entityId);
      },
      sign: (payload, typ, signOptions) => signJwt(payload, typ, created.signingKey, signOptions),
      async issueTrustMark(subject, trustMarkType, claims = {}, signOptions) {
        const now = clock.seconds();
        const jwt = await created.sign(
          {
            iss: entityId,
            sub: typeof subject === 'string' ? subject : subject.entityId,
            trust_mark_type: trustMarkType,
            iat: now - 60,
            exp: now + 86_400,
            ...claims,
          },
          JWT_TYPES.trustMark,
          signOptions,
        );
        created.trustMarkStatus.set(jwt, 'active');
        return jwt;
      },
      addTrustMark(trustMarkType, trustMark) {
        const marks = (created.configuration.trust_marks as unknown[] | undefined) ?? [];
        created.configuration.trust_marks = [
          ...marks,
          { trust_mark_type: trustMarkType, trust_mark: trustMark },
        ];
      },
    };
    entity = created;
    return created;
  }

  return {
    caPem: material.caPem,
    clock,
    addEntity,
    async startServer(handler) {
      const { server, port } = await listen(handler);
      return { url: `https://127.0.0.1:${port}`, close: () => closeServer(server) };
    },
    async close() {
      await Promise.all(servers.map(closeServer));
    },
  };
}

function configurationClaims(entity: TestEntity, now: number): Record<string, unknown> {
  const federationEntity: Record<string, unknown> = { ...entity.metadata.federation_entity };
  if (entity.subordinates.size > 0) federationEntity.federation_fetch_endpoint = entity.fetchEndpoint;
  if (entity.trustMarkStatus.size > 0)
    federationEntity.federation_trust_mark_status_endpoint = entity.statusEndpoint;
  const metadata: Record<string, unknown> = { ...entity.metadata };
  if (Object.keys(federationEntity).length > 0) metadata.federation_entity = federationEntity;
  return {
    iss: entity.entityId,
    sub: entity.entityId,
    iat: now - 60,
    exp: now + 3600,
    jwks: entity.jwks(),
    metadata,
    ...(entity.authorityHints.length > 0 ? { authority_hints: entity.authorityHints } : {}),
    ...entity.configuration,
  };
}

/** Trust Anchor → Intermediate → leaf, the leaf an OpenID relying party and OAuth client. */
export async function threeLevels(topology: Topology) {
  const ta = await topology.addEntity('ta');
  const intermediate = await topology.addEntity('intermediate');
  const leaf = await topology.addEntity('leaf');
  ta.metadata.federation_entity = { organization_name: 'Trust Anchor' };
  intermediate.metadata.federation_entity = { organization_name: 'Intermediate' };
  leaf.metadata.openid_relying_party = {
    client_name: 'Leaf RP',
    redirect_uris: ['https://rp.example.org/callback'],
    token_endpoint_auth_method: 'private_key_jwt',
  };
  ta.addSubordinate(intermediate);
  intermediate.addSubordinate(leaf);
  return { ta, intermediate, leaf, anchor: { entityId: ta.entityId, jwks: ta.jwks() } };
}
