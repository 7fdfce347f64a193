import { type Draft, isStringArray, metadataFinding, redirectFinding } from './draft.ts';

/** Grant types this server offers a registered client (no refresh tokens, no implicit, no device flow). */
const SUPPORTED_GRANT_TYPES = ['client_credentials', 'authorization_code'] as const;

/**
 * Grant types this server supports, all among the statement's when there is one (without a statement RFC 7591
 * §2's default, authorization_code, applies to a request naming none); response types consistent with them (§2.1).
 */
export function checkGrantTypes(d: Draft): void {
  const value = d.request.grant_types ?? d.statement?.grantTypes ?? ['authorization_code'];
  if (!isStringArray(value) || value.length === 0) {
    metadataFinding(d, 'grant_types', 'must be a non-empty array of grant types', 'RFC 7591 §2');
    return;
  }
  const grants = [...new Set(value)];
  for (const grant of grants) {
    if (!(SUPPORTED_GRANT_TYPES as readonly string[]).includes(grant)) {
      metadataFinding(d, 'grant_types', `${grant} is not supported`, 'RFC 7591 §2');
    } else if (d.statement && !d.statement.grantTypes.includes(grant)) {
      metadataFinding(
        d,
        'grant_types',
        `${grant} is not among the software statement’s grant types`,
        'RFC 7591 §3.1.1',
      );
    }
  }
  d.grantTypes = grants.filter((g) => (SUPPORTED_GRANT_TYPES as readonly string[]).includes(g));
  const responseTypes = d.request.response_types;
  if (responseTypes === undefined) return;
  const code = d.grantTypes.includes('authorization_code');
  if (!isStringArray(responseTypes) || responseTypes.some((t) => t !== 'code')) {
    metadataFinding(d, 'response_types', 'only the code response type is supported', 'RFC 7591 §2');
  } else if (responseTypes.includes('code') !== code) {
    metadataFinding(
      d,
      'response_types',
      'code goes with the authorization_code grant type and only with it',
      'RFC 7591 §2.1',
    );
  }
}

/**
 * Every redirection URI absolute https, without a fragment and, with a statement, exactly (string equality, no
 * pattern) one of the statement's; the authorization code grant needs at least one.
 */
export function checkRedirectUris(d: Draft): void {
  const requested = d.request.redirect_uris;
  const value = requested ?? d.statement?.redirectUris ?? [];
  if (!isStringArray(value)) {
    redirectFinding(d, 'redirect_uris', 'must be an array of URLs', 'RFC 7591 §2');
    return;
  }
  const allowed = d.statement ? new Set(d.statement.redirectUris ?? []) : undefined;
  value.forEach((uri, i) => {
    const field = `redirect_uris[${i}]`;
    if (!URL.canParse(uri)) {
      redirectFinding(d, field, 'is not an absolute URL', 'RFC 6749 §3.1.2');
      return;
    }
    const url = new URL(uri);
    if (url.protocol !== 'https:') redirectFinding(d, field, 'must be an https URL', 'RFC 6749 §3.1.2.1');
    if (url.hash !== '' || uri.includes('#')) {
      redirectFinding(d, field, 'must not contain a fragment', 'RFC 6749 §3.1.2');
    }
    if (allowed && !allowed.has(uri)) {
      redirectFinding(d, field, 'is not one of the software statement’s redirect_uris', 'RFC 7591 §3.1.1');
    }
  });
  if (d.grantTypes.includes('authorization_code')) {
    if (value.length === 0) {
      redirectFinding(d, 'redirect_uris', 'the authorization_code grant needs at least one', 'RFC 7591 §2');
    }
    d.redirectUris = [...new Set(value)];
  }
}
