import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { spkiOf, toPublicKey, validityEnd } from './certificate-fields.ts';
import { PkiError } from './errors.ts';
import { describeIssued } from './issued-certificate.ts';
import { assertWithinIssuer, type CertificateIssuer, loadIssuer } from './issuer.ts';
import { randomSerialHex } from './serial.ts';
import { buildName, NAME_OIDS } from './subject-name.ts';
import { x509 } from './x509.ts';

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
