import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import type { CertificateAuthority } from '../../../src/pki/index.ts';
import { createLivenessState } from '../../../src/platform/enforcement-feed/index.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { createPartner, installCa } from '../../support/ca-fixture.ts';
import { seededStorage } from '../../support/directory-fixture.ts';
import { engineTargets } from '../../support/engines.ts';
import {
  type ClientCredential,
  capturingLogger,
  clientAgent,
  csrWithKey,
  foreignCredential,
  JwksServer,
  type ServerTls,
  serverTlsFrom,
  signingKey,
  TokenMinter,
} from '../fixture.ts';

export const ISSUER = 'https://localhost:8443';
export const AUDIENCE = 'https://localhost:9443';
export const SECRET = 'decision-secret-0123456789abcdefghijklmnop';

const op = (method: string, pathPattern: string, scope: string, ownerParam?: string): CatalogRoute => ({
  method,
  pathPattern,
  scopes: [[scope]],
  auth: 'token',
  mtls: 'required',
  dpop: 'refused',
  ...(ownerParam ? { ownerParam } : {}),
});

export const ROUTES: CatalogRoute[] = [
  op('GET', '/v1/accounts', 'accounts:read'),
  op('GET', '/v1/accounts/{id}', 'accounts:read'),
  op('POST', '/v1/payments', 'payments:submit'),
  op('GET', '/v1/orgs/{org}/accounts', 'accounts:read', 'org'),
  { method: 'GET', pathPattern: '/v1/status', scopes: [], auth: 'public', mtls: 'optional', dpop: 'refused' },
];

export interface Client {
  clientId: string;
  orgId: string;
  cred: ClientCredential;
  agent: Agent;
}

export interface DoorEnv {
  storage: Storage;
  ca: CertificateAuthority;
  tls: ServerTls;
  core: DecisionCore;
  gateway: Gateway;
  jwksUrl: string;
  liveness: LivenessState;
  upstreamUrl: string;
  listener: DecisionListener;
  minter: TokenMinter;
  lines: string[];
  reader: Client;
  revoked: Client;
  other: Client;
  foreign: Client;
  /** An HTTPS agent trusting the platform CA, without a client certificate: the edges' side of the listener. */
  edge: Agent;
  /** An edge presenting its own client certificate, pinned in decision.callers. */
  pinnedEdge: Agent;
  /** An edge with a certificate chained to the CA but not named anywhere. */
  strangerEdge: Agent;
  close(): Promise<void>;
}

/** One platform CA, partners, a JWKS, the decision core, the own gateway and the decision listener over it. */
export async function doorEnv(): Promise<DoorEnv> {
  const sqlite = (await engineTargets()).find((t) => t.name === 'sqlite');
  assert.ok(sqlite);
  const storage = await seededStorage(sqlite);
  const ca = await installCa(storage);
  const tls = await serverTlsFrom(ca);
  const acme = await createPartner(storage, 'Acme Bank');
  const globex = await createPartner(storage, 'Globex');
  const agents: Agent[] = [];
  const agentFor = (cred?: ClientCredential) => {
    const agent = clientAgent(ca.chainPem, cred);
    agents.push(agent);
    return agent;
  };
  const meta = { actor: 'operator:test', now: new Date() };
  const issue = async (clientId: string, orgId: string) => {
    const { csrPem, keyPem } = await csrWithKey();
    const view = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta));
    const cred = { certPem: view.certificate_pem, keyPem, x5tS256: view.x5t_s256 };
    return { client: { clientId, orgId, cred, agent: agentFor(cred) }, serial: view.serial };
  };
  const reader = (await issue(acme.clientId, acme.orgId)).client;
  const revoked = await issue(acme.clientId, acme.orgId);
  const other = (await issue(globex.clientId, globex.orgId)).client;
  const edgeCert = (await issue(globex.clientId, globex.orgId)).client;
  const strangerCert = (await issue(globex.clientId, globex.orgId)).client;
  await storage.transaction((tx) => ca.revoke(tx, revoked.serial, 'keyCompromise', meta));
  const foreignCred = await foreignCredential(acme.clientId, acme.orgId);

  const key = await signingKey('k1');
  const jwks = new JwksServer(tls);
  jwks.keys.push(key.publicJwk);
  await jwks.start();
  const upstream: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const liveness = await createLivenessState(storage);
  const { logger, lines } = capturingLogger();
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    publicUrl: AUDIENCE,
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
  });
  const core = await createDecisionCore({
    liveness,
    routes: ROUTES,
    trustedCa: ca.chainPem,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.url,
    jwksCa: ca.chainPem,
    jwksCooldownMs: 0,
    logger,
  });
  const listener = await createDecisionListener({
    host: '127.0.0.1',
    port: 0,
    tls,
    core,
    logger,
    secret: SECRET,
    callers: [edgeCert.cred.x5tS256],
  });
  return {
    storage,
    ca,
    tls,
    core,
    gateway,
    jwksUrl: jwks.url,
    liveness,
    upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    listener,
    minter: new TokenMinter(ISSUER, AUDIENCE, key),
    lines,
    reader,
    revoked: revoked.client,
    other,
    foreign: { clientId: acme.clientId, orgId: acme.orgId, cred: foreignCred, agent: agentFor(foreignCred) },
    edge: agentFor(),
    pinnedEdge: edgeCert.agent,
    strangerEdge: strangerCert.agent,
    async close() {
      for (const agent of agents) await agent.close();
      await listener.close();
      await gateway.close();
      await core.close();
      liveness.close();
      upstream.close();
      await jwks.close();
      await storage.close();
    },
  };
}
