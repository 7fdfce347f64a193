import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { createGateway, type ForwardedCertificate, type Gateway } from '../../../src/gateway/index.ts';
import { call, capturingLogger } from '../fixture.ts';
import { AUDIENCE, type DoorEnv, doorEnv, ISSUER, ROUTES } from './door-fixture.ts';

/** The own gateway behind a TLS-terminating proxy: the certificate comes from headers, only from trusted proxies. */

let env: DoorEnv;
const gateways: Gateway[] = [];
before(async () => {
  env = await doorEnv();
});
after(async () => {
  for (const g of gateways) await g.close();
  await env?.close();
});

// Stands in for the real header reader (src/shared/client-cert-headers): the test's own header.
function fromTestHeader(req: IncomingMessage): ForwardedCertificate | undefined | 'refused' {
  const value = req.headers['x-test-client-cert'];
  if (typeof value !== 'string') return undefined;
  if (value === 'garbage') return 'refused';
  return { leaf: new X509Certificate(decodeURIComponent(value)), chain: [], source: 'rfc9440' };
}

async function gatewayWith(trustedProxies: string[] | undefined): Promise<Gateway> {
  const { logger } = capturingLogger();
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    publicUrl: AUDIENCE,
    tls: { ...env.tls, ca: env.ca.chainPem },
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: env.jwksUrl,
    jwksCa: env.ca.chainPem,
    liveness: env.liveness,
    routes: ROUTES,
    upstream: env.upstreamUrl,
    logger,
    ...(trustedProxies ? { trustedProxies } : {}),
    certificateFromHeaders: fromTestHeader,
  });
  gateways.push(gateway);
  return gateway;
}

const token = () =>
  env.minter.sign(
    env.minter.claims(env.reader.clientId, env.reader.orgId, env.reader.cred.x5tS256, 'accounts:read'),
  );

test('ok/from a trusted proxy, the forwarded certificate is the client’s (bound token admitted)', async () => {
  const gateway = await gatewayWith(['127.0.0.0/8']);
  const res = await call(env.edge, gateway.url, '/v1/accounts', {
    token: await token(),
    headers: { 'x-test-client-cert': encodeURIComponent(env.reader.cred.certPem) },
  });
  assert.equal(res.status, 200, res.text);
});

test('fail/from a trusted proxy, the forwarded revoked certificate is refused like a TLS peer', async () => {
  const gateway = await gatewayWith(['127.0.0.1']);
  const revokedToken = await env.minter.sign(
    env.minter.claims(env.revoked.clientId, env.revoked.orgId, env.revoked.cred.x5tS256, 'accounts:read'),
  );
  const res = await call(env.edge, gateway.url, '/v1/accounts', {
    token: revokedToken,
    headers: { 'x-test-client-cert': encodeURIComponent(env.revoked.cred.certPem) },
  });
  assert.equal(res.status, 403);
  assert.equal(res.json.code, 'certificate_revoked');
});

test('fail/from a trusted proxy, an unreadable certificate header is refused', async () => {
  const gateway = await gatewayWith(['127.0.0.1']);
  const res = await call(env.edge, gateway.url, '/v1/accounts', {
    token: await token(),
    headers: { 'x-test-client-cert': 'garbage' },
  });
  assert.equal(res.status, 403);
  assert.equal(res.json.code, 'certificate_untrusted');
});

test('fail/from anyone else, the header is ignored: the TLS peer (none here) decides', async () => {
  const gateway = await gatewayWith(['192.0.2.1']);
  const res = await call(env.edge, gateway.url, '/v1/accounts', {
    token: await token(),
    headers: { 'x-test-client-cert': encodeURIComponent(env.reader.cred.certPem) },
  });
  assert.equal(res.status, 403);
  assert.equal(res.json.code, 'client_certificate_required');
});

test('fail/without trusted proxies configured, the seam is never consulted', async () => {
  const gateway = await gatewayWith(undefined);
  const res = await call(env.edge, gateway.url, '/v1/accounts', {
    token: await token(),
    headers: { 'x-test-client-cert': encodeURIComponent(env.reader.cred.certPem) },
  });
  assert.equal(res.status, 403);
});

test('fail/a trusted proxy entry that is not an address stops the gateway at boot', async () => {
  await assert.rejects(gatewayWith(['proxy.example']), /trustedProxies/);
});
