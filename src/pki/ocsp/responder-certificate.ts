import type { KeyObject } from 'node:crypto';
import { spkiOf } from '../certificate-fields.ts';
import { describeIssued, type IssuedCertificate } from '../issued-certificate.ts';
import { assertWithinIssuer, type CertificateIssuer, loadIssuer } from '../issuer.ts';
import { randomSerialHex } from '../serial.ts';
import { buildName, NAME_OIDS } from '../subject-name.ts';
import { x509 } from '../x509.ts';
import { OCSP_OIDS } from './ocsp-oids.ts';

export interface IssueResponderCertificateOptions {
  /** The CA the responder answers for; it signs the responder's certificate (RFC 6960 §4.2.2.2). */
  issuer: CertificateIssuer;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

// DER NULL: id-pkix-ocsp-nocheck's value (RFC 6960 §4.2.2.2.1).
const DER_NULL = new Uint8Array([0x05, 0x00]);

/**
 * A delegated OCSP responder certificate: issued directly by the CA whose certificates it answers for, with
 * id-kp-OCSPSigning (RFC 6960 §4.2.2.2, which clients MUST find) and id-pkix-ocsp-nocheck (§4.2.2.2.1:
 * clients need not check its revocation, hence its short life). Key usage digitalSignature only.
 */
export async function issueResponderCertificate(
  opts: IssueResponderCertificateOptions,
): Promise<IssuedCertificate> {
  const issuer = await loadIssuer(opts.issuer, 'certificate');
  assertWithinIssuer(issuer, opts.notBefore, opts.notAfter);
  const spki = spkiOf(opts.publicKey);
  const caName = issuer.certificate.subjectName.getField('CN')[0] ?? 'Accredit CA';
  const subject = buildName([
    { oid: NAME_OIDS.commonName, value: `${caName} OCSP`.slice(0, 64), maxLength: 64, field: 'commonName' },
  ]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject,
    issuer: issuer.name,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    publicKey: spki,
    signingKey: issuer.signingKey,
    signingAlgorithm: issuer.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([OCSP_OIDS.ocspSigning]),
      new x509.Extension(OCSP_OIDS.noCheck, false, DER_NULL),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      issuer.authorityKeyIdentifier,
    ],
  });
  return describeIssued(cert.rawData);
}
