/**
 * Error codes of the federation endpoints' error response (OpenID Federation 1.0 §8.9) plus the ones the
 * resolver reports. `status` is the HTTP status; `expose` says whether `message` may be shown.
 */
export const FEDERATION_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'invalid_issuer',
  'invalid_subject',
  'invalid_trust_anchor',
  'invalid_trust_chain',
  'invalid_metadata',
  // §12.2.4: registration errors may also use OpenID Connect Registration §3.3 / RFC 7591 §3.2.2 codes.
  'invalid_client_metadata',
  'not_found',
  'server_error',
  'temporarily_unavailable',
  'unsupported_parameter',
] as const;

export type FederationErrorCode = (typeof FEDERATION_ERROR_CODES)[number];

export class FederationError extends Error {
  readonly code: FederationErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: FederationErrorCode, status: number, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'FederationError';
    this.code = code;
    this.status = status;
    this.expose = status < 500;
    this.details = details;
  }
}

/** The §8.9 wire form: `{ error, error_description }` as application/json. */
export function federationErrorBody(err: FederationError): {
  error: string;
  error_description: string;
  findings?: unknown;
} {
  const body = { error: err.code, error_description: err.expose ? err.message : 'internal error' };
  // A refused Trust Chain says why, step by step (every finding names the specification step it failed).
  const findings = err.details?.findings;
  return err.expose && Array.isArray(findings) ? { ...body, findings } : body;
}
