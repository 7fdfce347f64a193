import type { HttpApiAuthorizerEvent, RestApiAuthorizerEvent } from '../../../src/doors/aws-lambda/index.ts';

/**
 * Authorizer events shaped as API Gateway sends them: the examples of its developer guide ("Control access to
 * HTTP APIs with AWS Lambda authorizers", payload format 2.0; "Input to an API Gateway Lambda authorizer",
 * REQUEST), with this request's method, path, query, headers and client certificate filled in.
 */
export interface RequestShape {
  method: string;
  /** Path as the client sent it (percent-encoded), without the query. */
  path: string;
  /** Raw query string without `?`. */
  query?: string;
  /** Header names as the client sent them; a repeated header as an array. */
  headers?: Record<string, string | string[]>;
  /** The mTLS client certificate the custom domain verified (PEM), when one was presented. */
  clientCertPem?: string;
  stage?: string;
  requestId?: string;
}

const ACCOUNT = '123456789012';
const API = 'abcdef123';

export const arnOf = (stage: string, method: string, path: string) =>
  `arn:aws:execute-api:us-east-1:${ACCOUNT}:${API}/${stage}/${method}${path}`;

function clientCert(pem: string | undefined) {
  return pem === undefined
    ? undefined
    : {
        clientCertPem: pem,
        subjectDN: 'CN=partner',
        issuerDN: 'CN=Accredit Issuing CA',
        serialNumber: '1',
        validity: { notBefore: 'May 28 12:30:02 2019 GMT', notAfter: 'Aug 5 09:36:04 2031 GMT' },
      };
}

/** HTTP API, payload format 2.0: lower-case header names, repeated values joined with commas. */
export function httpApiEvent(r: RequestShape): HttpApiAuthorizerEvent {
  const stage = r.stage ?? '$default';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers ?? {}))
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  const cert = clientCert(r.clientCertPem);
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: arnOf(stage, r.method, r.path),
    identitySource: Object.values(headers).slice(0, 1),
    routeKey: '$default',
    rawPath: r.path,
    rawQueryString: r.query ?? '',
    cookies: [],
    headers,
    queryStringParameters: {},
    requestContext: {
      accountId: ACCOUNT,
      apiId: API,
      ...(cert ? { authentication: { clientCert: cert } } : {}),
      domainName: `${API}.execute-api.us-east-1.amazonaws.com`,
      domainPrefix: API,
      http: {
        method: r.method,
        path: r.path,
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'agent',
      },
      requestId: r.requestId ?? 'id-0001-http',
      routeKey: '$default',
      stage,
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: 1583348638390,
    },
    pathParameters: {},
    stageVariables: {},
  } as HttpApiAuthorizerEvent;
}

/** REST API REQUEST authorizer: names as sent, path and query decoded, single- and multi-value forms. */
export function restApiEvent(r: RequestShape): RestApiAuthorizerEvent {
  const stage = r.stage ?? 'test';
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(r.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.at(-1)!;
    multiValueHeaders[name] = values;
  }
  const params = new URLSearchParams(r.query ?? '');
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of params) {
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  const path = decodeURIComponent(r.path);
  const cert = clientCert(r.clientCertPem);
  return {
    type: 'REQUEST',
    methodArn: arnOf(stage, r.method, path),
    resource: '/{proxy+}',
    path,
    httpMethod: r.method,
    headers,
    multiValueHeaders,
    queryStringParameters: params.size > 0 ? single : null,
    multiValueQueryStringParameters: params.size > 0 ? multi : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: {},
    requestContext: {
      path: `/${stage}${path}`,
      accountId: ACCOUNT,
      resourceId: '05c7jb',
      stage,
      requestId: r.requestId ?? 'id-0001-rest',
      identity: { apiKey: '', sourceIp: '198.51.100.7', ...(cert ? { clientCert: cert } : {}) },
      resourcePath: '/{proxy+}',
      httpMethod: r.method,
      apiId: API,
    },
  } as RestApiAuthorizerEvent;
}
