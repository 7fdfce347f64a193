import type { KeyObject } from 'node:crypto';
import { spkiOf, validityEnd } from './certificate-fields.ts';
import { PkiError } from './errors.ts';
import { describeIssued } from './issued-certificate.ts';
import { assertWithinIssuer, type CertificateIssuer, loadIssuer } from './issuer.ts';
import { generateKeyPair, type KeyAlgorithm } from './keys.ts';
import { type AuthorityInfoAccess, authorityInfoAccess } from './partner-certificate.ts';
import { randomSerialHex } from './serial.ts';
import { toSigner } from './signer.ts';
import { buildName, NAME_OIDS, type NameAttribute } from './subject-name.ts';
import { x509 } from './x509.ts';

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
  /** The parent's OCSP responder and certificate (RFC 5280 §4.2.2.1). */
  aia?: AuthorityInfoAccess;
};

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
  if (opts.aia !== undefined) extensions.push(authorityInfoAccess(opts.aia));
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

export type ReissueIssuingCaOptions = {
  parent: CertificateIssuer;
  /** The issuing CA as it is today: its certificate and the private key it keeps. */
  current: CertificateIssuer;
  /** CRL of the parent that lists this CA if it is revoked (RFC 5280 §4.2.1.13); none when undefined. */
  crlUrl: string | undefined;
  /** The parent's OCSP responder and certificate; none when undefined. */
  aia?: AuthorityInfoAccess | undefined;
};

/**
 * The same issuing CA in a new certificate: same key, same subject (the encoded Name copied byte for byte),
 * same subject key identifier and validity, now with a CRL distribution point. Every certificate the CA has
 * issued names this subject and this key (AKI), so it verifies under the new certificate as under the old.
 */
export async function reissueIssuingCa(opts: ReissueIssuingCaOptions): Promise<CaMaterial> {
  const issuer = await loadIssuer(opts.parent, 'ca');
  const current = await loadIssuer(opts.current, 'certificate');
  const old = current.certificate;
  // Only a certificate the parent signed may be re-signed: a different root would change every chain.
  if (!(await old.verify({ publicKey: issuer.certificate.publicKey, signatureOnly: true }))) {
    throw new PkiError('invalid_issuer', 'the issuing CA certificate was not signed by this root');
  }
  assertWithinIssuer(issuer, old.notBefore, old.notAfter);
  const ski = old.getExtension(x509.SubjectKeyIdentifierExtension);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: new x509.Name(old.subjectName.toArrayBuffer()),
    issuer: issuer.name,
    notBefore: old.notBefore,
    notAfter: old.notAfter,
    publicKey: old.publicKey,
    signingKey: issuer.signingKey,
    signingAlgorithm: issuer.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      ski ?? (await x509.SubjectKeyIdentifierExtension.create(old.publicKey)),
      issuer.authorityKeyIdentifier,
      ...(opts.crlUrl === undefined ? [] : [new x509.CRLDistributionPointsExtension([opts.crlUrl])]),
      ...(opts.aia === undefined ? [] : [authorityInfoAccess(opts.aia)]),
    ],
  });
  const issued = describeIssued(cert.rawData);
  // The subject must be the very bytes partner certificates carry as their issuer.
  if (!Buffer.from(old.subjectName.toArrayBuffer()).equals(Buffer.from(cert.subjectName.toArrayBuffer()))) {
    throw new PkiError('invalid_issuer', 're-issued subject differs from the original');
  }
  return { ...issued, privateKey: opts.current.privateKey };
}
