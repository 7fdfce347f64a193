import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { verifyChain } from '../../../src/gateway/decision/verify-chain.ts';
import {
  createDecisionCore,
  createMemoryLivenessState,
  type DecisionCore,
  type ForwardedCertificate,
  MemoryLivenessState,
  type RequestFacts,
} from '../../../src/gateway/index.ts';
import {
  buildPartnerCertificate,
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  randomSerialHex,
} from '../../../src/pki/index.ts';
import {
  capturingLogger,
  JwksServer,
  type SigningKey,
  selfSignedCredential,
  signingKey,
  TokenMinter,
} from '../fixture.ts';
import { serverTls } from './server-tls.ts';

const DAY = 86_400_000;
const ISSUER = 'https://as.example';
const AUDIENCE = 'https://api.example';
const ROUTES = [
  {
    method: 'GET',
    pathPattern: '/v1/accounts',
    scopes: [['accounts:read']],
    auth: 'token' as const,
    mtls: 'required' as const,
    dpop: 'refused' as const,
  },
];

interface Leaf {
  pem: string;
  x5t: string;
  cert: X509Certificate;
}

let root: CaMaterial;
let issuing: CaMaterial;
let jwks: JwksServer;
let key: SigningKey;
let minter: TokenMinter;
let liveness: MemoryLivenessState;
let core: DecisionCore;
let lines: string[];
let leaf: Leaf;
let expiredLeaf: Leaf;
let selfSigned: Awaited<ReturnType<typeof selfSignedCredential>>;

async function partnerLeaf(clientId: string, notBefore: Date, notAfter: Date): Promise<Leaf> {
  const { publicKey } = generateKeyPair('ES256');
  const built = await buildPartnerCertificate({
    issuer: issuing,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId, orgId: 'org-1', orgName: 'Acme' },
    serialHex: randomSerialHex(),
    notBefore,
    notAfter,
    crlUrl: 'https://platform.example/crl',
  });
  return { pem: built.certPem, x5t: built.x5tS256, cert: new X509Certificate(built.certPem) };
}

before(async () => {
  const now = new Date(Date.now() - 200 * DAY);
  root = await createRootCa({ commonName: 'Test Root', now, validityDays: 3650 });
  issuing = await createIssuingCa({ commonName: 'Test Issuing', parent: root, now, validityDays: 1000 });
  leaf = await partnerLeaf('client-1', new Date(Date.now() - DAY), new Date(Date.now() + 30 * DAY));
  expiredLeaf = await partnerLeaf(
    'client-1',
    new Date(Date.now() - 100 * DAY),
    new Date(Date.now() - 10 * DAY),
  );
  selfSigned = await selfSignedCredential('self-1');
  key = await signingKey('k1');
  // The JWKS is served over TLS with a throwaway self-signed server certificate trusted explicitly.
  const server = await serverTls();
  jwks = new JwksServer(server);
  jwks.keys.push(key.publicJwk);
  await jwks.start();
  minter = new TokenMinter(ISSUER, AUDIENCE, key);
  liveness = createMemoryLivenessState();
  liveness.setOrg('org-1', 'active');
  liveness.setClient({
    clientId: 'client-1',
    orgId: 'org-1',
    status: 'active',
    authMethod: 'tls_client_auth',
    selfSignedX5t: [],
    certificateApps: [],
    environment: 'sandbox',
  });
  liveness.setClient({
    clientId: 'client-2',
    orgId: 'org-1',
    status: 'active',
    authMethod: 'self_signed_tls_client_auth',
    selfSignedX5t: [selfSigned.x5tS256],
    certificateApps: [],
  });
  liveness.issueCertificate(leaf.x5t, 'client-1', new Date(Date.now() + 30 * DAY).toISOString());
  const captured = capturingLogger();
  lines = captured.lines;
  core = await createDecisionCore({
    liveness,
    routes: ROUTES,
    // Only the root: intermediates must come with the forwarded chain.
    trustedCa: root.certPem,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: jwks.url,
    jwksCa: server.cert,
    logger: captured.logger,
  });
});

after(async () => {
  await core?.close();
  liveness?.close();
  await jwks?.close();
});

