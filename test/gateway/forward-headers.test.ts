import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/gateway/forward-headers.ts';

const identity = {
  'x-accredit-client-id': 'cl_1',
  'x-accredit-org-id': 'org_1',
  'x-accredit-scopes': 'accounts:read',
  'x-accredit-roles': 'partner_reader',
  'x-accredit-cert-x5t-s256': 'x5t',
  'x-accredit-token-jti': 'jti',
  'x-request-id': 'rid',
};

test('ok/identity replaces anything the client asserted', () => {
  const out = upstreamRequestHeaders(
    {
      host: 'api.example',
      authorization: 'Bearer secret',
      dpop: 'proof',
      'client-cert': ':MIIB:',
      'client-cert-chain': ':MIIB:',
      'x-accredit-org-id': 'org_evil',
      'x-accredit-anything': 'spoofed',
      'x-forwarded-for': '203.0.113.9',
      'x-request-id': 'client-chosen',
      'content-type': 'application/json',
      'content-length': '12',
    },
    identity,
    { address: '127.0.0.1' },
  );
  assert.deepEqual(out, {
    'content-type': 'application/json',
    'content-length': '12',
    'x-forwarded-for': '127.0.0.1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'api.example',
    ...identity,
  });
});

test('ok/hop-by-hop fields, including those named in Connection, are dropped (RFC 9110 §7.6.1)', () => {
  const out = upstreamRequestHeaders(
    {
      connection: 'keep-alive, x-drop-me',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      upgrade: 'websocket',
      'transfer-encoding': 'chunked',
      'x-drop-me': 'hop',
      'x-keep-me': 'end-to-end',
    },
    identity,
    { address: undefined },
  );
  for (const gone of ['connection', 'keep-alive', 'te', 'upgrade', 'transfer-encoding', 'x-drop-me']) {
    assert.equal(out[gone], undefined, gone);
  }
  assert.equal(out['x-keep-me'], 'end-to-end');
  const back = clientResponseHeaders(
    {
      connection: 'close, x-internal',
      'x-internal': 'a',
      'content-type': 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
    },
    'rid',
  );
  assert.deepEqual(back, {
    'content-type': 'text/plain',
    'set-cookie': ['a=1', 'b=2'],
    'x-request-id': 'rid',
  });
});

// Every header an upstream or a proxy in front of it could read as the client's identity, in the forms
// upstreams meet: case, `_` for `-` (CGI/WSGI map one to the other), vendor prefixes.
const SPOOFED_IDENTITY = [
  'x-accredit-org-id',
  'x_accredit_org_id',
  'x_accredit_client_id',
  'X-Accredit-Gateway-Secret',
  'x-ssl-client-verify',
  'x-ssl-client-s-dn',
  'x_ssl_client_i_dn',
  'ssl_client_s_dn',
  'ssl-client-verify',
  'x-client-cert',
  'x-client-verify',
  'x-client-dn',
  'client-cert',
  'client_cert',
  'client-cert-chain',
  'x-forwarded-client-cert',
  'x_forwarded_client_cert',
  'x-forwarded-tls-client-cert',
  'x-forwarded-tls-client-cert-info',
  'x-amzn-mtls-clientcert',
  'x-amzn-mtls-clientcert-leaf',
  'x-amzn-oidc-identity',
  'x-arr-clientcert',
  'x-remote-user',
  'remote_user',
  'x-auth-request-user',
  'x-forwarded-user',
  'x-forwarded-email',
  'x_forwarded_for',
  'x_real_ip',
  'x_request_id',
];

test('fail/every client-identity header form is stripped, whatever the separator or case', () => {
  const inbound: Record<string, string> = { 'content-type': 'application/json', 'x-client-version': '2' };
  // Node lower-cases names on the wire; underscores survive as they are.
  for (const name of SPOOFED_IDENTITY) inbound[name.toLowerCase()] = 'spoofed';
  const out = upstreamRequestHeaders(inbound, identity, { address: '127.0.0.1' });
  for (const name of SPOOFED_IDENTITY) {
    const key = name.toLowerCase();
    if (key in identity || key === 'x-forwarded-for') assert.notEqual(out[key], 'spoofed', name);
    else assert.equal(out[key], undefined, name);
  }
  assert.equal(out['content-type'], 'application/json');
  assert.equal(out['x-client-version'], '2', 'ordinary application headers pass');
});
