import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrippedRequestHeader } from '../../../src/gateway/forward-headers.ts';

// Every header a trusted proxy may forward a certificate in is an identity statement: the gateway must never
// pass one a client sent on to the upstream, whatever the form or the configured NGINX header name's usual spellings.
const PROXY_CERTIFICATE_HEADERS = [
  'client-cert',
  'client-cert-chain',
  'x-client-cert',
  'x-ssl-client-cert',
  'x-ssl-client-escaped-cert',
  'ssl-client-cert',
  'x-forwarded-client-cert',
  'x-amzn-mtls-clientcert',
  'x-amzn-mtls-clientcert-leaf',
  'x_amzn_mtls_clientcert',
];
for (const name of PROXY_CERTIFICATE_HEADERS) {
  test(`ok/the gateway strips ${name} before the upstream`, () => {
    assert.equal(isStrippedRequestHeader(name), true);
  });
}
