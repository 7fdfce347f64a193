import { importJWK, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/index.ts';

/** The algorithms the directory signs software statements with (RFC 7591 §2.3 leaves the choice to us). */
export const STATEMENT_ALGORITHMS = ['ES256', 'PS256'] as const;

export interface StatementKey {
  kid: string;
  alg: string;
  key: Awaited<ReturnType<typeof importJWK>>;
}

/**
 * The directory's software statement keys that may have signed a statement still young enough to register
 * with: the active ones, and a retired one only within `maxAgeSeconds` of its retirement (a statement it
 * signed is stale after that anyway). Revoked keys never count. Read per request: registrations are rare
 * and a revocation then takes effect at once.
 */
export async function loadStatementKeys(
  db: Kysely<Database>,
  now: Date,
  maxAgeSeconds: number,
): Promise<Map<string, StatementKey>> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['kid', 'alg', 'public_jwk', 'status', 'retired_at'])
    .where('purpose', '=', 'software_statement')
    .where('status', 'in', ['active', 'retired'])
    .execute();
  const oldestRetirement = now.getTime() - maxAgeSeconds * 1000;
  const keys = new Map<string, StatementKey>();
  for (const row of rows) {
    if (row.status === 'retired' && !(row.retired_at && Date.parse(row.retired_at) >= oldestRetirement))
      continue;
    if (!(STATEMENT_ALGORITHMS as readonly string[]).includes(row.alg)) continue;
    const jwk = JSON.parse(row.public_jwk) as JWK;
    keys.set(row.kid, { kid: row.kid, alg: row.alg, key: await importJWK(jwk, row.alg) });
  }
  return keys;
}
