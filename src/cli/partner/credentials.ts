import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CliError } from '../cli-error.ts';

/** The partner's transport credentials: the certificate the platform issued and its private key. */
export interface PartnerCredentials {
  certPem: string;
  keyPem: string;
  keyFile: string;
  /** RFC 8705 §3.1: what access tokens issued over this certificate are bound to. */
  thumbprint: string;
  /** The certificate subject's CN, which the platform sets to the client_id. */
  commonName: string | undefined;
  notAfter: Date;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${what} ${file}${code ? ` (${code})` : ''}`, 'bad_file');
  }
}

// The leaf is the first certificate of a PEM file (`cert issue --out` writes only the leaf).
function firstCertificate(pem: string, file: string): X509Certificate {
  const block = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  try {
    if (!block) throw new Error('no certificate');
    return new X509Certificate(block);
  } catch {
    throw new CliError(`${file} is not a PEM certificate`, 'bad_certificate');
  }
}

// Node prints the subject one attribute per line with `\` escapes; the CN the platform sets is plain.
function commonNameOf(cert: X509Certificate): string | undefined {
  const line = cert.subject.split('\n').find((l) => l.startsWith('CN='));
  return line?.slice(3);
}

/**
 * Reads and checks the pair before anything goes on the wire: a key that does not belong to the
 * certificate, or an expired certificate, would otherwise surface as an opaque TLS failure.
 */
export function loadCredentials(certFile: string, keyFile: string, now = new Date()): PartnerCredentials {
  const certPem = readText(certFile, 'certificate');
  const cert = firstCertificate(certPem, certFile);
  const keyPem = readText(keyFile, 'private key');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const encrypted = /ENCRYPTED|passphrase/i.test(`${keyPem.slice(0, 64)} ${(err as Error).message}`);
    throw new CliError(
      encrypted
        ? `private key ${keyFile} is encrypted; use an unencrypted PKCS#8 key (e.g. from \`accredit partner keygen\`)`
        : `${keyFile} is not a PEM private key`,
      'bad_key',
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CliError(
      `private key ${keyFile} does not belong to certificate ${certFile} (the public keys differ)`,
      'key_mismatch',
    );
  }
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw new CliError(`certificate ${certFile} expired at ${notAfter.toISOString()}`, 'certificate_expired');
  }
  const notBefore = new Date(cert.validFrom);
  if (notBefore.getTime() > now.getTime()) {
    throw new CliError(
      `certificate ${certFile} is not valid before ${notBefore.toISOString()}`,
      'certificate_not_yet_valid',
    );
  }
  return {
    certPem,
    keyPem,
    keyFile,
    // RFC 8705 §3.1: base64url SHA-256 of the DER certificate. Computed here rather than through pki/,
    // whose X.509 stack would double the start-up time of every token and call command.
    thumbprint: createHash('sha256').update(cert.raw).digest('base64url'),
    commonName: commonNameOf(cert),
    notAfter,
  };
}
