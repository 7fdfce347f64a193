import { createPublicKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { PkiError } from './errors.ts';
import { describeIssued } from './issued-certificate.ts';
import { assertWithinIssuer, type CertificateIssuer, loadIssuer } from './issuer.ts';
import { generateKeyPair, type KeyAlgorithm } from './keys.ts';
import { randomSerialHex } from './serial.ts';
import { toSigner } from './signer.ts';
import { buildName, NAME_OIDS, type NameAttribute } from './subject-name.ts';
import { x509 } from './x509.ts';

const DAY_MS = 86_400_000;

export type CaMaterial = {
  certPem: string;
  certDer: Buffer;
  privateKey: KeyObject;
  /** RFC 4514 string of the CA subject. */
  subject: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
};

export type CreateRootCaOptions = {
  commonName: string;
  organization?: string;
  /** Default ES256 (P-256). */
  keyAlg?: KeyAlgorithm;
  /** Default 20 years. */
  validityDays?: number;
  now: Date;
};

export type CreateIssuingCaOptions = Omit<CreateRootCaOptions, 'validityDays'> & {
  parent: CertificateIssuer;
  /** Default 10 years; must end before the parent does. */
  validityDays?: number;
  /** CRL of the parent that lists this CA if it is revoked (RFC 5280 §4.2.1.13). */
  crlUrl?: string;
};

export type IssueServerCertificateOptions = {
  issuer: CertificateIssuer;
  publicKey: KeyObject;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** Default 397 days, the CA/Browser Forum BR §6.3.2 ceiling for TLS server certificates. */
  validityDays?: number;
  now: Date;
};

export type ServerCertificate = { certPem: string; certDer: Buffer; serialHex: string; notAfter: Date };

function validityEnd(now: Date, days: number): Date {
  if (!Number.isInteger(days) || days <= 0) {
    throw new PkiError('invalid_validity', 'validityDays must be a positive integer', { status: 400 });
  }
  return new Date(now.getTime() + days * DAY_MS);
}

function caName(commonName: string, organization: string | undefined) {
  const attributes: NameAttribute[] = [];
  if (organization !== undefined) {
    attributes.push({
      oid: NAME_OIDS.organizationName,
      value: organization,
      maxLength: 64,
      field: 'organization',
    });
  }
  attributes.push({ oid: NAME_OIDS.commonName, value: commonName, maxLength: 64, field: 'commonName' });
  return buildName(attributes);
}

function toPublicKey(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

function spkiOf(key: KeyObject): Buffer {
  return toPublicKey(key).export({ type: 'spki', format: 'der' });
}

// RFC 5280 §4.2.1.3: a CA key signs certificates and CRLs and nothing else.
const CA_KEY_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/** Self-signed root: basicConstraints cA critical (RFC 5280 §4.2.1.9), keyCertSign + cRLSign critical. */
export async function createRootCa(opts: CreateRootCaOptions): Promise<CaMaterial> {
  const notAfter = validityEnd(opts.now, opts.validityDays ?? 20 * 365);
  const name = caName(opts.commonName, opts.organization);
  const { privateKey, publicKey } = generateKeyPair(opts.keyAlg ?? 'ES256');
  const spki = spkiOf(publicKey);
  const signer = toSigner(privateKey);
  const ski = await x509.SubjectKeyIdentifierExtension.create(spki);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: name,
    issuer: name,
    notBefore: opts.now,
    notAfter,
    publicKey: spki,
    ...signer,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      ski,
      // RFC 5280 §4.2.1.1: AKI may be omitted only in self-signed roots; kept for chain builders.
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  const issued = describeIssued(cert.rawData);
  return { ...issued, privateKey };
}

/** Issuing CA under `parent`: cA with pathLen 0 (RFC 5280 §4.2.1.9), so it can only issue end entities. */
export async function createIssuingCa(opts: CreateIssuingCaOptions): Promise<CaMaterial> {
  const notAfter = validityEnd(opts.now, opts.validityDays ?? 10 * 365);
  const issuer = await loadIssuer(opts.parent, 'ca');
  assertWithinIssuer(issuer, opts.now, notAfter);
  const { privateKey, publicKey } = generateKeyPair(opts.keyAlg ?? 'ES256');
  const spki = spkiOf(publicKey);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
    await x509.SubjectKeyIdentifierExtension.create(spki),
    issuer.authorityKeyIdentifier,
  ];
  if (opts.crlUrl !== undefined) extensions.push(new x509.CRLDistributionPointsExtension([opts.crlUrl]));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: caName(opts.commonName, opts.organization),
    issuer: issuer.name,
    notBefore: opts.now,
    notAfter,
    publicKey: spki,
    signingKey: issuer.signingKey,
    signingAlgorithm: issuer.signingAlgorithm,
    extensions,
  });
  return { ...describeIssued(cert.rawData), privateKey };
}

// RFC 1034 §3.5 preferred name syntax (LDH labels), with an optional leftmost wildcard label.
const DNS_NAME =
  /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function serverAltNames(dnsNames: string[], ipAddresses: string[]): x509.JsonGeneralNames {
  if (dnsNames.length + ipAddresses.length === 0) {
    // RFC 9525 §6.3: clients match the SAN only, so a server certificate without one is useless.
    throw new PkiError('invalid_server_names', 'at least one DNS name or IP address is required', {
      status: 400,
    });
  }
  for (const dns of dnsNames) {
    if (dns.length > 253 || !DNS_NAME.test(dns)) {
      throw new PkiError('invalid_server_names', `not a DNS name: ${JSON.stringify(dns)}`, { status: 400 });
    }
  }
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) {
      throw new PkiError('invalid_server_names', `not an IP address: ${JSON.stringify(ip)}`, { status: 400 });
    }
  }
  return [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
}

/** TLS server certificate for the platform's own listeners: serverAuth only, names in the SAN. */
export async function issueServerCertificate(
  opts: IssueServerCertificateOptions,
): Promise<ServerCertificate> {
  const notAfter = validityEnd(opts.now, opts.validityDays ?? 397);
  const altNames = serverAltNames(opts.dnsNames, opts.ipAddresses);
  const issuer = await loadIssuer(opts.issuer, 'certificate');
  assertWithinIssuer(issuer, opts.now, notAfter);
  const publicKey = toPublicKey(opts.publicKey);
  const spki = spkiOf(publicKey);
  let usage = x509.KeyUsageFlags.digitalSignature;
  // TLS 1.2 RSA key transport needs keyEncipherment (RFC 5246 §7.4.2); harmless for ECDHE.
  if (publicKey.asymmetricKeyType === 'rsa') usage |= x509.KeyUsageFlags.keyEncipherment;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: buildName([
      { oid: NAME_OIDS.commonName, value: opts.commonName, maxLength: 64, field: 'commonName' },
    ]),
    issuer: issuer.name,
    notBefore: opts.now,
    notAfter,
    publicKey: spki,
    signingKey: issuer.signingKey,
    signingAlgorithm: issuer.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(altNames),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      issuer.authorityKeyIdentifier,
    ],
  });
  const { certPem, certDer, serialHex, notAfter: issuedNotAfter } = describeIssued(cert.rawData);
  return { certPem, certDer, serialHex, notAfter: issuedNotAfter };
}
