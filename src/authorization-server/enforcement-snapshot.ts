import type { Kysely } from 'kysely';
import { CHANGE_KINDS, type Database } from '../storage/index.ts';

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
  const rows = await db
    .selectFrom('change_feed')
    .select(['entity_id', 'payload', 'at'])
    .where('kind', '=', CHANGE_KINDS.tokenRevoked)
    .where('seq', '<=', seq)
    .execute();
  const out: RevokedTokenView[] = [];
  for (const row of rows) {
    const payload = JSON.parse(row.payload) as { jti?: unknown; exp?: unknown };
    const jti = typeof payload.jti === 'string' && payload.jti.length > 0 ? payload.jti : row.entity_id;
    const exp = typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : null;
    if (exp !== null && exp * 1000 < now.getTime() - graceMs) continue;
    out.push({ jti, exp, at: row.at });
  }
  return out;
}
