import type { CheckedChain } from '../../pki/index.ts';
import type { KitFiles } from './replace-files.ts';

export const EDGE_TARGETS = ['nginx', 'aws', 'envoy'] as const;
export type EdgeTarget = (typeof EDGE_TARGETS)[number];

/** The names the generated configurations refer to; `edge sync` rewrites exactly these. */
export const KIT = {
  bundle: 'ca-bundle.pem',
  /** What client certificates may chain to: the platform's CAs, then organisations' registered CAs. */
  clientBundle: 'client-ca-bundle.pem',
  truststore: 'truststore.pem',
  crlChain: 'crl-chain.pem',
  manifest: 'accredit-edge.json',
} as const;

const crlBase = (level: 'root' | 'issuing', index: number) =>
  level === 'root' ? 'root-ca' : index === 0 ? 'issuing-ca' : `issuing-ca-${index + 1}`;

/**
 * The certificates and CRLs an edge needs, from a checked chain: the CA bundle as the platform serves it
 * (issuing then root: nginx `ssl_client_certificate`, Envoy `trusted_ca`), every CRL in DER and PEM, and
 * per edge what it reads: one concatenated PEM of all CRLs (nginx `ssl_crl`, Envoy `crl`, which want a CRL
 * for every level of the chain), or for AWS the API Gateway truststore (root and issuing CA, PEM).
 */
export function kitMaterial(
  target: EdgeTarget,
  bundlePem: string,
  chain: CheckedChain,
  external: { caPems: readonly string[]; crlsPem: string } = { caPems: [], crlsPem: '' },
): KitFiles {
  // Bring your own CA: the edge accepts their certificates at the handshake (with their CRLs, which nginx and
  // Envoy demand for every CA once given any) and asks the decision point, which scopes each to its organisation.
  const files: KitFiles = {
    [KIT.bundle]: bundlePem,
    [KIT.clientBundle]: `${bundlePem.trimEnd()}\n${external.caPems.join('')}`,
  };
  let issuing = 0;
  for (const crl of chain.crls) {
    const base = crlBase(crl.level, crl.level === 'issuing' ? issuing++ : 0);
    files[`${base}.crl`] = crl.der;
    files[`${base}.crl.pem`] = crl.pem;
  }
  if (target === 'aws') {
    files[KIT.truststore] = [chain.rootPem, ...chain.intermediatePems, ...external.caPems].join('');
  } else {
    files[KIT.crlChain] = chain.crls.map((c) => c.pem).join('') + external.crlsPem;
  }
  return files;
}
