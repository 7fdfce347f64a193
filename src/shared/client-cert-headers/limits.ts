/**
 * Bounds on what a proxy header may carry, so a request cannot make us parse megabytes of certificates: one
 * header value over 16 KiB, or more than 8 certificates besides the leaf, is refused before any X.509 parsing.
 */
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_CHAIN_CERTIFICATES = 8;

/** The refusal for an over-long header value, or undefined; header values are latin-1 strings in Node. */
export function oversized(name: string, value: string): string | undefined {
  return value.length > MAX_HEADER_BYTES ? `${name} is larger than ${MAX_HEADER_BYTES} bytes` : undefined;
}

export function tooManyCertificates(name: string, count: number): string | undefined {
  return count > MAX_CHAIN_CERTIFICATES
    ? `${name} carries more than ${MAX_CHAIN_CERTIFICATES} chain certificates`
    : undefined;
}