function forwarded(pem: string, chain: string[] = [issuing.certPem]): ForwardedCertificate {
  return {
    leaf: new X509Certificate(pem),
    chain: chain.map((c) => new X509Certificate(c)),
    source: 'rfc9440',
  };
}

function facts(token: string | undefined, certificate: ForwardedCertificate | undefined): RequestFacts {
  return {
    method: 'GET',
    target: '/v1/accounts',
    authorization: token === undefined ? undefined : `Bearer ${token}`,
    dpop: undefined,
    certificate,
    requestId: 'req-1',
  };
}

describe('verifyChain (what OpenSSL decides in the handshake, for forwarded certificates)', () => {
  const trusted = () => [new X509Certificate(root.certPem)];
  test('ok/leaf → intermediate from the chain → trusted root', () => {
    const v = verifyChain(leaf.cert, [new X509Certificate(issuing.certPem)], trusted(), Date.now());
    assert.equal(v.chained, true);
  });
  test('ok/leaf → trusted intermediate, no chain sent', () => {
    const v = verifyChain(leaf.cert, [], [new X509Certificate(issuing.certPem)], Date.now());
    assert.equal(v.chained, true);
  });
  test('fail/the intermediate missing: unable to get the issuer', () => {
    const v = verifyChain(leaf.cert, [], trusted(), Date.now());
    assert.deepEqual([v.chained, v.error], [false, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);
  });
  test('fail/self-signed', () => {
    const v = verifyChain(new X509Certificate(selfSigned.certPem), [], trusted(), Date.now());
    assert.deepEqual([v.chained, v.error], [false, 'DEPTH_ZERO_SELF_SIGNED_CERT']);
  });
  test('fail/a self-signed "intermediate" the client made up does not chain', () => {
    const v = verifyChain(leaf.cert, [new X509Certificate(selfSigned.certPem)], trusted(), Date.now());
    assert.equal(v.chained, false);
  });
  test('fail/an intermediate outside its validity', () => {
    const v = verifyChain(
      leaf.cert,
      [new X509Certificate(issuing.certPem)],
      trusted(),
      Date.now() + 2000 * DAY,
    );
    assert.deepEqual([v.chained, v.error], [false, 'CERT_HAS_EXPIRED']);
  });
});

describe('the decision core', () => {
  test('ok/a forwarded chained certificate is admitted with its bound token; identity and headers', async () => {
    const token = await minter.sign(minter.claims('client-1', 'org-1', leaf.x5t, 'accounts:read'));
    const decision = await core.decide(facts(token, forwarded(leaf.pem)));
    assert.equal(decision.allow, true, JSON.stringify(decision));
    if (!decision.allow) return;
    assert.equal(decision.reason, 'allowed');
    assert.equal(decision.identity.clientId, 'client-1');
    assert.deepEqual(decision.identity.scopes, ['accounts:read']);
    assert.equal(decision.identity.route, '/v1/accounts');
    assert.equal(decision.headers['x-accredit-cert-x5t-s256'], leaf.x5t);
    assert.equal(decision.headers['x-request-id'], 'req-1');
    // Issue 15: the client's environment, from the directory.
    assert.equal(decision.identity.environment, 'sandbox');
    assert.equal(decision.headers['x-accredit-environment'], 'sandbox');
  });

  test('ok/synchronous once the token is cached (no promise on the hot path)', async () => {
    const token = await minter.sign(minter.claims('client-1', 'org-1', leaf.x5t, 'accounts:read'));
    const first = core.decide(facts(token, forwarded(leaf.pem)));
    assert.ok(first instanceof Promise);
    await first;
    const second = core.decide(facts(token, forwarded(leaf.pem)));
    assert.equal(second instanceof Promise, false);
    assert.equal((second as { allow: boolean }).allow, true);
  });

  test('fail/a forwarded certificate without its intermediate is untrusted', async () => {
    const token = await minter.sign(minter.claims('client-1', 'org-1', leaf.x5t, 'accounts:read'));
    const decision = await core.decide(facts(token, forwarded(leaf.pem, [])));
    assert.equal(decision.allow, false);
    if (decision.allow) return;
    assert.deepEqual([decision.status, decision.reason], [403, 'certificate_untrusted']);
  });

  test('fail/a forwarded expired certificate is refused as expired', async () => {
    const decision = await core.decide(facts(undefined, forwarded(expiredLeaf.pem)));
    assert.equal(decision.allow, false);
    if (decision.allow) return;
    assert.equal(decision.reason, 'certificate_expired');
  });

  test('ok/a forwarded self-signed certificate registered by its client (RFC 8705 §2.2 pinning)', async () => {
    const token = await minter.sign(minter.claims('client-2', 'org-1', selfSigned.x5tS256, 'accounts:read'));
    const decision = await core.decide(facts(token, forwarded(selfSigned.certPem, [])));
    assert.equal(decision.allow, true, JSON.stringify(decision));
  });

  test('fail/a registered self-signed certificate used for another client’s token', async () => {
    const token = await minter.sign(minter.claims('client-1', 'org-1', selfSigned.x5tS256, 'accounts:read'));
    const decision = await core.decide(facts(token, forwarded(selfSigned.certPem, [])));
    assert.equal(decision.allow, false);
    if (decision.allow) return;
    assert.equal(decision.reason, 'certificate_client_mismatch');
  });

  test('fail/revoked in the liveness state: refused on the next decision', async () => {
    const token = await minter.sign(minter.claims('client-1', 'org-1', leaf.x5t, 'accounts:read'));
    const other = await partnerLeaf('client-1', new Date(Date.now() - DAY), new Date(Date.now() + 30 * DAY));
    liveness.issueCertificate(other.x5t, 'client-1', new Date(Date.now() + 30 * DAY).toISOString());
    const bound = await minter.sign(minter.claims('client-1', 'org-1', other.x5t, 'accounts:read'));
    assert.equal((await core.decide(facts(bound, forwarded(other.pem)))).allow, true);
    liveness.revokeCertificate(other.x5t);
    const decision = await core.decide(facts(bound, forwarded(other.pem)));
    assert.equal(decision.allow, false);
    if (!decision.allow) assert.equal(decision.reason, 'certificate_revoked');
    assert.equal((await core.decide(facts(token, forwarded(leaf.pem)))).allow, true);
  });

  test('ok/a TLS peer no handshake verified is verified in code', async () => {
    const token = await minter.sign(minter.claims('client-1', 'org-1', leaf.x5t, 'accounts:read'));
    const tls: ForwardedCertificate = {
      leaf: new X509Certificate(leaf.pem),
      chain: [new X509Certificate(issuing.certPem)],
      source: 'tls',
    };
    assert.equal((await core.decide(facts(token, tls))).allow, true);
    const unverified: ForwardedCertificate = {
      leaf: new X509Certificate(leaf.pem),
      chain: [],
      source: 'tls',
    };
    assert.equal((await core.decide(facts(token, unverified))).allow, false);
  });

  test('ok/a 401 carries the full challenge; the decision line names the door, never the token', async () => {
    const decision = await core.decide(facts('garbage.garbage.garbage', forwarded(leaf.pem)));
    assert.equal(decision.allow, false);
    if (decision.allow) return;
    assert.equal(decision.status, 401);
    assert.match(String(decision.challenge), /^Bearer realm="accredit", error="invalid_token"/);
    core.record('unit', facts('garbage.garbage.garbage', undefined), decision, 1.23456);
    const line = JSON.parse(lines.at(-1) as string) as Record<string, unknown>;
    assert.equal(line.door, 'unit');
    assert.equal(line.decision, 'deny');
    assert.equal(line.latency_ms, 1.235);
    assert.equal(JSON.stringify(line).includes('garbage.garbage'), false);
  });

  test('fail/feed stale: every decision is 503 until the state is current again', async () => {
    let stale: string | undefined = 'the feed is stale';
    const { logger } = capturingLogger();
    const staleCore = await createDecisionCore({
      liveness: new MemoryLivenessState(),
      staleness: () => stale,
      routes: ROUTES,
      trustedCa: root.certPem,
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: jwks.url,
      logger,
    });
    const decision = await staleCore.decide(facts(undefined, undefined));
    assert.equal(decision.allow, false);
    if (!decision.allow) assert.deepEqual([decision.status, decision.reason], [503, 'feed_stale']);
    stale = undefined;
    const after = await staleCore.decide(facts(undefined, undefined));
    if (!after.allow) assert.equal(after.reason, 'client_certificate_required');
    await staleCore.close();
  });
});
