import { randomUUID, X509Certificate } from 'node:crypto';
import type { ForwardedCertificate, RequestFacts } from '../../gateway/decision/index.ts';
import type { ApiGatewayClientCert, HttpApiAuthorizerEvent, RestApiAuthorizerEvent } from './events.ts';

/** What the door reads from one event: the facts for the core and the ARN a policy must name. */
export interface EventFacts {
  kind: 'http' | 'rest';
  facts: RequestFacts;
  /** The exact routeArn (HTTP API) or methodArn (REST API) of this request. */
  resource: string;
}

/** An event this door cannot turn into facts; answered as a refusal, never passed to the core. */
export class UnreadableEvent extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'UnreadableEvent';
    this.reason = reason;
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
// API Gateway's own request id is a UUID; anything else is replaced by a random one.
const REQUEST_ID = /^[A-Za-z0-9=_.-]{8,128}$/;
// RFC 3986 pchar besides unreserved: kept as they are when a decoded REST path is encoded again.
const PCHAR_KEPT = /%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/g;

/**
 * The certificate API Gateway verified against the custom domain's truststore (its leaf, and any further
 * certificates in the PEM as the chain). The core still checks the chain, validity, revocation and ownership:
 * the truststore is the operator's, not this platform's. A PEM that does not parse is refused, never ignored
 * (ignoring it would turn an `mtls: optional` operation into a silent downgrade).
 */
export function certificateOf(
  cert: ApiGatewayClientCert | null | undefined,
): ForwardedCertificate | undefined {
  const pem = cert?.clientCertPem;
  if (pem === undefined || pem === null || pem === '') return undefined;
  if (typeof pem !== 'string')
    throw new UnreadableEvent('certificate_untrusted', 'clientCertPem is not a string');
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0 || blocks.length > 10)
    throw new UnreadableEvent('certificate_untrusted', 'clientCertPem holds no usable certificate');
  try {
    const [leaf, ...chain] = blocks.map((block) => new X509Certificate(block));
    return { leaf: leaf!, chain, source: 'aws-apigw' };
  } catch {
    throw new UnreadableEvent('certificate_untrusted', 'clientCertPem does not parse as X.509');
  }
}

function requestIdOf(id: unknown): string {
  return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
}

/** Strips the API mapping's base path (a custom domain mapping `/v1` → the API) when configured. */
function withoutPrefix(path: string, prefix: string | undefined): string {
  if (!prefix) return path;
  if (path === prefix) return '/';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
}

/** HTTP API 2.0: `rawPath` and `rawQueryString` as received, lower-case headers. */
/**
 * The external base URL for a DPoP proof's `htu` (RFC 9449 §4.3 step 9): the configured one, else the host the
 * client addressed plus the mapping prefix the path lost. Undefined: the DPoP scheme is refused.
 */
function originOf(domainName: string | undefined, options: FactsOptions): { origin?: string } {
  if (options.publicUrl !== undefined) return { origin: options.publicUrl };
  if (typeof domainName !== 'string' || !/^[A-Za-z0-9.-]+(:\d+)?$/.test(domainName)) return {};
  return { origin: `https://${domainName}${options.stripPrefix ?? ''}` };
}

export interface FactsOptions {
  stripPrefix?: string | undefined;
  /** ACCREDIT_PUBLIC_URL: the API's external base URL, for DPoP `htu`. */
  publicUrl?: string | undefined;
}

export function httpApiFacts(event: HttpApiAuthorizerEvent, options: FactsOptions = {}): EventFacts {
  const headers = event.headers ?? {};
  const path = withoutPrefix(event.rawPath, options.stripPrefix);
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  return {
    kind: 'http',
    resource: event.routeArn,
    facts: {
      method: event.requestContext.http.method.toUpperCase(),
      target: `${path}${query}`,
      authorization: headers.authorization,
      dpop: headers.dpop,
      ...originOf(event.requestContext.domainName, options),
      certificate: certificateOf(event.requestContext.authentication?.clientCert),
      requestId: requestIdOf(event.requestContext.requestId),
    },
  };
}

/** A REST header by name, whatever its case; several values are joined (a second Authorization fails to parse). */
function restHeader(event: RestApiAuthorizerEvent, name: string): string | undefined {
  for (const [key, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === name && Array.isArray(values) && values.length > 0) return values.join(', ');
  }
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(PCHAR_KEPT, (m) => decodeURIComponent(m));
}

/**
 * REST API: API Gateway gives the path and query parameters decoded, so the request-target is encoded again,
 * segment by segment (a `/` that was `%2F` in the original cannot be told apart: the path is split where API
 * Gateway's own routing split it).
 */
export function restApiFacts(event: RestApiAuthorizerEvent, options: FactsOptions = {}): EventFacts {
  const path = withoutPrefix(event.path, options.stripPrefix).split('/').map(encodeSegment).join('/');
  const pairs: string[] = [];
  const multi = event.multiValueQueryStringParameters;
  const single = event.queryStringParameters;
  for (const [name, values] of Object.entries(multi ?? {})) {
    for (const value of values ?? []) pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  }
  if (!multi) {
    for (const [name, value] of Object.entries(single ?? {})) {
      if (typeof value === 'string') pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    }
  }
  return {
    kind: 'rest',
    resource: event.methodArn,
    facts: {
      method: event.httpMethod.toUpperCase(),
      target: pairs.length > 0 ? `${path}?${pairs.join('&')}` : path,
      authorization: restHeader(event, 'authorization'),
      dpop: restHeader(event, 'dpop'),
      ...originOf(event.requestContext?.domainName, options),
      certificate: certificateOf(event.requestContext?.identity?.clientCert),
      requestId: requestIdOf(event.requestContext?.requestId),
    },
  };
}
