import { createHash, KeyObject, webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { x509 } from '../../src/pki/x509.ts';

const DAY = 86_400_000;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface ExternalLeaf {
  certPem: string;
  keyPem: string;
  /** Upper-case hex, no leading zeros (as the platform stores serials). */
  serial: string;
  x5tS256: string;
}

export interface LeafOptions {
  subject: string;
  dns?: string[];
  uris?: string[];
  ips?: string[];
  emails?: string[];
  /** Extended key usage OIDs; default clientAuth. Empty: no EKU extension. */
  eku?: string[];
  notBefore?: Date;
  notAfter?: Date;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

let serialCounter = 0x1000;

/** An RFC 4514 string (last RDN first) as @peculiar/x509 wants it (first RDN first). */
export function rfc4514Name(dn: string): x509.JsonName {
  return [...new x509.Name(dn).toJSON()].reverse();
}

/**
 * An organisation's own CA, as a bank runs one: a self-signed CA certificate (basicConstraints cA, keyCertSign
 * and cRLSign, a CRL distribution point), client certificates and CRLs it signs.
 */
export class ExternalCa {
  readonly name: string;
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly #keys: webcrypto.CryptoKeyPair;
  #crlNumber = 1;

  private constructor(name: string, cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair) {
    this.name = name;
    this.cert = cert;
    this.certPem = cert.toString('pem');
    this.#keys = keys;
  }

  static async create(
    name: string,
    options: { crlUrl?: string; ca?: boolean; keyUsage?: number; now?: Date } = {},
  ): Promise<ExternalCa> {
    const keys = await keyPair();
    const now = options.now ?? new Date();
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(options.ca ?? true, undefined, true),
      new x509.KeyUsagesExtension(
        options.keyUsage ?? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ];
    if (options.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([options.crlUrl]));
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: rfc4514Name(name),
      keys,
      serialNumber: (serialCounter++).toString(16).padStart(6, '0'),
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + 365 * DAY),
      signingAlgorithm: ALG,
      extensions,
    });
    return new ExternalCa(name, cert, keys);
  }

  /** The CA's private key, PKCS#8 PEM (for `openssl ocsp -rkey`). */
  keyPem(): string {
    return KeyObject.from(this.#keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  }

  async issue(options: LeafOptions): Promise<ExternalLeaf> {
    const keys = await keyPair();
    const now = new Date();
    const serial = (serialCounter++).toString(16).toUpperCase();
    const names: x509.JsonGeneralName[] = [
      ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
      ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(options.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ];
    const eku = options.eku ?? ['1.3.6.1.5.5.7.3.2'];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
    ];
    if (eku.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    const cert = await x509.X509CertificateGenerator.create({
      subject: rfc4514Name(options.subject),
      issuer: this.cert.subjectName,
      publicKey: keys.publicKey,
      signingKey: this.#keys.privateKey,
      serialNumber: serial,
      notBefore: options.notBefore ?? new Date(now.getTime() - DAY),
      notAfter: options.notAfter ?? new Date(now.getTime() + 90 * DAY),
      signingAlgorithm: ALG,
      extensions,
    });
    return {
      certPem: cert.toString('pem'),
      keyPem: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
      serial,
      x5tS256: createHash('sha256').update(Buffer.from(cert.rawData)).digest('base64url'),
    };
  }

  /** A DER CRL listing `revoked`, valid from `thisUpdate` for `hours`. */
  async crl(
    revoked: string[],
    options: { thisUpdate?: Date; hours?: number; number?: number } = {},
  ): Promise<Buffer> {
    const thisUpdate = options.thisUpdate ?? new Date(Date.now() - 60_000);
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.cert.subjectName,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + (options.hours ?? 24) * 3_600_000),
      signingKey: this.#keys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        await x509.AuthorityKeyIdentifierExtension.create(this.#keys.publicKey),
        new x509.Extension(
          '2.5.29.20',
          false,
          new Uint8Array([0x02, 0x01, options.number ?? this.#crlNumber++]),
        ),
      ],
      entries: revoked.map((serialNumber) => ({
        serialNumber,
        revocationDate: new Date(thisUpdate.getTime() - 1000),
      })),
    });
    return Buffer.from(crl.rawData);
  }
}

/** A plain-http CRL distribution point on 127.0.0.1: serves whatever CRL it was last given, or 404. */
export class CrlServer {
  readonly #server: Server;
  #body: Buffer | undefined;
  requests = 0;

  private constructor(server: Server) {
    this.#server = server;
    server.on('request', (req, res) => {
      this.requests++;
      if (this.#body === undefined || req.url !== '/ca.crl') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(this.#body);
    });
  }

  static async start(): Promise<CrlServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new CrlServer(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/ca.crl`;
  }

  serve(body: Buffer | undefined): void {
    this.#body = body;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
