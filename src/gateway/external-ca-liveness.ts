import { createHash, X509Certificate } from 'node:crypto';
import type { SnapshotExternalCa } from './feed-protocol.ts';

/** An organisation's registered CA as the decision core uses it, parsed once when the feed delivers it. */
export interface ExternalCaLiveness {
  id: string;
  orgId: string;
  cert: X509Certificate;
  /** The CA certificate's key is the one the platform pinned at registration. */
  pinMatches: boolean;
  revokedSerials: ReadonlySet<string>;
  /** NaN when the CA's CRL was never fetched: stale from the start (fail closed). */
  staleAfterMs: number;
}

/** Parses one snapshot or feed entry; an unreadable certificate yields a CA that never matches its pin. */
export function externalCaLiveness(ca: SnapshotExternalCa): ExternalCaLiveness {
  const cert = new X509Certificate(ca.certificatePem);
  const pin = createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
  return {
    id: ca.id,
    orgId: ca.orgId,
    cert,
    pinMatches: pin === ca.spkiSha256,
    revokedSerials: new Set(ca.revokedSerials),
    staleAfterMs: ca.staleAfter === null ? Number.NaN : Date.parse(ca.staleAfter),
  };
}
