import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * Error codes of the registration endpoint (RFC 7591 §3.2.2), the client configuration endpoint (RFC 7592 §2,
 * Bearer errors of RFC 6750 §3.1) and RFC 6749's generic ones for requests that are not even JSON.
 */
export const REGISTRATION_ERRORS = {
  invalidRedirectUri: 'invalid_redirect_uri',
  invalidClientMetadata: 'invalid_client_metadata',
  invalidSoftwareStatement: 'invalid_software_statement',
  unapprovedSoftwareStatement: 'unapproved_software_statement',
  invalidToken: 'invalid_token',
  invalidRequest: 'invalid_request',
  serverError: 'server_error',
} as const;
export type RegistrationErrorCode = (typeof REGISTRATION_ERRORS)[keyof typeof REGISTRATION_ERRORS];

/** One reason a registration request was refused: the metadata field, why, and the rule's specification. */
export interface RegistrationFinding {
  field: string;
  /** invalid_redirect_uri for a redirection URI, invalid_client_metadata for everything else. */
  code: 'invalid_redirect_uri' | 'invalid_client_metadata';
  reason: string;
  spec: string;
}

/**
 * A refused registration or management request: `status` is the HTTP status, `description` is safe to show
 * (it never carries token or key material), `findings` every policy rule the request broke.
 */
export class RegistrationError extends Error {
  readonly code: RegistrationErrorCode;
  readonly status: number;
  readonly findings: readonly RegistrationFinding[] | undefined;

  constructor(
    code: RegistrationErrorCode,
    status: number,
    description: string,
    findings?: RegistrationFinding[],
  ) {
    super(description);
    this.name = 'RegistrationError';
    this.code = code;
    this.status = status;
    this.findings = findings;
  }
}

export const invalidStatement = (description: string) =>
  new RegistrationError(REGISTRATION_ERRORS.invalidSoftwareStatement, 400, description);
export const unapprovedStatement = (description: string) =>
  new RegistrationError(REGISTRATION_ERRORS.unapprovedSoftwareStatement, 400, description);
export const invalidRequest = (description: string) =>
  new RegistrationError(REGISTRATION_ERRORS.invalidRequest, 400, description);
/** RFC 7592 §2, RFC 6750 §3.1: a missing, wrong or revoked registration access token. */
export const invalidToken = (description: string) =>
  new RegistrationError(REGISTRATION_ERRORS.invalidToken, 401, description);

/**
 * RFC 7591 §3.2.2: invalid_redirect_uri when every finding is about a redirection URI, invalid_client_metadata
 * otherwise; the description summarises, `findings` lists each rule broken.
 */
export function policyRefused(findings: RegistrationFinding[]): RegistrationError {
  const code = findings.every((f) => f.code === 'invalid_redirect_uri')
    ? REGISTRATION_ERRORS.invalidRedirectUri
    : REGISTRATION_ERRORS.invalidClientMetadata;
  const first = findings[0];
  const more =
    findings.length > 1 ? ` (and ${findings.length - 1} more finding${findings.length > 2 ? 's' : ''})` : '';
  return new RegistrationError(code, 400, first ? `${first.field}: ${first.reason}${more}` : code, findings);
}

// RFC 6750 §3: attribute values are quoted ASCII; drop quotes, backslashes and anything outside printable ASCII.
const quoted = (value: string) => value.replace(/[^\x20-\x7e]|["\\]/g, '');

/**
 * Writes the error as RFC 7591 §3.2.2 JSON, never cached (RFC 6749 §5.1). A 401 carries the Bearer challenge
 * of RFC 6750 §3: without error attributes when no token was sent at all (§3.1), with them otherwise.
 */
export function sendRegistrationError(
  ctx: KoaContextWithOIDC,
  err: RegistrationError,
  realm: string,
  tokenPresented: boolean,
): void {
  ctx.status = err.status;
  ctx.set('cache-control', 'no-store');
  ctx.set('pragma', 'no-cache');
  if (err.status === 401) {
    const attributes = tokenPresented
      ? `, error="${err.code}", error_description="${quoted(err.message)}"`
      : '';
    ctx.set('www-authenticate', `Bearer realm="${quoted(realm)}"${attributes}`);
  }
  ctx.type = 'application/json';
  ctx.body = {
    error: err.code,
    error_description: err.message,
    ...(err.findings && err.findings.length > 0 ? { findings: err.findings } : {}),
  };
}
