import type { X509Certificate } from 'node:crypto';
import { type Item, parseItem, parseList } from 'structured-headers';
import { oversized, tooManyCertificates } from './limits.ts';
import { certificateFromDer } from './pem-certificates.ts';
import type { ParseResult } from './types.ts';

/** An RFC 8941 Byte Sequence item's bytes (parameters, which RFC 9440 defines none of, are ignored per §2). */
function byteSequence(item: Item): Uint8Array | undefined {
  const [value] = item;
  return value instanceof ArrayBuffer ? new Uint8Array(value) : undefined;
}

/**
 * RFC 9440 §2: `Client-Cert` is an RFC 8941 Byte Sequence (`:<base64 DER>:`), `Client-Cert-Chain` a List of
 * them (the certificates that sign the leaf, leaf excluded, in order). Parsed with `structured-headers`, so
 * a value that is not exactly the RFC 8941 grammar (two Client-Cert fields joined by a comma, say) is refused.
 */
export function parseRfc9440(clientCert: string, clientCertChain: string | undefined): ParseResult {
  const tooLarge =
    oversized('Client-Cert', clientCert) ?? oversized('Client-Cert-Chain', clientCertChain ?? '');
  if (tooLarge) return { refused: tooLarge };
  let item: Item;
  try {
    item = parseItem(clientCert);
  } catch {
    return { refused: 'Client-Cert is not an RFC 8941 Byte Sequence (RFC 9440 §2.1)' };
  }
  const der = byteSequence(item);
  if (!der) return { refused: 'Client-Cert is not an RFC 8941 Byte Sequence (RFC 9440 §2.1)' };
  const leaf = certificateFromDer(der);
  if (!leaf) return { refused: 'Client-Cert is not a DER X.509 certificate' };
  const chain: X509Certificate[] = [];
  if (clientCertChain !== undefined) {
    let members: ReturnType<typeof parseList>;
    try {
      members = parseList(clientCertChain);
    } catch {
      return { refused: 'Client-Cert-Chain is not an RFC 8941 List of Byte Sequences (RFC 9440 §2.2)' };
    }
    const tooMany = tooManyCertificates('Client-Cert-Chain', members.length);
    if (tooMany) return { refused: tooMany };
    for (const member of members) {
      // An Inner List is a List member too, but not one RFC 9440 allows.
      const bytes = Array.isArray(member[0]) ? undefined : byteSequence(member as Item);
      if (!bytes) {
        return { refused: 'Client-Cert-Chain is not an RFC 8941 List of Byte Sequences (RFC 9440 §2.2)' };
      }
      const cert = certificateFromDer(bytes);
      if (!cert) return { refused: 'Client-Cert-Chain holds a value that is not a DER X.509 certificate' };
      chain.push(cert);
    }
  }
  return { leaf, chain, source: 'rfc9440' };
}
