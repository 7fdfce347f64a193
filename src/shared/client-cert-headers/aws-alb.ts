import { MAX_CHAIN_CERTIFICATES, oversized } from './limits.ts';
import { certificatesFromPem, percentDecoded } from './pem-certificates.ts';
import type { ParseResult } from './types.ts';

export const ALB_CHAIN_HEADER = 'x-amzn-mtls-clientcert';
export const ALB_LEAF_HEADER = 'x-amzn-mtls-clientcert-leaf';

/**
 * AWS Application Load Balancer mutual TLS. Passthrough mode sends `X-Amzn-Mtls-Clientcert`: the whole chain
 * the client presented (leaf first, as in the TLS Certificate message), URL-encoded PEM with `+`, `=` and `/`
 * left as they are — so `+` is a literal plus here, never a space. Verify mode sends the leaf alone in
 * `X-Amzn-Mtls-Clientcert-Leaf`, same encoding. When both arrive they must name the same leaf.
 */
export function parseAwsAlb(chainValue: string | undefined, leafValue: string | undefined): ParseResult {
  const chain = chainValue === undefined ? undefined : decodePem(ALB_CHAIN_HEADER, chainValue);
  if (typeof chain === 'string') return { refused: chain };
  const leafOnly = leafValue === undefined ? undefined : decodePem(ALB_LEAF_HEADER, leafValue);
  if (typeof leafOnly === 'string') return { refused: leafOnly };
  if (leafOnly && leafOnly.length !== 1)
    return { refused: `${ALB_LEAF_HEADER} must hold exactly one certificate` };
  const leaf = chain?.[0] ?? leafOnly?.[0];
  if (!leaf) return { refused: `neither ${ALB_CHAIN_HEADER} nor ${ALB_LEAF_HEADER} holds a certificate` };
  if (leafOnly?.[0] && !leafOnly[0].raw.equals(leaf.raw)) {
    return { refused: `${ALB_CHAIN_HEADER} and ${ALB_LEAF_HEADER} name different certificates` };
  }
  return { leaf, chain: chain?.slice(1) ?? [], source: 'aws-alb' };
}

function decodePem(header: string, value: string) {
  const tooLarge = oversized(header, value);
  if (tooLarge) return tooLarge;
  const pem = percentDecoded(value);
  if (pem === undefined) return `${header} is not URL-encoded PEM (bad %-escape)`;
  return certificatesFromPem(pem, header, 1 + MAX_CHAIN_CERTIFICATES);
}
