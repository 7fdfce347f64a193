import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { kitMaterial } from '../../src/cli/edge/kit-material.ts';
import { nginxAuthRequestConf, nginxGatewayConf } from '../../src/cli/edge/render-nginx.ts';
import { replaceChanged } from '../../src/cli/edge/replace-files.ts';
import type { CheckedChain } from '../../src/pki/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'accredit-edge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('ok/only changed files are replaced, by rename, world-readable, leaving no temporary file', () => {
  const kit = join(dir, 'kit');
  assert.deepEqual(replaceChanged(kit, { 'a.pem': 'one', 'b.crl': Buffer.from([1, 2]) }), {
    changed: ['a.pem', 'b.crl'],
    unchanged: [],
  });
  const inode = statSync(join(kit, 'a.pem')).ino;
  assert.deepEqual(replaceChanged(kit, { 'a.pem': 'one', 'b.crl': Buffer.from([1, 3]) }), {
    changed: ['b.crl'],
    unchanged: ['a.pem'],
  });
  // Unchanged: the very same file (nginx re-reads nothing); changed: a new file renamed into place.
  assert.equal(statSync(join(kit, 'a.pem')).ino, inode);
  assert.deepEqual(readFileSync(join(kit, 'b.crl')), Buffer.from([1, 3]));
  assert.equal(statSync(join(kit, 'b.crl')).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(kit).sort(), ['a.pem', 'b.crl']);
  writeFileSync(join(kit, 'a.pem'), 'edited');
  assert.deepEqual(replaceChanged(kit, { 'a.pem': 'one' }).changed, ['a.pem']);
});

test('ok/kit material per edge: nginx and envoy get the CRL chain, aws the truststore', () => {
  const chain: CheckedChain = {
    rootPem: 'ROOT\n',
    intermediatePems: ['ISSUING\n'],
    crls: [
      {
        level: 'root',
        issuer: 'CN=R',
        crlNumber: 1,
        thisUpdate: new Date(0),
        nextUpdate: new Date(1),
        revoked: 0,
        der: Buffer.from([1]),
        pem: 'RCRL\n',
      },
      {
        level: 'issuing',
        issuer: 'CN=I',
        crlNumber: 2,
        thisUpdate: new Date(0),
        nextUpdate: new Date(1),
        revoked: 1,
        der: Buffer.from([2]),
        pem: 'ICRL\n',
      },
    ],
  };
  const nginx = kitMaterial('nginx', 'BUNDLE\n', chain);
  assert.deepEqual(Object.keys(nginx).sort(), [
    'ca-bundle.pem',
    'client-ca-bundle.pem',
    'crl-chain.pem',
    'issuing-ca.crl',
    'issuing-ca.crl.pem',
    'root-ca.crl',
    'root-ca.crl.pem',
  ]);
  assert.equal(nginx['crl-chain.pem'], 'RCRL\nICRL\n');
  assert.ok('crl-chain.pem' in kitMaterial('envoy', 'BUNDLE\n', chain));
  const aws = kitMaterial('aws', 'BUNDLE\n', chain);
  assert.equal(aws['truststore.pem'], 'ROOT\nISSUING\n');
  assert.equal('crl-chain.pem' in aws, false);
  // Bring your own CA: organisations' CAs join the client bundle (nginx, Envoy) or truststore (aws), their CRLs
  // the CRL chain; the platform bundle itself is unchanged.
  const external = { caPems: ['BANKCA\n'], crlsPem: 'BANKCRL\n' };
  const withBank = kitMaterial('nginx', 'BUNDLE\n', chain, external);
  assert.equal(withBank['ca-bundle.pem'], 'BUNDLE\n');
  assert.equal(withBank['client-ca-bundle.pem'], 'BUNDLE\nBANKCA\n');
  assert.equal(withBank['crl-chain.pem'], 'RCRL\nICRL\nBANKCRL\n');
  assert.equal(kitMaterial('aws', 'BUNDLE\n', chain, external)['truststore.pem'], 'ROOT\nISSUING\nBANKCA\n');
});

test('ok/nginx configurations: every forwarded-certificate header a client could send is cleared', () => {
  const settings = {
    dir: '/etc/accredit/kit',
    serverName: 'api.example.com',
    listenPort: 443,
    tlsCert: '/etc/nginx/tls/server.pem',
    tlsKey: '/etc/nginx/tls/server.key',
    gatewayUrl: 'https://gw.internal:9443',
    decisionUrl: 'https://gw.internal:9443',
    upstreamUrl: 'http://127.0.0.1:8080',
    clientCertHeader: 'X-Client-Cert',
    platformUrl: 'https://accredit.example',
  };
  const gateway = nginxGatewayConf(settings);
  for (const header of [
    'Client-Cert',
    'Client-Cert-Chain',
    'X-Forwarded-Client-Cert',
    'X-Amzn-Mtls-Clientcert',
  ]) {
    assert.match(gateway, new RegExp(`proxy_set_header ${header} "";`));
  }
  assert.match(gateway, /proxy_set_header X-Client-Cert \$ssl_client_escaped_cert;/);
  assert.doesNotMatch(gateway, /proxy_set_header X-Client-Cert "";/);
  assert.match(gateway, /proxy_ssl_verify on;/);
  const authRequest = nginxAuthRequestConf(settings);
  assert.match(authRequest, /proxy_pass https:\/\/gw\.internal:9443\/auth_request;/);
  assert.match(authRequest, /auth_request_set \$accredit_client_id \$upstream_http_x_accredit_client_id;/);
  assert.match(authRequest, /proxy_set_header x-accredit-client-id \$accredit_client_id;/);
  assert.match(authRequest, /proxy_set_header x-accredit-gateway-secret "";/);
  assert.match(authRequest, /proxy_set_header Authorization "";/);
});
