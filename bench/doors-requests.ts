// The one allowed request of `bench doors` in the shape each door receives it: the same partner, access token,
// route and client certificate, as the gateway's TLS peer, nginx's auth subrequest, Envoy's ext_authz check,
// an AuthZEN evaluation and an API Gateway HTTP API authorizer event.
import { X509Certificate } from 'node:crypto';
import { DECISION_SECRET, type Door } from './doors-protocol.ts';
import { type Fixture, ROUTE } from './gateway-fixture.ts';

/** An HTTP request the load generator repeats (GET without a body unless said). */
export interface HttpDoorRequest {
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

function pemOf(certPem: string): string {
  return `${certPem.trim()}\n`;
}

export function httpRequestOf(door: Exclude<Door, 'aws-lambda'>, fixture: Fixture): HttpDoorRequest {
  const authorization = `Bearer ${fixture.token}`;
  const pem = pemOf(fixture.client.cert);
  const secret = { 'x-accredit-decision-secret': DECISION_SECRET };
  switch (door) {
    case 'gateway':
      return { path: ROUTE.path, method: 'GET', headers: { authorization } };
    case 'auth_request':
      // nginx: proxy_set_header X-Original-Method/-URI, X-Client-Cert $ssl_client_escaped_cert (docs/doors.md).
      return {
        path: '/auth_request',
        method: 'GET',
        headers: {
          ...secret,
          authorization,
          'x-original-method': ROUTE.method,
          'x-original-uri': ROUTE.path,
          'x-client-cert': encodeURIComponent(pem),
        },
      };
    case 'ext_authz': {
      // Envoy with forward_client_cert_details SANITIZE_SET and cert, chain, subject set: one XFCC element.
      const leaf = new X509Certificate(pem);
      const xfcc =
        `Hash=${leaf.fingerprint256.replaceAll(':', '').toLowerCase()};Cert="${encodeURIComponent(pem)}";` +
        `Chain="${encodeURIComponent(pem)}";Subject="${leaf.subject.replaceAll('\n', ',')}"`;
      return {
        path: `/ext_authz${ROUTE.path}`,
        method: ROUTE.method,
        headers: { ...secret, authorization, 'x-forwarded-client-cert': xfcc },
      };
    }
    case 'authzen':
      return {
        path: '/access/v1/evaluation',
        method: 'POST',
        headers: { ...secret, 'content-type': 'application/json' },
        body: JSON.stringify({
          subject: {
            type: 'client',
            id: fixture.clientId,
            properties: { token: fixture.token, client_certificate: pem },
          },
          action: { name: ROUTE.method },
          resource: { type: 'route', id: ROUTE.path },
        }),
      };
  }
}

/** HTTP API, authorizer payload format 2.0, with the mTLS certificate of the custom domain. */
export function lambdaEventOf(fixture: Fixture): unknown {
  const leaf = new X509Certificate(fixture.client.cert);
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/${ROUTE.method}${ROUTE.path}`,
    identitySource: [`Bearer ${fixture.token}`],
    routeKey: '$default',
    rawPath: ROUTE.path,
    rawQueryString: '',
    cookies: [],
    headers: {
      accept: 'application/json',
      authorization: `Bearer ${fixture.token}`,
      host: 'api.example.com',
      'user-agent': 'bench',
      'x-forwarded-for': '192.0.2.10',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    queryStringParameters: {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef123',
      authentication: {
        clientCert: {
          clientCertPem: pemOf(fixture.client.cert),
          subjectDN: leaf.subject.replaceAll('\n', ','),
          issuerDN: leaf.issuer.replaceAll('\n', ','),
          serialNumber: leaf.serialNumber,
          validity: { notBefore: leaf.validFrom, notAfter: leaf.validTo },
        },
      },
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: ROUTE.method,
        path: ROUTE.path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.10',
        userAgent: 'bench',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      time: '02/Dec/2026:02:00:00 +0000',
      timeEpoch: 1_795_312_800_000,
    },
    pathParameters: {},
    stageVariables: {},
  };
}
