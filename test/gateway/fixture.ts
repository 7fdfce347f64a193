import { createHash, createHmac, generateKeyPairSync, KeyObject, randomUUID, webcrypto } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { exportJWK, type JWK, SignJWT } from 'jose';
import pino from 'pino';
import { Agent, type Dispatcher } from 'undici';
import {
  buildPartnerCertificate,
  type CertificateAuthority,
  createIssuingCa,
  createRootCa,
  generateKeyPair,
  randomSerialHex,
} from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';

const DAY = 86_400_000;

export interface ClientCredential {
  certPem: string;
  keyPem: string;
  x5tS256: string;
}

export interface ServerTls {
  cert: string;
  key: string;
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

async function exportPrivatePem(key: webcrypto.CryptoKey): Promise<string> {
  return pkcs8Pem(KeyObject.from(key));
}

/** A TLS server certificate for 127.0.0.1/localhost from the platform CA, as `accredit init` makes one. */
export async function serverTlsFrom(ca: CertificateAuthority): Promise<ServerTls> {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const issued = await ca.issueServerCertificate({
    publicKey,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    now: new Date(),
  });
  return { cert: `${issued.certPem.trim()}\n${ca.chainPem}`, key: pkcs8Pem(privateKey) };
}

/** A PKCS#10 CSR for a fresh P-256 key; the platform ignores the requested subject. */
export async function csrWithKey(): Promise<{ csrPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=ignored',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const keyPem = await exportPrivatePem(keys.privateKey);
  return { csrPem: csr.toString('pem'), keyPem };
}

/** A client certificate from a CA the gateway does not trust. */
export async function foreignCredential(clientId: string, orgId: string): Promise<ClientCredential> {
  const now = new Date(Date.now() - DAY);
  const root = await createRootCa({ commonName: 'Foreign Root', now, validityDays: 365 });
  const issuing = await createIssuingCa({
    commonName: 'Foreign Issuing',
    parent: root,
    now,
    validityDays: 300,
  });
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const cert = await buildPartnerCertificate({
    issuer: issuing,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId, orgId, orgName: 'Foreign Org' },
    serialHex: randomSerialHex(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 30 * DAY),
    crlUrl: 'https://foreign.example/crl',
  });
  return { certPem: cert.certPem, keyPem: pkcs8Pem(privateKey), x5tS256: cert.x5tS256 };
}

/** A self-signed end-entity certificate plus the JWK (with x5c) a client registers for it (RFC 8705 §2.2). */
export async function selfSignedCredential(
  name: string,
): Promise<ClientCredential & { jwk: JWK; derBase64: string }> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: `CN=${name}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const der = Buffer.from(cert.rawData);
  const keyPem = await exportPrivatePem(keys.privateKey);
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: name, x5c: [der.toString('base64')] };
  return {
    certPem: cert.toString('pem'),
    keyPem,
    x5tS256: createHash('sha256').update(der).digest('base64url'),
    jwk,
    derBase64: der.toString('base64'),
  };
}

/** The authorization server's signing keys, served as a JWKS over HTTPS; keys can be added (rotation). */
export class JwksServer {
  readonly keys: JWK[] = [];
  fetches = 0;
  #server: Server;
  url = '';

  constructor(tls: ServerTls) {
    this.#server = createHttpsServer(tls, (_req, res) => {
      this.fetches++;
      const body = JSON.stringify({ keys: this.keys });
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(body);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}/jwks`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk };
}

export interface TokenClaims {
  iss?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  jti?: string;
  client_id?: string;
  sub?: string;
  scope?: string;
  org_id?: string;
  roles?: string[];
  cnf?: Record<string, string>;
  [claim: string]: unknown;
}

/** Mints RFC 9068 access tokens as the platform's authorization server does. */
export class TokenMinter {
  readonly issuer: string;
  readonly audience: string;
  readonly key: SigningKey;

  constructor(issuer: string, audience: string, key: SigningKey) {
    this.issuer = issuer;
    this.audience = audience;
    this.key = key;
  }

  claims(clientId: string, orgId: string, x5tS256: string | undefined, scope: string): TokenClaims {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer,
      aud: this.audience,
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
      client_id: clientId,
      sub: clientId,
      scope,
      org_id: orgId,
      roles: ['partner_reader'],
      ...(x5tS256 ? { cnf: { 'x5t#S256': x5tS256 } } : {}),
    };
  }

  async sign(
    claims: TokenClaims,
    header: { typ?: string; kid?: string; alg?: string } = {},
    key: KeyObject = this.key.privateKey,
  ): Promise<string> {
    const clean = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
    return new SignJWT(clean)
      .setProtectedHeader({
        alg: header.alg ?? 'ES256',
        kid: header.kid ?? this.key.kid,
        typ: header.typ ?? 'at+jwt',
      })
      .sign(key);
  }

  /** `alg: none` (RFC 7519 §6): no signature at all. */
  unsecured(claims: TokenClaims): string {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
  }

  /** The algorithm-confusion attack: HS256 keyed with the bytes of the public key. */
  hs256WithPublicKey(claims: TokenClaims): string {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: this.key.kid })}.${b64(claims)}`;
    const secret = this.key.publicKey.export({ type: 'spki', format: 'pem' });
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  }
}

export function clientAgent(ca: string, credential?: ClientCredential): Agent {
  return new Agent({
    connect: credential ? { ca, cert: credential.certPem, key: credential.keyPem } : { ca },
  });
}

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

/** One request with the raw path as given (no URL normalisation, so path tricks reach the gateway). */
export async function call(
  agent: Dispatcher,
  origin: string,
  path: string,
  options: { method?: string; token?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await agent.request({
    origin,
    path,
    method: (options.method ?? 'GET') as 'GET',
    headers,
    body,
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (CSV reports): callers read `text`.
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** A pino logger whose lines are kept for assertions. */
export function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}
