import { createHash, createPublicKey, type JsonWebKeyInput, X509Certificate } from 'node:crypto';
import { invalidInput } from '../shared/app-error.ts';

export interface JwksFinding {
  field: string;
  message: string;
}

// Members that only a private or symmetric key has: a client must never hand us those (RFC 7517 §6.2, §6.3, §6.4).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Checks a client's public JWK Set: public keys only, acceptable types and strengths. Returns every finding. */
export function lintClientJwks(jwks: unknown): JwksFinding[] {
  const findings: JwksFinding[] = [];
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    return [{ field: 'jwks', message: 'jwks must be an object with a "keys" array (RFC 7517 §5)' }];
  }
  const keys = (jwks as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > 10)
    findings.push({ field: 'jwks.keys', message: 'jwks must hold 1 to 10 keys' });
  const kids = new Set<string>();
  keys.forEach((key, i) => {
    const field = `jwks.keys[${i}]`;
    if (typeof key !== 'object' || key === null) {
      findings.push({ field, message: 'a key must be a JSON object' });
      return;
    }
    const jwk = key as Record<string, unknown>;
    for (const member of PRIVATE_MEMBERS) {
      if (member in jwk)
        findings.push({
          field: `${field}.${member}`,
          message: 'private or symmetric key material is not accepted',
        });
    }
    if (typeof jwk.kid === 'string') {
      if (kids.has(jwk.kid)) findings.push({ field: `${field}.kid`, message: 'duplicate kid' });
      kids.add(jwk.kid);
    }
    for (const member of ['kid', 'use', 'alg', 'x5t', 'x5t#S256'] as const) {
      if (member in jwk && typeof jwk[member] !== 'string')
        findings.push({ field: `${field}.${member}`, message: 'must be a string (RFC 7517 §4)' });
    }
    if ('key_ops' in jwk && !isStringArray(jwk.key_ops))
      findings.push({ field: `${field}.key_ops`, message: 'must be an array of strings (RFC 7517 §4.3)' });
    if (jwk.kty === 'oct') return;
    let details: ReturnType<typeof createPublicKey> | undefined;
    try {
      details = createPublicKey({ key: jwk, format: 'jwk' } as JsonWebKeyInput);
    } catch {
      findings.push({ field, message: 'not a valid public JWK' });
      return;
    }
    if ('x5c' in jwk) findings.push(...lintX5c(jwk.x5c, details, `${field}.x5c`));
    const type = details.asymmetricKeyType;
    const d = details.asymmetricKeyDetails ?? {};
    if (type === 'rsa' || type === 'rsa-pss') {
      if ((d.modulusLength ?? 0) < 2048)
        findings.push({ field, message: `RSA key of ${d.modulusLength} bits; at least 2048 required` });
    } else if (type === 'ec') {
      if (d.namedCurve !== 'prime256v1' && d.namedCurve !== 'secp384r1') {
        findings.push({ field, message: `EC curve ${d.namedCurve} is not accepted (P-256 or P-384)` });
      }
    } else if (type !== 'ed25519') {
      findings.push({
        field,
        message: `key type ${type} is not accepted (RSA ≥ 2048, P-256, P-384, Ed25519)`,
      });
    }
  });
  return findings;
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');

// RFC 4648 §4 standard base64 (x5c is not base64url, RFC 7517 §4.7).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * RFC 7517 §4.7: x5c is a non-empty array of base64 DER certificates, and the key in the first one MUST match
 * the JWK's own public key.
 */
function lintX5c(x5c: unknown, key: ReturnType<typeof createPublicKey>, field: string): JwksFinding[] {
  if (!isStringArray(x5c) || x5c.length === 0 || x5c.length > 10) {
    return [{ field, message: 'must be an array of 1 to 10 base64 DER certificates (RFC 7517 §4.7)' }];
  }
  const certs: X509Certificate[] = [];
  for (const [i, entry] of x5c.entries()) {
    try {
      if (!BASE64.test(entry)) throw new Error('not base64');
      certs.push(new X509Certificate(Buffer.from(entry, 'base64')));
    } catch {
      return [{ field: `${field}[${i}]`, message: 'not a base64 DER X.509 certificate (RFC 7517 §4.7)' }];
    }
  }
  if (!certs[0]?.publicKey.equals(key))
    return [{ field: `${field}[0]`, message: 'does not certify this JWK’s key (RFC 7517 §4.7)' }];
  return [];
}

export function assertClientJwks(jwks: unknown): void {
  const findings = lintClientJwks(jwks);
  if (findings.length > 0) throw invalidInput('jwks is not acceptable', { field: 'jwks', findings });
}

/**
 * RFC 8705 §2.2: a self_signed_tls_client_auth client registers its certificate(s) as `x5c` in its JWK Set.
 * Returns the x5t#S256 of each registered certificate, or the findings that make the set unusable.
 */
export function selfSignedCertificates(
  jwks: unknown,
  now: Date,
): { thumbprints: string[]; findings: JwksFinding[] } {
  const findings: JwksFinding[] = [];
  const thumbprints: string[] = [];
  const keys = (jwks as { keys?: unknown[] } | undefined)?.keys ?? [];
  keys.forEach((key, i) => {
    const x5c = (key as { x5c?: unknown }).x5c;
    const field = `jwks.keys[${i}].x5c`;
    if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') {
      findings.push({
        field,
        message: 'self_signed_tls_client_auth needs the certificate in x5c (RFC 8705 §2.2)',
      });
      return;
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(x5c[0], 'base64'));
    } catch {
      findings.push({ field, message: 'x5c[0] is not a base64 DER X.509 certificate (RFC 7517 §4.7)' });
      return;
    }
    const jwkKey = createPublicKey({ key: key as JsonWebKeyInput['key'], format: 'jwk' });
    if (!cert.publicKey.equals(jwkKey)) findings.push({ field, message: 'x5c[0] does not certify this JWK' });
    if (new Date(cert.validTo) <= now) findings.push({ field, message: 'x5c[0] has expired' });
    thumbprints.push(createHash('sha256').update(cert.raw).digest('base64url'));
  });
  return { thumbprints, findings };
}
