import { createHash, createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import type { DpopNonces } from '../shared/dpop/index.ts';
import type { ReplayCache } from '../shared/replay-cache/index.ts';
import { GATEWAY_REASONS, type GatewayError, invalidDpop } from './gateway-error.ts';

/** RFC 9449 §4.2: asymmetric algorithms only; `none` and MAC algorithms (HS*) never (§4.3 step 5). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];
const ASYMMETRIC = new Set([...DPOP_ALGORITHMS, 'RS256', 'RS384', 'RS512']);
/** Default ± window (seconds) around the server's clock in which a proof's `iat` is accepted (§11.1). */
export const DPOP_IAT_WINDOW_SECONDS = 60;
const MAX_PROOF_LENGTH = 8192;
// Private members of every JWK key type (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export interface DpopProofOptions {
  replayCache: ReplayCache;
  /** Undefined: no nonce is required (RFC 9449 §9 is optional for a resource server). */
  nonces: DpopNonces | undefined;
  algorithms: readonly string[];
  iatWindowSeconds: number;
}

export interface DpopRequest {
  /** The DPoP header value; undefined when absent. */
  proof: string | undefined;
  method: string;
  /** The request's URI as the client addressed it, without query or fragment. */
  htu: string;
  /** The access token of `Authorization: DPoP`, for `ath`. */
  accessToken: string;
  nowMs: number;
}

/** Resolves the option set, refusing an algorithm a proof must never use. */
export function dpopAlgorithms(algorithms: readonly string[] | undefined): string[] {
  const list = [...(algorithms ?? DPOP_ALGORITHMS)];
  if (list.length === 0) throw new Error('dpop.algorithms: at least one algorithm is required');
  for (const alg of list) {
    if (!ASYMMETRIC.has(alg)) throw new Error(`dpop.algorithms: ${alg} is not an asymmetric JWS algorithm`);
  }
  return list;
}

/**
 * RFC 3986 §6.2.2–6.2.3 normalisation for comparing `htu`: lower-case scheme and host, default port dropped,
 * dot segments removed (WHATWG URL does these), percent-encodings upper-cased and unreserved ones decoded,
 * an empty path as `/`; query and fragment dropped (RFC 9449 §4.3 step 9). Undefined when not an http(s) URL.
 */
