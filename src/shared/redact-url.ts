export const REDACTED = '[redacted]';

/**
 * A run of token characters at least this long is taken for a credential. Longer than every identifier we
 * put in paths (a 20-octet hex certificate serial is 40, a UUID 36, a `cl_` client id 25), shorter than a
 * 256-bit base64url secret (43, as our operator, registration and access tokens are).
 */
const CREDENTIAL_RUN = 41;

// base64url, token68 (RFC 7235 §2.1) without `/`, which separates segments, and `.`, which separates names.
const TOKEN_CHAR = /[A-Za-z0-9\-_~+=]/;
const TOKEN_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) TOKEN_CHARS[c] = TOKEN_CHAR.test(String.fromCharCode(c)) ? 1 : 0;

/**
 * Names of query parameters that carry credentials (RFC 6750 §2.3 access_token, OAuth codes and assertions,
 * signed-URL signatures, API keys…), compared lowercase without `_` and `-`, so `client-secret`, `apiKey` and
 * `X-Amz-Signature` match too. Over-redacting a harmless `sort_key` costs nothing.
 */
const CREDENTIAL_NAME =
  /(?:token|secret|password|passwd|pwd|passphrase|key|assertion|signature|sig|jwt|jws|jwe|credentials?|session|sessionid|sid|code|auth|authorization|cookie|dpop|otp|request|requesturi)$/;

/** Whether one raw (still percent-encoded) path segment or query value looks like a credential. */
function looksLikeCredential(text: string): boolean {
  // A JWS or JWE in compact serialisation (RFC 7515 §7.1, RFC 7516 §7.1): its header is base64url of `{"`.
  const jose = text.indexOf('eyJ');
  if (jose !== -1 && (text.indexOf('.', jose) !== -1 || /%2e/i.test(text.slice(jose)))) return true;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && TOKEN_CHARS[c] === 1) {
      if (++run >= CREDENTIAL_RUN) return true;
    } else {
      run = 0;
    }
  }
  return false;
}

function credentialName(raw: string): boolean {
  let name = raw;
  if (name.includes('%')) {
    try {
      name = decodeURIComponent(name);
    } catch {
      // A name that does not decode is judged as written.
    }
  }
  return CREDENTIAL_NAME.test(name.toLowerCase().replace(/[-_\s]/g, ''));
}

/** Whether some `/`-separated part of `path` is long enough to hold a credential run (native indexOf only). */
function hasLongSegment(path: string): boolean {
  for (let start = 0; ; ) {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    if (end - start >= CREDENTIAL_RUN) return true;
    if (slash === -1) return false;
    start = slash + 1;
  }
}

/** The path with every credential-like segment replaced by `[redacted]`; ordinary paths come back as they are. */
export function redactPath(path: string): string {
  // Cheap first (the gateway calls this per request): no JOSE header and no segment long enough for a token.
  if (!path.includes('eyJ') && (path.length < CREDENTIAL_RUN || !hasLongSegment(path))) return path;
  if (!looksLikeCredential(path)) return path;
  return path
    .split('/')
    .map((segment) => (looksLikeCredential(segment) ? REDACTED : segment))
    .join('/');
}

/**
 * A request target (path and query) fit for a log line: credential-bearing query parameters keep their name
 * but lose their value, credential-like path segments and query values are replaced by `[redacted]`.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return redactPath(url);
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      if (credentialName(name)) return eq === -1 ? pair : `${name}=${REDACTED}`;
      // A credential under an innocent name, or one passed as a bare key.
      if (looksLikeCredential(value)) return `${name}=${REDACTED}`;
      if (eq === -1 && looksLikeCredential(name)) return REDACTED;
      return pair;
    })
    .join('&');
  return `${redactPath(url.slice(0, q))}?${query}`;
}
