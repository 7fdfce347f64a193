import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { createCertificateResolver } from '../../src/authorization-server/client-certificate.ts';
import {
  buildPartnerCertificate,
  createIssuingCa,
  createRootCa,
  randomSerialHex,
} from '../../src/pki/index.ts';

const now = new Date();
const root = await createRootCa({ commonName: 'Root', now });
const issuing = await createIssuingCa({ parent: root, commonName: 'Issuing', now });

async function partner(clientId: string): Promise<X509Certificate> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const built = await buildPartnerCertificate({
    issuer: issuing,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId, orgId: 'org', orgName: 'Acme' },
    serialHex: randomSerialHex(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 86_400_000),
    crlUrl: 'https://platform.example/crl',
  });
  return new X509Certificate(built.certPem);
}

/** A TLS connection whose peer certificate the test controls, counting how often it is read. */
function connection(protocol: string, first: X509Certificate) {
  const state = { cert: first, reads: 0 };
  const socket = {
    remoteAddress: '192.0.2.10',
    authorized: true,
    getProtocol: () => protocol,
    getPeerX509Certificate: () => {
      state.reads++;
      return state.cert;
    },
  };
  const request = () => ({ socket, headers: {} }) as unknown as IncomingMessage;
  return { state, request };
}

const resolver = createCertificateResolver({
  trustedProxies: [],
  trustedCas: [issuing.certPem, root.certPem],
});

test('ok/TLS 1.3: the peer certificate is read and hashed once per connection, for every request it carries', async () => {
  const a = await partner('cl_a');
  const conn = connection('TLSv1.3', a);
  const first = resolver(conn.request(), now);
  const second = resolver(conn.request(), now);
  assert.ok(first && !('refused' in first));
  assert.equal(second, first);
  assert.equal(conn.state.reads, 1);
  assert.equal(first.cert.fingerprint256, a.fingerprint256);
  // Another connection has its own.
  const other = connection('TLSv1.3', await partner('cl_b'));
  const resolved = resolver(other.request(), now);
  assert.ok(resolved && !('refused' in resolved));
  assert.notEqual(resolved.x5t, first.x5t);
});

test('fail/TLS 1.2: a renegotiated certificate is never answered with the one read before', async () => {
  const a = await partner('cl_a');
  const b = await partner('cl_b');
  const conn = connection('TLSv1.2', a);
  const first = resolver(conn.request(), now);
  conn.state.cert = b;
  const second = resolver(conn.request(), now);
  assert.ok(first && !('refused' in first) && second && !('refused' in second));
  assert.equal(conn.state.reads, 2);
  assert.notEqual(second.x5t, first.x5t);
  assert.equal(second.cert.fingerprint256, b.fingerprint256);
});
