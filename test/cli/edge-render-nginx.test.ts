import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EdgeSettings } from '../../src/cli/edge/edge-settings.ts';
import { nginxAuthRequestConf, nginxGatewayConf } from '../../src/cli/edge/render-nginx.ts';

const settings: EdgeSettings = {
  dir: '/etc/nginx/accredit',
  serverName: 'api.example.com',
  listenPort: 443,
  tlsCert: '/etc/nginx/tls/server.pem',
  tlsKey: '/etc/nginx/tls/server.key',
  gatewayUrl: 'https://accredit.internal:9443',
  decisionUrl: 'https://accredit.internal:9445',
  upstreamUrl: 'http://127.0.0.1:8080',
  clientCertHeader: 'X-Client-Cert',
  platformUrl: 'https://accredit.internal:8443',
};
const withProxyCert = {
  ...settings,
  proxyCert: '/etc/nginx/tls/edge.pem',
  proxyKey: '/etc/nginx/tls/edge.key',
};
const active = (conf: string) =>
  conf
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

test('ok/nginx’s own certificate, when given, is presented to the gateway and the decision door', () => {
  for (const conf of [nginxGatewayConf(withProxyCert), nginxAuthRequestConf(withProxyCert)]) {
    const lines = active(conf);
    assert.ok(lines.includes('proxy_ssl_certificate     /etc/nginx/tls/edge.pem;'), conf);
    assert.ok(lines.includes('proxy_ssl_certificate_key /etc/nginx/tls/edge.key;'), conf);
    // The secret is the alternative for callers without a certificate: not suggested next to one.
    assert.doesNotMatch(conf, /X-Accredit-Decision-Secret/);
  }
});

test('fail/without one, nothing is presented and the auth_request file says how the door must be called', () => {
  for (const conf of [nginxGatewayConf(settings), nginxAuthRequestConf(settings)]) {
    assert.ok(!active(conf).some((l) => l.startsWith('proxy_ssl_certificate')), conf);
    assert.match(conf, /# proxy_ssl_certificate {5}\/etc\/nginx\/tls\/accredit-proxy\.pem;/);
  }
  assert.match(
    nginxAuthRequestConf(settings),
    /# proxy_set_header X-Accredit-Decision-Secret "<content of decision\.secretFile>";/,
  );
});
