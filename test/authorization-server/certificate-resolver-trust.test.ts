import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { createCertificateResolver } from '../../src/authorization-server/client-certificate.ts';
import {
  buildPartnerCertificate,
  type CaMaterial,
  createIssuingCa,
  createRootCa,
  pemToDer,
  randomSerialHex,
} from '../../src/pki/index.ts';

const now = new Date();
const root = await createRootCa({ commonName: 'Root', now });
const ca1 = await createIssuingCa({ parent: root, commonName: 'Issuing 1', now });
const ca2 = await createIssuingCa({ parent: root, commonName: 'Issuing 2', now });

async function partnerOf(issuer: CaMaterial) {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return buildPartnerCertificate({
    issuer,
    publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    subject: { clientId: 'cl_a', orgId: 'org', orgName: 'Acme' },
    serialHex: randomSerialHex(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 86_400_000),
    crlUrl: 'https://platform.example/crl',
  });
}

/** A request forwarded by the trusted proxy (RFC 9440 §2.2 Client-Cert: the leaf alone, no chain). */
const forwarded = (certPem: string) =>
  ({
    socket: { remoteAddress: '127.0.0.1' },
    headers: { 'client-cert': `:${pemToDer(certPem, 'CERTIFICATE').toString('base64')}:` },
  }) as unknown as IncomingMessage;

test('ok/a forwarded certificate of a new issuing CA chains once the trust list changes; fail/before', async () => {
  let trusted: readonly string[] = [ca1.certPem, root.certPem];
  const resolver = createCertificateResolver({ trustedProxies: ['127.0.0.1'], trustedCas: () => trusted });
  const resolve = (req: IncomingMessage, at: Date) => {
    const resolved = resolver(req, at);
    assert.ok(resolved && !('refused' in resolved), JSON.stringify(resolved));
    return resolved;
  };
  const old = await partnerOf(ca1);
  const fresh = await partnerOf(ca2);
  assert.equal(resolve(forwarded(old.certPem), now).chainTrusted, true);
  assert.equal(resolve(forwarded(fresh.certPem), now).chainTrusted, false, 'CA 2 is not trusted yet');

  trusted = [ca2.certPem, ca1.certPem, root.certPem];
  assert.equal(resolve(forwarded(fresh.certPem), now).chainTrusted, true);
  assert.equal(resolve(forwarded(old.certPem), now).chainTrusted, true, 'the retiring CA stays trusted');

  trusted = [ca2.certPem, root.certPem];
  assert.equal(resolve(forwarded(old.certPem), now).chainTrusted, false, 'a retired CA is trusted no more');
});
