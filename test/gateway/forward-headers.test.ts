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
