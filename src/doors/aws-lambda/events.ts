/**
 * The two REQUEST authorizer events API Gateway sends, as its developer guide documents them ("Control access
 * to HTTP APIs with AWS Lambda authorizers", payload format 2.0; "Input to an API Gateway Lambda authorizer",
 * REST REQUEST). Only the fields this door reads are typed; everything else is ignored.
 */

/** The mTLS client certificate API Gateway verified against the custom domain's truststore. */
export interface ApiGatewayClientCert {
  clientCertPem?: string | null;
  subjectDN?: string;
  issuerDN?: string;
  serialNumber?: string;
  validity?: { notBefore?: string; notAfter?: string };
}

/** HTTP API, authorizer payload format version 2.0. */
export interface HttpApiAuthorizerEvent {
  version: '2.0';
  type: 'REQUEST';
  routeArn: string;
  routeKey?: string;
  rawPath: string;
  rawQueryString?: string;
  /** Lower-case names; repeated headers arrive joined with commas. */
  headers?: Record<string, string | undefined>;
  requestContext: {
    requestId?: string;
    /** The host the client addressed (a custom domain or the execute-api one). */
    domainName?: string;
    http: { method: string; path?: string; sourceIp?: string };
    authentication?: { clientCert?: ApiGatewayClientCert | null } | null;
  };
}

/** REST API, REQUEST authorizer (payload 1.0). */
export interface RestApiAuthorizerEvent {
  type: 'REQUEST';
  methodArn: string;
  resource?: string;
  /** Already percent-decoded by API Gateway. */
  path: string;
  httpMethod: string;
  /** Names as the client sent them; the last value of a repeated header. */
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  requestContext?: {
    requestId?: string;
    domainName?: string;
    identity?: { sourceIp?: string; clientCert?: ApiGatewayClientCert | null } | null;
  } | null;
}

export type AuthorizerEvent = HttpApiAuthorizerEvent | RestApiAuthorizerEvent;

/** Which API kind sent the event; undefined for anything else (a TOKEN authorizer event, a stray invocation). */
export function eventKind(event: unknown): 'http' | 'rest' | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Record<string, unknown>;
  if (e.type !== 'REQUEST') return undefined;
  const ctx = e.requestContext as { http?: { method?: unknown } } | undefined;
  if (
    e.version === '2.0' &&
    typeof e.routeArn === 'string' &&
    typeof e.rawPath === 'string' &&
    typeof ctx?.http?.method === 'string'
  )
    return 'http';
  if (typeof e.methodArn === 'string' && typeof e.httpMethod === 'string' && typeof e.path === 'string')
    return 'rest';
  return undefined;
}
