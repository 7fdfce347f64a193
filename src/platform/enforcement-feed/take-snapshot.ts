import { revokedTokenSnapshot } from '../../authorization-server/index.ts';
import { directoryEnforcementSnapshot } from '../../directory/index.ts';
import type { LivenessSnapshot } from '../../gateway/index.ts';
import { externalCaEnforcementSnapshot, pkiEnforcementSnapshot, trustBundle } from '../../pki/index.ts';
import type { Storage } from '../../storage/index.ts';

// A revoked jti stays listed this long past its token's exp, as the gateway keeps it (clock tolerance).
const REVOKED_TOKEN_GRACE_MS = 300_000;

/**
 * One snapshot composed of what each role owns. `seq` is read first: every row read after it reflects at
 * least the changes up to `seq`, and changes after it are sent as deltas (re-applying one is harmless).
 */
export async function takeEnforcementSnapshot(storage: Storage, now: Date): Promise<LivenessSnapshot> {
  const seq = await storage.feed.currentSeq();
  const [directory, certificates, revokedTokens, externalCas, bundle] = await Promise.all([
    directoryEnforcementSnapshot(storage.db),
    pkiEnforcementSnapshot(storage.db, now),
    revokedTokenSnapshot(storage.db, seq, now, REVOKED_TOKEN_GRACE_MS),
    externalCaEnforcementSnapshot(storage.db),
    trustBundle(storage.db),
  ]);
  return {
    seq,
    organisations: directory.organisations,
    applications: directory.applications,
    certificates,
    revokedTokens,
    routes: directory.routes,
    externalCas,
    trustBundle: bundle,
    rateLimits: directory.rateLimits,
  };
}
