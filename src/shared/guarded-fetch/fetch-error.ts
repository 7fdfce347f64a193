/** Why an outbound request to a partner was refused or failed; stable codes, messages name the URL but no content. */
export const FETCH_ERROR_CODES = [
  'invalid_url',
  'https_required',
  'loopback_refused',
  'private_address_refused',
  'reserved_address_refused',
  'dns_failure',
  'connect_timeout',
  'timeout',
  'tls_error',
  'network_error',
  'response_too_large',
  'too_many_redirects',
  'unexpected_content_type',
  'http_status',
] as const;

export type FetchErrorCode = (typeof FETCH_ERROR_CODES)[number];

export interface FetchErrorDetails {
  /** HTTP status of the response, when there was one. */
  status?: number;
  /** The `error` member of a JSON error response body (OpenID Federation §8.9, RFC 6749 §5.2), if any. */
  errorCode?: string;
  cause?: unknown;
}

export class FetchError extends Error {
  readonly code: FetchErrorCode;
  readonly status: number | undefined;
  readonly errorCode: string | undefined;

  constructor(code: FetchErrorCode, message: string, details: FetchErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'FetchError';
    this.code = code;
    this.status = details.status;
    this.errorCode = details.errorCode;
  }
}
