// Everything both targets share, made once in the parent: a CA, the server and client certificates, the
// authorization server's signing key and one certificate-bound access token, and a SQLite database with
// the seed catalog and one active partner (organisation + tls_client_auth client).
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, type JSONWebKeySet, SignJWT } from 'jose';
import {
  catalogRoutesPayload,
  createApplication,
  createOrganisation,
  readCatalog,
  seedCatalog,
} from '../src/directory/index.ts';
import type { CatalogRoute } from '../src/gateway/index.ts';
import {
  buildPartnerCertificate,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  issueServerCertificate,
  randomSerialHex,
} from '../src/pki/index.ts';
import { openStorage } from '../src/storage/index.ts';

export const ISSUER = 'https://localhost:8443';
export const AUDIENCE = 'https://localhost:9443';
export const ROUTE = { method: 'GET', path: '/v1/accounts', scope: 'accounts:read' } as const;
const DAY = 86_400_000;

/** What the child process needs to start either target; plain data, sent over IPC. */
export interface ServerMaterial {
  /** Server certificate chain (leaf, issuing, root) and key, for the proxy/gateway and the JWKS server. */
  serverCert: string;
  serverKey: string;
  /** Issuing + root: trusted for client certificates and for the JWKS fetch. */
  caPem: string;
  jwks: JSONWebKeySet;
  dbPath: string;
  routes: CatalogRoute[];
  issuer: string;
  audience: string;
}

export interface Fixture {
  server: ServerMaterial;
  client: { cert: string; key: string; ca: string };
  token: string;
  /** Signs an access token as the authorization server of this fixture (`claims` replace the defaults). */
  signToken(claims: Record<string, unknown>): Promise<string>;
  clientId: string;
  orgId: string;
  close(): void;
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export async function createFixture(): Promise<Fixture> {
  const now = new Date();
  const caNow = new Date(now.getTime() - DAY);
  const root = await createRootCa({ commonName: 'Bench Root CA', organization: 'Accredit', now: caNow });
  const issuing = await createIssuingCa({
    commonName: 'Bench Issuing CA',
    organization: 'Accredit',
    parent: root,
    now: caNow,
  });
  const caPem = `${issuing.certPem.trim()}\n${root.certPem.trim()}\n`;
  const serverKeys = generateKeyPair('ES256');
  const serverCert = await issueServerCertificate({
    issuer: issuing,
    publicKey: serverKeys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    now: caNow,
  });

  const dir = mkdtempSync(join(tmpdir(), 'accredit-bench-'));
  const dbPath = join(dir, 'accredit.db');
  const close = () => rmSync(dir, { recursive: true, force: true });
  try {
    const storage = await openStorage({ url: dbPath });
    const meta = { actor: 'operator:bench', now };
    let ids: { orgId: string; clientId: string };
    let routes: CatalogRoute[];
    try {
      ids = await storage.transaction(async (tx) => {
        await seedCatalog(tx);
        const orgId = await createOrganisation(tx, { name: 'Bench Bank' }, meta);
        const clientId = await createApplication(
          tx,
          { orgId, name: 'Load', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
          meta,
        );
        return { orgId, clientId };
      });
      routes = catalogRoutesPayload(await readCatalog(storage.db));
    } finally {
      await storage.close();
    }

    const clientKeys = generateKeyPair('ES256');
    const clientCert = await buildPartnerCertificate({
      issuer: issuing,
      publicKeySpki: clientKeys.publicKey.export({ type: 'spki', format: 'der' }),
      subject: { clientId: ids.clientId, orgId: ids.orgId, orgName: 'Bench Bank' },
      serialHex: randomSerialHex(),
      notBefore: caNow,
      notAfter: new Date(now.getTime() + 30 * DAY),
      crlUrl: 'https://localhost:8443/pki/issuing-ca.crl',
    });

    // The gateway refuses platform-chained certificates it has no record of (certificate_unknown).
    const records = await openStorage({ url: dbPath });
    try {
      await records.transaction(async (tx) => {
        const caId = randomUUID();
        await tx.db
          .insertInto('certificate_authorities')
          .values({
            id: caId,
            kind: 'issuing',
            subject: issuing.subject,
            serial: issuing.serialHex,
            cert_pem: issuing.certPem,
            key_pem: null,
            not_before: caNow.toISOString(),
            not_after: new Date(now.getTime() + 365 * DAY).toISOString(),
            created_at: now.toISOString(),
          })
          .execute();
        await tx.db
          .insertInto('certificates')
          .values({
            serial: clientCert.serialHex,
            client_id: ids.clientId,
            org_id: ids.orgId,
            issuer_ca_id: caId,
            subject: clientCert.subject,
            issuer: clientCert.issuer,
            x5t_s256: clientCert.x5tS256,
            key_description: 'EC P-256',
            cert_pem: clientCert.certPem,
            not_before: clientCert.notBefore.toISOString(),
            not_after: clientCert.notAfter.toISOString(),
            status: 'active',
            revoked_at: null,
            revocation_reason: null,
            created_at: now.toISOString(),
          })
          .execute();
      });
    } finally {
      await records.close();
    }

    const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = 'bench-1';
    const jwks = { keys: [{ ...(await exportJWK(signing.publicKey)), kid, alg: 'ES256', use: 'sig' }] };
    const iat = Math.floor(now.getTime() / 1000);
    // RFC 9068 access token as the authorization server mints it, bound to the client certificate (RFC 8705).
    const token = await new SignJWT({
      client_id: ids.clientId,
      scope: ROUTE.scope,
      org_id: ids.orgId,
      roles: ['partner_reader'],
      cnf: { 'x5t#S256': clientCert.x5tS256 },
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(ids.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .setJti(randomUUID())
      .sign(signing.privateKey);

    return {
      server: {
        serverCert: `${serverCert.certPem.trim()}\n${caPem}`,
        serverKey: pkcs8(serverKeys.privateKey),
        caPem,
        jwks,
        dbPath,
        routes,
        issuer: ISSUER,
        audience: AUDIENCE,
      },
      client: { cert: clientCert.certPem, key: pkcs8(clientKeys.privateKey), ca: caPem },
      token,
      signToken: (claims) =>
        new SignJWT({
          client_id: ids.clientId,
          scope: ROUTE.scope,
          org_id: ids.orgId,
          roles: ['partner_reader'],
          ...claims,
        })
          .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject(ids.clientId)
          .setIssuedAt(iat)
          .setExpirationTime(iat + 3600)
          .setJti(randomUUID())
          .sign(signing.privateKey),
      clientId: ids.clientId,
      orgId: ids.orgId,
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}
