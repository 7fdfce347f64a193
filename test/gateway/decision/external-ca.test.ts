import assert from 'node:assert/strict';
import { KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  createDecisionCore,
  createMemoryLivenessState,
  type DecisionCore,
  FEED_CHANGE_KINDS,
  type ForwardedCertificate,
  type MemoryLivenessState,
  type RequestFacts,
} from '../../../src/gateway/index.ts';
import { randomSerialHex, spkiSha256 } from '../../../src/pki/index.ts';
import { x509 } from '../../../src/pki/x509.ts';
import { ExternalCa, type ExternalLeaf } from '../../support/external-ca.ts';
import { capturingLogger, JwksServer, signingKey, TokenMinter } from '../fixture.ts';

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

let seq = 0;
let bank: ExternalCa;
let otherBank: ExternalCa;
let leaf: ExternalLeaf;
let otherLeaf: ExternalLeaf;
let jwks: JwksServer;
let minter: TokenMinter;
let liveness: MemoryLivenessState;
let core: DecisionCore;
let platformRoot: string;

async function selfSignedServer(): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: 'CN=127.0.0.1',
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  return {
    cert: cert.toString('pem'),
    key: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** What the platform publishes when a CA is registered, its CRL refreshed, or it is removed. */
function publishCa(
  id: string,
  orgId: string,
  ca: ExternalCa,
  state: { revoked?: string[]; staleAfter?: string | null; status?: 'active' | 'removed'; pin?: string },
): void {
  liveness.apply({
    seq: ++seq,
    at: new Date().toISOString(),
    kind: FEED_CHANGE_KINDS.externalCaChanged,
    entityId: id,
    payload: {
      org_id: orgId,
      status: state.status ?? 'active',
      certificate_pem: ca.certPem,
      spki_sha256: state.pin ?? spkiSha256(ca.cert.publicKey.rawData),
      revoked_serials: state.revoked ?? [],
      stale_after:
        state.staleAfter === undefined ? new Date(Date.now() + DAY).toISOString() : state.staleAfter,
    },
  });
}

function facts(token: string, cert: ExternalLeaf, source: 'tls' | 'rfc9440' = 'rfc9440'): RequestFacts {
  const certificate: ForwardedCertificate =
    source === 'tls'
      ? {
          leaf: new X509Certificate(cert.certPem),
          chain: [],
          source: 'tls',
          tlsVerified: { authorized: false, error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' },
        }
      : { leaf: new X509Certificate(cert.certPem), chain: [], source: 'rfc9440' };
  return {
    method: 'GET',
    target: '/v1/accounts',
    authorization: `Bearer ${token}`,
    dpop: undefined,
    certificate,
    requestId: 'req-1',
  };
}

async function token(clientId: string, orgId: string, cert: ExternalLeaf): Promise<string> {
  return minter.sign(minter.claims(clientId, orgId, cert.x5tS256, 'accounts:read'));
}

before(async () => {
  bank = await ExternalCa.create('CN=Bank Issuing CA,O=Bank AG,C=DE');
  otherBank = await ExternalCa.create('CN=Other CA,O=Other Bank,C=DE');
  leaf = await bank.issue({ subject: 'CN=payments,O=Bank AG,C=DE' });
  otherLeaf = await otherBank.issue({ subject: 'CN=payments,O=Bank AG,C=DE' });
  const key = await signingKey('k1');
  const server = await selfSignedServer();
  jwks = new JwksServer(server);
  jwks.keys.push(key.publicJwk);
  await jwks.start();
  minter = new TokenMinter(ISSUER, AUDIENCE, key);
  liveness = createMemoryLivenessState();
  for (const org of ['org-a', 'org-b']) liveness.setOrg(org, 'active');
  for (const [clientId, orgId] of [
    ['client-a', 'org-a'],
    ['client-b', 'org-b'],
  ] as const) {
    liveness.setClient({
      clientId,
      orgId,
      status: 'active',
      authMethod: 'tls_client_auth',
      selfSignedX5t: [],
      certificateApps: [],
    });
  }
  // The platform's own CA: the external CAs are not in this bundle, as in production.
  platformRoot = (await ExternalCa.create('CN=Platform Root')).certPem;
  const captured = capturingLogger();
  core = await createDecisionCore({
    liveness,
    routes: ROUTES,
    trustedCa: platformRoot,
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

describe('decision core: certificates from organisations’ own CAs (org-scoped trust)', () => {
  test('fail/before its CA is registered: untrusted', async () => {
    const d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf));
    assert.deepEqual([d.allow, d.reason], [false, 'certificate_untrusted']);
  });

  test('ok/registered by the token client’s organisation, CRL fresh: allowed (forwarded and TLS peer alike)', async () => {
    publishCa('ca-a', 'org-a', bank, {});
    publishCa('ca-b', 'org-b', otherBank, {});
    for (const source of ['rfc9440', 'tls'] as const) {
      const d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf, source));
      assert.equal(d.allow, true, JSON.stringify(d));
      assert.equal(d.allow && d.headers['x-accredit-org-id'], 'org-a');
    }
  });

  test('fail/Org A’s CA with a token of Org B’s client: certificate_issuer_mismatch', async () => {
    const d = await core.decide(facts(await token('client-b', 'org-b', leaf), leaf));
    assert.deepEqual([d.allow, d.status, d.reason], [false, 403, 'certificate_issuer_mismatch']);
  });

  test('fail/the same names from Org B’s CA with Org A’s token: issuer mismatch, and the binding fails too', async () => {
    const d = await core.decide(facts(await token('client-a', 'org-a', otherLeaf), otherLeaf));
    assert.deepEqual([d.allow, d.reason], [false, 'certificate_issuer_mismatch']);
  });

  test('fail/a look-alike CA (same name, other key, not registered): untrusted', async () => {
    const impostor = await ExternalCa.create('CN=Bank Issuing CA,O=Bank AG,C=DE');
    const fake = await impostor.issue({ subject: 'CN=payments,O=Bank AG,C=DE' });
    const d = await core.decide(facts(await token('client-a', 'org-a', fake), fake));
    assert.deepEqual([d.allow, d.reason], [false, 'certificate_untrusted']);
  });

  test('fail/revoked by the CA’s CRL: certificate_revoked', async () => {
    publishCa('ca-a', 'org-a', bank, { revoked: [leaf.serial] });
    const d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf));
    assert.deepEqual([d.allow, d.reason], [false, 'certificate_revoked']);
    publishCa('ca-a', 'org-a', bank, {});
  });

  test('fail/CRL stale or never fetched: issuer_revocation_stale (fail closed)', async () => {
    for (const staleAfter of [new Date(Date.now() - 1000).toISOString(), null]) {
      publishCa('ca-a', 'org-a', bank, { staleAfter });
      const d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf));
      assert.deepEqual([d.allow, d.status, d.reason], [false, 403, 'issuer_revocation_stale']);
    }
    publishCa('ca-a', 'org-a', bank, {});
  });

  test('fail/the CA key does not match its pin: issuer_pin_mismatch', async () => {
    publishCa('ca-a', 'org-a', bank, { pin: 'not-the-pin' });
    const d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf));
    assert.deepEqual([d.allow, d.reason], [false, 'issuer_pin_mismatch']);
    publishCa('ca-a', 'org-a', bank, {});
  });

  test('fail/the CA’s organisation suspended', async () => {
    liveness.setOrg('org-a', 'suspended');
    const d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf));
    assert.equal(d.allow, false);
    liveness.setOrg('org-a', 'active');
  });

  test('fail/removed CA: untrusted at once; the snapshot replaces the list whole', async () => {
    publishCa('ca-a', 'org-a', bank, { status: 'removed' });
    let d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf));
    assert.deepEqual([d.allow, d.reason], [false, 'certificate_untrusted']);
    liveness.replace({
      seq: ++seq,
      organisations: [
        { id: 'org-a', status: 'active' },
        { id: 'org-b', status: 'active' },
      ],
      applications: [
        {
          clientId: 'client-a',
          orgId: 'org-a',
          status: 'active',
          authMethod: 'tls_client_auth',
          selfSignedX5t: [],
          certificateApps: [],
        },
      ],
      certificates: [],
      revokedTokens: [],
      routes: ROUTES,
      externalCas: [
        {
          id: 'ca-a',
          orgId: 'org-a',
          certificatePem: bank.certPem,
          spkiSha256: spkiSha256(bank.cert.publicKey.rawData),
          revokedSerials: [],
          staleAfter: new Date(Date.now() + DAY).toISOString(),
        },
      ],
    });
    d = await core.decide(facts(await token('client-a', 'org-a', leaf), leaf));
    assert.equal(d.allow, true, JSON.stringify(d));
  });

  test('ok/an unreadable CA certificate on the feed is forgotten, not fatal', () => {
    liveness.apply({
      seq: ++seq,
      at: new Date().toISOString(),
      kind: FEED_CHANGE_KINDS.externalCaChanged,
      entityId: 'ca-bad',
      payload: { org_id: 'org-a', status: 'active', certificate_pem: 'garbage', spki_sha256: 'x' },
    });
    assert.equal(
      liveness.externalCas().some((c) => c.id === 'ca-bad'),
      false,
    );
  });
});
