import type { X509Certificate } from 'node:crypto';

/** The header forms a trusted proxy may forward a client certificate in. */
export const PROXY_FORMS = ['rfc9440', 'nginx', 'envoy-xfcc', 'aws-alb'] as const;
export type ProxyForm = (typeof PROXY_FORMS)[number];

/**
 * A client certificate a trusted proxy forwarded: the ForwardedCertificate of the decision core without
 * `tlsVerified` (no TLS stack verified it here; the caller checks the chain like a TLS peer's).
 */
export interface ProxiedCertificate {
  leaf: X509Certificate;
  /** Intermediates the proxy passed on, leaf excluded, in the order received; may be empty. */
  chain: X509Certificate[];
  source: ProxyForm;
}

/** Why a forwarded certificate was not accepted; safe to show to the caller (no header value in it). */
export interface Refusal {
  refused: string;
}

export type ParseResult = ProxiedCertificate | Refusal;

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'refused' in value;
}