export function normalizeHtu(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path || '/'}`;
}

/** The request's `htu`: the configured external base (scheme, authority, optional path prefix) + the path. */
export function htuOf(base: string, target: string): string | undefined {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (!path.startsWith('/')) return undefined;
  const trimmed = base.endsWith('/') ? base.slice(0, -1) : base;
  return normalizeHtu(`${trimmed}${path}`);
}

const KEY_CACHE_SIZE = 10_000;
// Public members per key type (RFC 7638 §3.2): the identity of a public key, and all a verifier may import.
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

interface ImportedKey {
  key: KeyObject;
  jkt: string;
}

// The key type (and curve) each algorithm signs with (RFC 7518 §3.1, RFC 8037 §3.1).
function keyFits(alg: string, jwk: Record<string, unknown>): boolean {
  if (alg === 'ES256') return jwk.kty === 'EC' && jwk.crv === 'P-256';
  if (alg === 'ES384') return jwk.kty === 'EC' && jwk.crv === 'P-384';
  if (alg === 'ES512') return jwk.kty === 'EC' && jwk.crv === 'P-521';
  if (alg === 'EdDSA' || alg === 'Ed25519') return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
  return jwk.kty === 'RSA' && /^(PS|RS)(256|384|512)$/.test(alg);
}

/**
 * The proof's embedded key (RFC 9449 §4.2 `jwk`), imported with jose once per distinct key and algorithm and
 * then reused: a client signs every proof with the same key, and importing costs more than verifying.
 * Only the public members are imported; `use` and `alg`, when present, must agree (as jose's EmbeddedJWK).
 */
function createKeyImporter(): (jwk: Record<string, unknown>, alg: string) => Promise<ImportedKey> {
  const cache = new Map<string, ImportedKey>();
  return async (jwk, alg) => {
    const members = typeof jwk.kty === 'string' ? PUBLIC_MEMBERS[jwk.kty] : undefined;
    if (members === undefined) throw invalid('the DPoP proof jwk has an unsupported key type');
    if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid('the DPoP proof jwk is not a signing key');
    if (jwk.alg !== undefined && jwk.alg !== alg)
      throw invalid('the DPoP proof jwk is for another algorithm');
    const publicJwk: Record<string, unknown> = {};
    for (const m of members) {
      if (typeof jwk[m] !== 'string') throw invalid('the DPoP proof jwk is incomplete');
      publicJwk[m] = jwk[m];
    }
    const id = `${alg} ${JSON.stringify(publicJwk)}`;
    const cached = cache.get(id);
    if (cached !== undefined) return cached;
    if (!keyFits(alg, publicJwk)) throw invalid('the DPoP proof jwk does not fit its alg');
    let key: KeyObject;
    try {
      // node:crypto's JWK import: the public members only, so the result can only be a public key.
      key = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      throw invalid('the DPoP proof jwk is not a usable public key');
    }
    if (key.type !== 'public') throw invalid('the DPoP proof jwk must be a public key');
    const entry = { key, jkt: await calculateJwkThumbprint(publicJwk as JWK, 'sha256') };
    if (cache.size >= KEY_CACHE_SIZE) cache.clear();
    cache.set(id, entry);
    return entry;
  };
}

const importKey = createKeyImporter();

function bytesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function invalid(message: string): GatewayError {
  return invalidDpop(GATEWAY_REASONS.dpopProofInvalid, message);
}

/**
 * RFC 9449 §4.3: checks a DPoP proof for one request and returns the RFC 7638 thumbprint of its key, for the
 * caller to compare with the token's cnf.jkt (§6.1). Every check is one of §4.3's steps; the `jti` is claimed
 * last (§11.1), once the proof is otherwise valid, so an invalid proof never burns a value.
 */
export async function verifyDpopProof(
  options: DpopProofOptions,
  request: DpopRequest,
): Promise<{ jkt: string }> {
  const { proof } = request;
  // Step 1: exactly one DPoP HTTP request header field (a repeated header arrives comma-joined).
  if (proof === undefined || proof === '') {
    throw invalidDpop(GATEWAY_REASONS.dpopProofMissing, 'a DPoP proof is required with the DPoP scheme');
  }
  if (proof.includes(',') || proof.length > MAX_PROOF_LENGTH) {
    throw invalidDpop(GATEWAY_REASONS.dpopProofMissing, 'exactly one DPoP proof is required');
  }
  // Step 2: a well-formed JWT; the header is read first for steps 4, 5 and 7.
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw invalid('the DPoP proof is not a JWT');
  }
  // Step 5: never none or a MAC, only the allow-list.
  if (typeof header.alg !== 'string' || !options.algorithms.includes(header.alg)) {
    throw invalidDpop(GATEWAY_REASONS.dpopAlgorithmNotAllowed, 'the DPoP proof algorithm is not accepted');
  }
  // Step 7: the jwk header is a public key (a private member would mean the key is disclosed).
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw invalid('the DPoP proof has no jwk header');
  }
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
    throw invalidDpop(GATEWAY_REASONS.dpopPrivateKey, 'the DPoP proof jwk must be a public key');
  }
  // Steps 3, 4 and 6: typ dpop+jwt, the signature under the embedded key, every required claim present.
  const { key, jkt } = await importKey(jwk, header.alg);
  let payload: JWTPayload;
  try {
    const verified = await jwtVerify(proof, key, {
      typ: 'dpop+jwt',
      algorithms: options.algorithms as string[],
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      // iat is judged below against the window, both ways; jose would refuse only a future one.
      clockTolerance: Number.MAX_SAFE_INTEGER,
    });
    payload = verified.payload;
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      throw invalid('the DPoP proof signature is invalid');
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      throw invalid(`the DPoP proof is invalid: ${err.claim} ${err.reason}`.slice(0, 200));
    }
    throw invalid('the DPoP proof is not a valid signed dpop+jwt');
  }
  const { jti, htm, htu, iat, ath, nonce } = payload as JWTPayload & Record<string, unknown>;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalid('jti is not valid');
  if (typeof htm !== 'string' || typeof htu !== 'string' || typeof iat !== 'number') {
    throw invalid('htm, htu and iat must be present');
  }
  // Step 8: the method of this request (RFC 9110 methods are case-sensitive).
  if (htm !== request.method) {
    throw invalidDpop(GATEWAY_REASONS.dpopMethodMismatch, 'htm is not the method of this request');
  }
  // Step 9: the URI of this request, both normalised, query and fragment ignored.
  const expectedHtu = normalizeHtu(request.htu);
  if (expectedHtu === undefined || normalizeHtu(htu) !== expectedHtu) {
    throw invalidDpop(GATEWAY_REASONS.dpopUriMismatch, 'htu is not the URI of this request');
  }
  // Step 11 (§11.1): iat within the window — checked whatever the nonce, a valid nonce does not extend it.
  const nowS = request.nowMs / 1000;
  if (Math.abs(nowS - iat) > options.iatWindowSeconds) {
    throw invalidDpop(
      GATEWAY_REASONS.dpopIatOutOfWindow,
      'the DPoP proof iat is outside the accepted window',
    );
  }
  // Step 10 (§7): ath is the hash of the very access token presented with the proof.
  const expectedAth = createHash('sha256').update(request.accessToken, 'ascii').digest('base64url');
  if (typeof ath !== 'string' || !bytesEqual(ath, expectedAth)) {
    throw invalidDpop(
      GATEWAY_REASONS.dpopAthMismatch,
      'ath is missing or is not the hash of the access token',
    );
  }
  // §9: a nonce of ours when nonces are required; the challenge carries a fresh one.
  if (options.nonces !== undefined) {
    if (typeof nonce !== 'string' || !options.nonces.isValid(nonce, request.nowMs)) {
      throw invalidDpop(
        GATEWAY_REASONS.dpopNonceRequired,
        'the resource server requires a current DPoP nonce',
        'use_dpop_nonce',
      );
    }
  }
  // §11.1: one use per proof, on every node sharing the cache; kept until iat leaves the window.
  const expiresAtMs = (iat + options.iatWindowSeconds) * 1000 + 1000;
  const fresh = await options.replayCache.claim(`dpop-rs:${jkt}:${jti}`, expiresAtMs);
  if (!fresh) throw invalidDpop(GATEWAY_REASONS.dpopProofReplayed, 'the DPoP proof was used before');
  return { jkt };
}
