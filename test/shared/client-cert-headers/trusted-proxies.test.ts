import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { createRootCa } from '../../../src/pki/index.ts';
import {
  compileProxyTrust,
  type ProxyEntry,
  proxyEntryProblem,
  trustedProxyOf,
} from '../../../src/shared/client-cert-headers/index.ts';
import { leafFrom, type TestPki, testPki } from './certificates.ts';

const DAY = 86_400_000;

describe('trusted proxies: by address, and by their own client certificate where configured', () => {
  let pki: TestPki;
  let proxyCaPem: string;
  let proxyCert: X509Certificate;
  let strangerCert: X509Certificate;
  let proxySubject: string;
  before(async () => {
    pki = await testPki();
    const proxyCa = await createRootCa({
      commonName: 'Proxy CA',
      now: new Date(Date.now() - DAY),
      validityDays: 365,
    });
    proxyCaPem = proxyCa.certPem;
    proxyCert = new X509Certificate(await leafFrom(proxyCa, 'edge-proxy'));
    // Same subject, but from another CA: what anyone can make for themselves.
    const otherCa = await createRootCa({
      commonName: 'Proxy CA',
      now: new Date(Date.now() - DAY),
      validityDays: 365,
    });
    strangerCert = new X509Certificate(await leafFrom(otherCa, 'edge-proxy'));
    proxySubject = proxyCert.subject.split('\n').join(', ');
  });

  const from = (remoteAddress: string, peer?: X509Certificate) => ({
    remoteAddress,
    getPeerX509Certificate: () => peer,
  });

  const byAddress: Array<[string, string, string, boolean]> = [
    ['an exact IPv4 address', '10.0.0.7', '10.0.0.7', true],
    ['another IPv4 address', '10.0.0.7', '10.0.0.8', false],
    ['inside an IPv4 CIDR', '10.0.0.0/24', '10.0.0.200', true],
    ['outside an IPv4 CIDR', '10.0.0.0/24', '10.0.1.1', false],
    ['IPv4-mapped IPv6 from a dual-stack socket', '10.0.0.0/24', '::ffff:10.0.0.9', true],
    ['a configured IPv4-mapped address', '::ffff:10.0.0.7', '10.0.0.7', true],
    ['an exact IPv6 address', '2001:db8::1', '2001:db8::1', true],
    ['inside an IPv6 CIDR', '2001:db8::/64', '2001:db8::abcd', true],
    ['outside an IPv6 CIDR', '2001:db8::/64', '2001:db9::1', false],
    ['an IPv4 rule and an IPv6 peer', '10.0.0.0/8', '2001:db8::1', false],
    ['no address at all', '10.0.0.7', '', false],
    ['a non-IP address', '10.0.0.7', 'localhost', false],
  ];
  for (const [name, address, remote, trusted] of byAddress) {
    test(`${trusted ? 'ok' : 'fail'}/${name} → ${trusted ? 'trusted' : 'ignored'}`, () => {
      const trust = compileProxyTrust([{ address, form: 'nginx' }]);
      const proxy = trustedProxyOf(from(remote), trust);
      assert.equal(proxy !== undefined, trusted);
      if (proxy) {
        assert.equal(proxy.form, 'nginx');
        assert.equal(proxy.header, 'x-client-cert', 'the nginx default header');
        assert.equal(proxy.authenticatedByCertificate, false);
      }
    });
  }

  test('ok/a configured nginx header name is kept, lower-cased', () => {
    const trust = compileProxyTrust([{ address: '10.0.0.7', form: 'nginx', header: 'X-SSL-Client-Cert' }]);
    assert.equal(trustedProxyOf(from('10.0.0.7'), trust)?.header, 'x-ssl-client-cert');
  });

  const byCertificate: Array<[string, () => ProxyEntry, () => X509Certificate | undefined, boolean]> = [
    [
      'its pinned SHA-256 (base64url x5t#S256)',
      () => pin(proxyCert.raw.toString('base64url'), 'base64url'),
      () => proxyCert,
      true,
    ],
    [
      'its pinned SHA-256 (hex with colons, as openssl prints it)',
      () => pin(proxyCert.fingerprint256, 'hex'),
      () => proxyCert,
      true,
    ],
    [
      'another certificate than the pinned one',
      () => pin(proxyCert.fingerprint256, 'hex'),
      () => strangerCert,
      false,
    ],
    ['no client certificate at all', () => pin(proxyCert.fingerprint256, 'hex'), () => undefined, false],
    ['issued by its CA with the configured subject', () => caEntry(proxySubject), () => proxyCert, true],
    ['the configured subject from another CA', () => caEntry(proxySubject), () => strangerCert, false],
    ['its CA but another subject', () => caEntry('CN=someone-else'), () => proxyCert, false],
    ['a platform partner certificate', () => caEntry(proxySubject), () => pki.leaf, false],
  ];
  function pin(value: string, kind: 'base64url' | 'hex'): ProxyEntry {
    const thumbprint =
      kind === 'hex'
        ? value
        : Buffer.from(proxyCert.fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');
    return { address: '10.0.0.7', form: 'envoy-xfcc', clientCertSha256: [thumbprint] };
  }
  function caEntry(subject: string): ProxyEntry {
    return {
      address: '10.0.0.7',
      form: 'aws-alb',
      clientCertCaFile: '/proxy-ca.pem',
      clientCertSubject: subject,
    };
  }
  for (const [name, entry, peer, trusted] of byCertificate) {
    test(`${trusted ? 'ok' : 'fail'}/the right address presenting ${name} → ${trusted ? 'trusted' : 'ignored'}`, () => {
      const trust = compileProxyTrust([entry()], () => proxyCaPem);
      const proxy = trustedProxyOf(from('10.0.0.7', peer()), trust);
      assert.equal(proxy !== undefined, trusted);
      if (proxy) assert.equal(proxy.authenticatedByCertificate, true);
    });
  }

  test('fail/the pinned certificate from the wrong address → ignored', () => {
    const trust = compileProxyTrust([
      { address: '10.0.0.7', form: 'rfc9440', clientCertSha256: [proxyCert.fingerprint256] },
    ]);
    assert.equal(trustedProxyOf(from('10.0.0.8', proxyCert), trust), undefined);
  });

  test('fail/the pinned certificate after its notAfter → ignored', () => {
    const trust = compileProxyTrust([
      { address: '10.0.0.7', form: 'rfc9440', clientCertSha256: [proxyCert.fingerprint256] },
    ]);
    assert.equal(
      trustedProxyOf(from('10.0.0.7', proxyCert), trust, new Date(Date.now() + 400 * DAY)),
      undefined,
    );
  });

  test('ok/entries are tried in order: the first whose address and certificate match decides the form', () => {
    const trust = compileProxyTrust([
      { address: '10.0.0.0/24', form: 'envoy-xfcc', clientCertSha256: [proxyCert.fingerprint256] },
      { address: '10.0.0.0/24', form: 'nginx' },
    ]);
    assert.equal(trustedProxyOf(from('10.0.0.7', proxyCert), trust)?.form, 'envoy-xfcc');
    assert.equal(trustedProxyOf(from('10.0.0.7', strangerCert), trust)?.form, 'nginx');
  });

  test('fail/no proxies configured → nobody is trusted', () => {
    assert.equal(trustedProxyOf(from('127.0.0.1'), compileProxyTrust([])), undefined);
  });

  const problems: Array<[string, ProxyEntry, RegExp]> = [
    ['a host name', { address: 'proxy.internal', form: 'nginx' }, /address/],
    ['a CIDR prefix over 32', { address: '10.0.0.0/33', form: 'nginx' }, /prefix/],
    ['a CIDR prefix that is not a number', { address: '10.0.0.0/x', form: 'nginx' }, /prefix/],
    ['two slashes', { address: '10.0.0.0/8/8', form: 'nginx' }, /address/],
    ['an unknown form', { address: '10.0.0.1', form: 'haproxy' as ProxyEntry['form'] }, /form/],
    [
      'a header for a form other than nginx',
      { address: '10.0.0.1', form: 'rfc9440', header: 'X-Cert' },
      /only for form nginx/,
    ],
    [
      'a header that is not a field name',
      { address: '10.0.0.1', form: 'nginx', header: 'X Cert' },
      /field name/,
    ],
    [
      'a thumbprint that is not SHA-256',
      { address: '10.0.0.1', form: 'nginx', clientCertSha256: ['abcd'] },
      /thumbprints/,
    ],
    [
      'a CA file without a subject',
      { address: '10.0.0.1', form: 'nginx', clientCertCaFile: '/ca.pem' },
      /go together/,
    ],
    [
      'a subject without a CA file',
      { address: '10.0.0.1', form: 'nginx', clientCertSubject: 'CN=x' },
      /go together/,
    ],
  ];
  for (const [name, entry, reason] of problems) {
    test(`fail/config: ${name} → refused at start`, () => {
      assert.match(proxyEntryProblem(entry) ?? '', reason);
      assert.throws(() => compileProxyTrust([entry]), reason);
    });
  }

  test('fail/config: a CA file that holds no certificate → refused at start', () => {
    assert.throws(
      () =>
        compileProxyTrust(
          [{ address: '10.0.0.1', form: 'nginx', clientCertCaFile: '/empty.pem', clientCertSubject: 'CN=x' }],
          () => '',
        ),
      /holds no PEM certificate/,
    );
  });
});
