import { createPublicKey, type KeyObject } from 'node:crypto';
import { PkiError } from './errors.ts';
import { pemToDer } from './pem.ts';
import { type Signer, toSigner } from './signer.ts';
import { x509 } from './x509.ts';

/** What signs: the CA certificate and its private key. A `CaMaterial` is one. */
export type CertificateIssuer = { certPem: string; privateKey: KeyObject };

export type LoadedIssuer = Signer & {
  certificate: x509.X509Certificate;
  name: x509.Name;
  authorityKeyIdentifier: x509.AuthorityKeyIdentifierExtension;
};

function invalid(message: string): PkiError {
  return new PkiError('invalid_issuer', message);
}

/**
 * Parses and checks the issuer before anything is signed: a CA certificate (RFC 5280 §4.2.1.9) allowed to
 * sign certificates or CRLs (§4.2.1.3) whose public key matches the private key handed in with it.
 */
export async function loadIssuer(
  issuer: CertificateIssuer,
  purpose: 'ca' | 'certificate' | 'crl',
): Promise<LoadedIssuer> {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(pemToDer(issuer.certPem, 'CERTIFICATE'));
  } catch {
    throw invalid('issuer certificate is not a single PEM-encoded X.509 certificate');
  }
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) throw invalid('issuer certificate is not a CA (basicConstraints cA is not set)');
  // RFC 5280 §4.2.1.9: pathLenConstraint 0 means no CA certificate may follow this one.
  if (purpose === 'ca' && basic.pathLength === 0)
    throw invalid('issuer certificate may not issue CA certificates');
  const usage = certificate.getExtension(x509.KeyUsagesExtension);
  const needed = purpose === 'crl' ? x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.keyCertSign;
  if (usage && (usage.usages & needed) === 0) {
    throw invalid(
      `issuer certificate key usage does not allow ${purpose === 'crl' ? 'cRLSign' : 'keyCertSign'}`,
    );
  }
  const certSpki = Buffer.from(certificate.publicKey.rawData);
  const keySpki = createPublicKey(issuer.privateKey).export({ type: 'spki', format: 'der' });
  if (!certSpki.equals(keySpki)) throw invalid('issuer private key does not match the issuer certificate');

  // RFC 5280 §4.2.1.1: the AKI key identifier is the issuer's subject key identifier.
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const authorityKeyIdentifier = ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(certificate.publicKey);

  return {
    certificate,
    name: certificate.subjectName,
    authorityKeyIdentifier,
    ...toSigner(issuer.privateKey),
  };
}

/** A certificate must not outlive, or predate, the CA that vouches for it. */
export function assertWithinIssuer(issuer: LoadedIssuer, notBefore: Date, notAfter: Date): void {
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  if (!(seconds(notBefore) < seconds(notAfter))) {
    throw new PkiError('invalid_validity', 'notBefore must be earlier than notAfter');
  }
  if (
    seconds(notBefore) < seconds(issuer.certificate.notBefore) ||
    seconds(notAfter) > seconds(issuer.certificate.notAfter)
  ) {
    throw new PkiError(
      'validity_exceeds_issuer',
      "certificate validity must lie within the issuer's validity",
    );
  }
}
