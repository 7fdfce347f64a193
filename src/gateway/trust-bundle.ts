import { X509Certificate } from 'node:crypto';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parse(pem: string): X509Certificate[] {
  return (pem.match(PEM_BLOCK) ?? []).map((block) => new X509Certificate(block));
}

const selfSigned = (cert: X509Certificate) => cert.checkIssued(cert) && cert.verify(cert.publicKey);

/**
 * A CA bundle the feed delivered, accepted only under the root the gateway was configured with: a new trust
 * anchor is never taken from the network. Every other certificate must be a CA the root signed (RFC 5280
 * §4.2.1.9 cA). Returns the bundle to install, or why it was refused.
 */
export function checkFedTrustBundle(
  configuredPem: string,
  fedPem: string,
): { ok: true; bundle: string } | { ok: false; reason: string } {
  let configured: X509Certificate[];
  let fed: X509Certificate[];
  try {
    configured = parse(configuredPem);
    fed = parse(fedPem);
  } catch {
    return { ok: false, reason: 'the bundle holds a certificate that does not parse' };
  }
  const anchors = configured.filter(selfSigned);
  const roots = fed.filter(selfSigned);
  const [root] = roots;
  if (roots.length !== 1 || !root) return { ok: false, reason: 'the bundle must hold exactly one root' };
  if (!anchors.some((a) => a.raw.equals(root.raw))) {
    return { ok: false, reason: 'the bundle’s root is not the configured one' };
  }
  for (const cert of fed) {
    if (cert === root) continue;
    if (!cert.ca || !cert.checkIssued(root) || !cert.verify(root.publicKey)) {
      return { ok: false, reason: 'every other certificate must be a CA the root signed' };
    }
  }
  return { ok: true, bundle: fed.map((c) => `${c.toString().trim()}\n`).join('') };
}
