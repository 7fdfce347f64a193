import type { Kysely } from 'kysely';
import { CHANGE_KINDS, changesOfKind, type Database } from '../storage/index.ts';

/** A revoked access token id with the token's exp (RFC 7519 NumericDate) when the revocation recorded it. */
export interface RevokedTokenView {
  jti: string;
  exp: number | null;
  at: string;
}

/**
 * The access tokens revoked up to `seq` (RFC 7009) that may still be presented: a token's revocation is
 * recorded only as its change-feed entry, so this reads those entries, dropping ones long past their exp.
 */
export async function revokedTokenSnapshot(
  db: Kysely<Database>,
  seq: number,
  now: Date,
  graceMs: number,
): Promise<RevokedTokenView[]> {
  const out: RevokedTokenView[] = [];
  for (const change of await changesOfKind(db, CHANGE_KINDS.tokenRevoked, seq)) {
    const { jti: claimed, exp: recorded } = change.payload;
    const jti = typeof claimed === 'string' && claimed.length > 0 ? claimed : change.entityId;
    const exp = typeof recorded === 'number' && Number.isFinite(recorded) ? recorded : null;
    if (exp !== null && exp * 1000 < now.getTime() - graceMs) continue;
    out.push({ jti, exp, at: change.at });
  }
  return out;
}
