import { createPublicKey, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { CSR_FINDING_CODES as C, type CsrFinding } from './csr-finding.ts';
import { describePublicKey } from './key-description.ts';
import { decodePem } from './pem.ts';
import { x509 } from './x509.ts';

export type { CsrFinding } from './csr-finding.ts';

export type CsrValidation = {
  ok: boolean;
  findings: CsrFinding[];
  /** Set only when ok: the key to certify. */
  publicKey?: KeyObject;
  /** Set only when ok: DER SubjectPublicKeyInfo, as buildPartnerCertificate takes it. */
  publicKeySpki?: Buffer;
  /** Set whenever the key could be read, e.g. "EC P-256"; safe to show. */
  keyDescription?: string;
};

/** A CSR is a few hundred bytes to a few KiB; anything larger is refused before it is parsed. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

const RSA_MIN_BITS = 2048;
// Bounds verification cost (RSA work grows with the cube of the modulus); 8192 covers every real use.
const RSA_MAX_BITS = 8192;
const SUPPORTED_CURVES = new Set(['prime256v1', 'secp384r1']);
const SUPPORTED_KEYS = 'RSA 2048-8192, EC P-256, EC P-384 or Ed25519';
// RFC 7468 §7: "NEW CERTIFICATE REQUEST" is a legacy label parsers may accept.
const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

// Signature algorithms accepted for proof of possession: SHA-2 or EdDSA only; SHA-1 and MD5 are refused.
const SIGNATURE_ALGORITHMS = new Set([
  '1.2.840.10045.4.3.2', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4', // ecdsa-with-SHA512
  '1.2.840.113549.1.1.11', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13', // sha512WithRSAEncryption
  '1.2.840.113549.1.1.10', // RSASSA-PSS, hash checked below
  '1.3.101.112', // Ed25519
]);
const PSS_HASHES = new Set(['SHA-256', 'SHA-384', 'SHA-512']);

type Parsed = { csr: x509.Pkcs10CertificateRequest; signatureOid: string };

function finding(code: CsrFinding['code'], field: string, message: string, reference?: string): CsrFinding {
  return reference === undefined ? { code, field, message } : { code, field, message, reference };
}

function decodeCsrPem(pem: unknown): Buffer | CsrFinding {
  if (typeof pem !== 'string' || pem.trim() === '') {
    return finding(C.malformedPem, 'csr', 'CSR must be a non-empty PEM string', 'RFC 7468 §7');
  }
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_PEM_BYTES) {
    return finding(C.malformedCsr, 'csr', `CSR must be at most ${MAX_CSR_PEM_BYTES} bytes`);
  }
  let block: ReturnType<typeof decodePem>;
  try {
    block = decodePem(pem);
  } catch (err) {
    const detail = err instanceof Error ? err.message : 'invalid PEM';
    return finding(C.malformedPem, 'csr', `CSR is not valid PEM: ${detail}`, 'RFC 7468 §7');
  }
  if (!CSR_LABELS.has(block.label)) {
    const what = block.label === 'CERTIFICATE' ? 'a certificate' : 'another kind of PEM block';
    return finding(C.malformedCsr, 'csr', `expected a CERTIFICATE REQUEST, got ${what}`, 'RFC 7468 §7');
  }
  return block.der;
}

// RFC 2986 §4: CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }.
function parseCsr(der: Buffer): Parsed | CsrFinding {
  const bad = (why: string) =>
    finding(C.malformedCsr, 'csr', `not a PKCS#10 certification request: ${why}`, 'RFC 2986 §4');
  const { offset, result } = asn1js.fromBER(der);
  if (offset === -1 || !(result instanceof asn1js.Sequence)) return bad('not a DER SEQUENCE');
  if (offset !== der.length) return bad('trailing data after the request');
  const [info, algorithm, signature] = result.valueBlock.value;
  if (
    result.valueBlock.value.length !== 3 ||
    !(info instanceof asn1js.Sequence) ||
    !(algorithm instanceof asn1js.Sequence) ||
    !(signature instanceof asn1js.BitString)
  ) {
    return bad('wrong structure');
  }
  const version = info.valueBlock.value[0];
  // RFC 2986 §4.1: version is 0 (v1).
  if (!(version instanceof asn1js.Integer) || version.valueBlock.valueDec !== 0)
    return bad('version is not v1');
  const oid = algorithm.valueBlock.value[0];
  if (!(oid instanceof asn1js.ObjectIdentifier)) return bad('wrong signature algorithm structure');
  try {
    const csr = new x509.Pkcs10CertificateRequest(der);
    csr.publicKey.rawData; // force the lazy parse of the key info now
    return { csr, signatureOid: oid.getValue() };
  } catch {
    return bad('wrong structure');
  }
}

function checkKey(spki: Buffer, findings: CsrFinding[]): KeyObject | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    findings.push(
      finding(C.unsupportedKey, 'publicKey', `public key could not be read; use ${SUPPORTED_KEYS}`),
    );
    return undefined;
  }
  const details = key.asymmetricKeyDetails ?? {};
  const description = describePublicKey(key);
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      const e = details.publicExponent ?? 0n;
      if (bits < RSA_MIN_BITS) {
        findings.push(
          finding(
            C.weakKey,
            'publicKey',
            `${description} is too short; RSA keys must be at least ${RSA_MIN_BITS} bits`,
            'CA/Browser Forum BR §6.1.5',
          ),
        );
      } else if (bits > RSA_MAX_BITS) {
        findings.push(
          finding(C.unsupportedKey, 'publicKey', `${description} is larger than ${RSA_MAX_BITS} bits`),
        );
      }
      if (e < 65537n || e % 2n === 0n) {
        findings.push(
          finding(
            C.weakKey,
            'publicKey',
            'RSA public exponent must be odd and at least 65537',
            'CA/Browser Forum BR §6.1.6',
          ),
        );
      }
      return key;
    }
    case 'ec':
      if (!SUPPORTED_CURVES.has(details.namedCurve ?? '')) {
        findings.push(
          finding(C.unsupportedKey, 'publicKey', `${description} is not supported; use ${SUPPORTED_KEYS}`),
        );
      }
      return key;
    case 'ed25519':
      return key;
    case 'rsa-pss':
      findings.push(
        finding(
          C.unsupportedKey,
          'publicKey',
          `PSS-restricted RSA keys are not supported; use an rsaEncryption key (PSS signatures are fine)`,
        ),
      );
      return key;
    default:
      findings.push(
        finding(
          C.unsupportedKey,
          'publicKey',
          `${description} keys are not supported; use ${SUPPORTED_KEYS}`,
        ),
      );
      return key;
  }
}

function checkSignatureAlgorithm({ csr, signatureOid }: Parsed): CsrFinding | undefined {
  const refuse = () =>
    finding(
      C.unsupportedSignatureAlgorithm,
      'signatureAlgorithm',
      'CSR must be signed with SHA-256/384/512 (ECDSA, RSA, RSA-PSS) or Ed25519',
    );
  if (!SIGNATURE_ALGORITHMS.has(signatureOid)) return refuse();
  if (signatureOid === '1.2.840.113549.1.1.10') {
    try {
      const alg = csr.signatureAlgorithm as { hash?: { name?: string } | string };
      const hash = typeof alg.hash === 'string' ? alg.hash : alg.hash?.name;
      if (!PSS_HASHES.has(hash ?? '')) return refuse();
    } catch {
      return refuse();
    }
  }
  return undefined;
}

// RFC 2986 §3: the self-signature is the requester's proof of possession of the private key.
async function checkSignature(csr: x509.Pkcs10CertificateRequest): Promise<CsrFinding | undefined> {
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (valid) return undefined;
  return finding(
    C.badSignature,
    'signature',
    'CSR signature does not verify with its own public key',
    'RFC 2986 §3',
  );
}

/**
 * Lints a partner CSR and returns every finding. Only the public key is taken from it: subject and
 * requested extensions are ignored because the platform names the certificate itself.
 */
export async function validateCsr(pem: string): Promise<CsrValidation> {
  const der = decodeCsrPem(pem);
  if (!Buffer.isBuffer(der)) return { ok: false, findings: [der] };
  const parsed = parseCsr(der);
  if (!('csr' in parsed)) return { ok: false, findings: [parsed] };

  const findings: CsrFinding[] = [];
  const publicKeySpki = Buffer.from(parsed.csr.publicKey.rawData);
  const publicKey = checkKey(publicKeySpki, findings);
  const keySupported = !findings.some((f) => f.code === C.unsupportedKey);
  // An unsupported key type implies an unsupported signature, which is not worth a second finding, and
  // WebCrypto could not import the key to check it anyway.
  const algorithmFinding = keySupported ? checkSignatureAlgorithm(parsed) : undefined;
  if (algorithmFinding) findings.push(algorithmFinding);
  if (publicKey && keySupported && !algorithmFinding) {
    const signatureFinding = await checkSignature(parsed.csr);
    if (signatureFinding) findings.push(signatureFinding);
  }

  const keyDescription = publicKey ? describePublicKey(publicKey) : undefined;
  if (findings.length > 0) {
    return keyDescription === undefined ? { ok: false, findings } : { ok: false, findings, keyDescription };
  }
  return {
    ok: true,
    findings,
    publicKey: publicKey as KeyObject,
    publicKeySpki,
    keyDescription: keyDescription as string,
  };
}
