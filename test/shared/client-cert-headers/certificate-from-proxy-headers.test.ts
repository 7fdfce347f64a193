import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { before, describe, test } from 'node:test';
import {
  certificateFromProxyHeaders,
  compileProxyTrust,
  isRefusal,
  type ProxyForm,
} from '../../../src/shared/client-cert-headers/index.ts';
import {
  albEncodedPem,
  byteSequence,
  sha256Hex,
  type TestPki,
  testPki,
  urlEncodedPem,
} from './certificates.ts';

const PROXY = '10.1.0.5';

describe('certificateFromProxyHeaders: the gateway-facing entry', () => {
  let pki: TestPki;
  before(async () => {
    pki = await testPki();
  });

  const trust = compileProxyTrust([
    { address: '10.1.0.1', form: 'rfc9440' },
    { address: '10.1.0.2', form: 'nginx' },
    { address: '10.1.0.3', form: 'nginx', header: 'X-SSL-Client-Cert' },
    { address: '10.1.0.4', form: 'envoy-xfcc' },
    { address: PROXY, form: 'aws-alb' },
  ]);
  const request = (remoteAddress: string, headers: IncomingHttpHeaders) => ({
    headers,
    socket: { remoteAddress },
  });

  const forms: Array<[ProxyForm | 'nginx (configured header)', string, () => IncomingHttpHeaders]> = [
    ['rfc9440', '10.1.0.1', () => ({ 'client-cert': byteSequence(pki.leafPem) })],
    ['nginx', '10.1.0.2', () => ({ 'x-client-cert': urlEncodedPem(pki.leafPem) })],
    ['nginx (configured header)', '10.1.0.3', () => ({ 'x-ssl-client-cert': urlEncodedPem(pki.leafPem) })],
    [
      'envoy-xfcc',
      '10.1.0.4',
      () => ({
        'x-forwarded-client-cert': `Hash=${sha256Hex(pki.leafPem)};Cert="${urlEncodedPem(pki.leafPem)}"`,
      }),
    ],
    ['aws-alb', PROXY, () => ({ 'x-amzn-mtls-clientcert': albEncodedPem(pki.leafPem, pki.issuing.certPem) })],
  ];
  for (const [form, address, headers] of forms) {
    test(`ok/${form} from its trusted proxy → the certificate`, () => {
      const r = certificateFromProxyHeaders(request(address, headers()), trust);
      assert.ok(r && !isRefusal(r), JSON.stringify(r));
      assert.ok(r.leaf.raw.equals(pki.leaf.raw));
      assert.equal(r.source, form.split(' ')[0]);
    });
    test(`fail/${form} from an address that is not a proxy → ignored`, () => {
      assert.equal(certificateFromProxyHeaders(request('10.1.0.99', headers()), trust), undefined);
    });
  }

  test('fail/a trusted proxy’s request carrying another form’s header → that header is not read', () => {
    const headers = { 'client-cert': byteSequence(pki.leafPem), 'x-client-cert': urlEncodedPem(pki.leafPem) };
    assert.equal(certificateFromProxyHeaders(request('10.1.0.4', headers), trust), undefined);
    // The nginx proxy with a configured header does not read the default one.
    assert.equal(certificateFromProxyHeaders(request('10.1.0.3', headers), trust), undefined);
  });

  test('ok/a trusted proxy forwarding nothing (or an empty value) → undefined', () => {
    assert.equal(certificateFromProxyHeaders(request('10.1.0.1', {}), trust), undefined);
    assert.equal(certificateFromProxyHeaders(request('10.1.0.2', { 'x-client-cert': '' }), trust), undefined);
  });

  const refusals: Array<[string, string, () => IncomingHttpHeaders, RegExp]> = [
    [
      'Client-Cert-Chain without Client-Cert',
      '10.1.0.1',
      () => ({ 'client-cert-chain': byteSequence(pki.issuing.certPem) }),
      /without Client-Cert/,
    ],
    [
      'a header sent twice (array)',
      '10.1.0.2',
      () => ({ 'x-client-cert': ['a', 'b'] as unknown as string }),
      /more than once/,
    ],
    ['malformed nginx value', '10.1.0.2', () => ({ 'x-client-cert': '%zz' }), /bad %-escape/],
    [
      'a forged XFCC Hash',
      '10.1.0.4',
      () => ({
        'x-forwarded-client-cert': `Hash=${sha256Hex(pki.otherLeafPem)};Cert=${urlEncodedPem(pki.leafPem)}`,
      }),
      /Hash/,
    ],
    [
      'an oversized ALB header',
      PROXY,
      () => ({ 'x-amzn-mtls-clientcert': 'A'.repeat(20_000) }),
      /larger than/,
    ],
  ];
  for (const [name, address, headers, reason] of refusals) {
    test(`fail/${name} from a trusted proxy → refused with a reason`, () => {
      const r = certificateFromProxyHeaders(request(address, headers()), trust);
      assert.ok(isRefusal(r), JSON.stringify(r));
      assert.match(r.refused, reason);
    });
  }
});
