import { createPublicKey, type KeyObject } from 'node:crypto';
import { PkiError } from './errors.ts';
import { describeIssued, type IssuedCertificate } from './issued-certificate.ts';
import { assertWithinIssuer, type CertificateIssuer, loadIssuer } from './issuer.ts';
import { assertSerialHex } from './serial.ts';
import { buildName, NAME_OIDS } from './subject-name.ts';
import { x5tS256 } from './thumbprint.ts';
import { x509 } from './x509.ts';

export type PartnerSubject = { clientId: string; orgId: string; orgName: string };

export type BuildPartnerCertificateOptions = {
  issuer: CertificateIssuer;
  /** DER SubjectPublicKeyInfo from a CSR that passed validateCsr. */
  publicKeySpki: Buffer;
  /** Taken from the directory, never from the CSR. */
  subject: PartnerSubject;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
  /** Authority Information Access (RFC 5280 §4.2.2.1): the OCSP responder and the issuer's certificate. */
  aia?: AuthorityInfoAccess | undefined;
};

export type AuthorityInfoAccess = { ocspUrl: string; caIssuersUrl: string };

/** RFC 5280 §4.2.2.1: id-ad-ocsp (RFC 6960 §3.1) and id-ad-caIssuers, one URI each. */
export function authorityInfoAccess(aia: AuthorityInfoAccess): x509.AuthorityInfoAccessExtension {
  return new x509.AuthorityInfoAccessExtension({
    ocsp: [new x509.GeneralName('url', aia.ocspUrl)],
    caIssuers: [new x509.GeneralName('url', aia.caIssuersUrl)],
  });
}

export type PartnerCertificate = IssuedCertificate & { x5tS256: string };

function readPublicKey(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    throw new PkiError('invalid_public_key', 'publicKeySpki is not a DER SubjectPublicKeyInfo');
  }
}

/**
 * Subject is O, organizationIdentifier, CN from the directory, built attribute by attribute so no value
 * can smuggle in another RDN. RFC 4514 rendering: `CN=<clientId>,2.5.4.97=<orgId>,O=<orgName>`.
 */
function partnerName(subject: PartnerSubject): x509.Name {
  return buildName([
    // RFC 5280 Appendix A: ub-organization-name and ub-common-name are 64.
    { oid: NAME_OIDS.organizationName, value: subject.orgName, maxLength: 64, field: 'orgName' },
    { oid: NAME_OIDS.organizationIdentifier, value: subject.orgId, maxLength: 128, field: 'orgId' },
    { oid: NAME_OIDS.commonName, value: subject.clientId, maxLength: 64, field: 'clientId' },
  ]);
}

/** mTLS client certificate for a partner application (RFC 8705 §2.1 PKI method). */
export async function buildPartnerCertificate(
  opts: BuildPartnerCertificateOptions,
): Promise<PartnerCertificate> {
  assertSerialHex(opts.serialHex);
  const subject = partnerName(opts.subject);
  const publicKey = readPublicKey(opts.publicKeySpki);
  const issuer = await loadIssuer(opts.issuer, 'certificate');
  assertWithinIssuer(issuer, opts.notBefore, opts.notAfter);

  let usage = x509.KeyUsageFlags.digitalSignature;
  // RSA keys may also wrap keys (TLS 1.2 RSA key transport, RFC 5246 §7.4.7.1); EC and EdDSA keys cannot.
  if (publicKey.asymmetricKeyType === 'rsa') usage |= x509.KeyUsageFlags.keyEncipherment;

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: opts.serialHex,
    subject,
    issuer: issuer.name,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    publicKey: opts.publicKeySpki,
    signingKey: issuer.signingKey,
    signingAlgorithm: issuer.signingAlgorithm,
    extensions: [
      // RFC 5280 §4.2.1.9: end-entity certificates assert cA FALSE; critical so no one treats it as a CA.
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(opts.publicKeySpki),
      issuer.authorityKeyIdentifier,
      // RFC 5280 §4.2.1.13: where relying parties fetch the CRL that will list this certificate.
      new x509.CRLDistributionPointsExtension([opts.crlUrl]),
      ...(opts.aia ? [authorityInfoAccess(opts.aia)] : []),
    ],
  });
  const issued = describeIssued(cert.rawData);
  if (issued.serialHex !== opts.serialHex) {
    throw new PkiError('invalid_serial', 'issued certificate does not carry the requested serial');
  }
  return { ...issued, x5tS256: x5tS256(issued.certDer) };
}
