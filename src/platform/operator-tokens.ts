import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import type { Database, Tx } from '../storage/index.ts';

const PREFIX = 'acc_op_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A 256-bit random bearer token; only its SHA-256 is stored, so a database leak does not leak operator access. */
export async function createOperatorToken(
  tx: Tx,
  name: string,
  meta: { actor: string; now: Date },
): Promise<string> {
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  await tx.db
    .insertInto('operator_tokens')
    .values({
      id,
      name,
      token_hash: hashToken(token),
      created_at: meta.now.toISOString(),
      last_used_at: null,
      revoked_at: null,
    })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'operator_token.create',
      targetType: 'operator_token',
      targetId: id,
      details: { name },
    },
    meta.now,
  );
  return token;
}

export async function findOperator(
  db: Kysely<Database>,
  token: string,
): Promise<{ id: string; name: string } | undefined> {
  if (!token.startsWith(PREFIX) || token.length > 100) return undefined;
  // Lookup by hash of a 256-bit secret: nothing about the token leaks through timing of the comparison.
  const row = await db
    .selectFrom('operator_tokens')
    .select(['id', 'name'])
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row;
}
