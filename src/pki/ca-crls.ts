import type { KeyObject } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { AppError } from '../shared/app-error.ts';
import type { Database, Tx } from '../storage/index.ts';
import { buildCrl, type CrlEntry } from './crl.ts';
import { loadIssuer } from './issuer.ts';
import { parseRevocationReason } from './revocation-reasons.ts';

const HOUR_MS = 3_600_000;

/** The error of every operation that needs the root key while it is kept offline. */
export function rootOffline(operation: string): AppError {
  return new AppError(
    'root_key_offline',
    409,
    `the root CA key is offline: ${operation} needs it; run a root key ceremony (\`accredit ca ceremony --root-key <file>\`)`,
  );
}

/** A root key brought in from outside must be the root certificate's key (RFC 5280 §4.1.2.7). */
export async function assertRootKey(rootCertPem: string, key: KeyObject): Promise<void> {
  try {
    await loadIssuer({ certPem: rootCertPem, privateKey: key }, 'ca');
  } catch {
    throw new AppError(
      'root_key_mismatch',
      400,
      'the key given is not the root CA certificate’s private key',
    );
  }
}

/**
 * Signs and stores the next CRL of one CA: CRL numbers strictly increase per CA (RFC 5280 §5.2.3), taken
 * one after another by concurrent publishers (PostgreSQL: the CA row is locked first).
 */
export async function storeNextCrl(
  tx: Tx,
  input: {
    signer: { id: string; certPem: string; privateKey: KeyObject };
    now: Date;
    validityHours: number;
    entries: (thisUpdate: Date) => Promise<CrlEntry[]>;
  },
): Promise<{ crlNumber: number; nextUpdate: Date }> {
  const { signer, now } = input;
  if (tx.engine === 'postgres') {
    await sql`SELECT id FROM certificate_authorities WHERE id = ${signer.id} FOR UPDATE`.execute(tx.db);
  }
  const last = await tx.db
    .selectFrom('crls')
    .select('crl_number')
    .where('ca_id', '=', signer.id)
    .orderBy('crl_number', 'desc')
    .limit(1)
    .executeTakeFirst();
  const crlNumber = Number(last?.crl_number ?? 0) + 1;
  const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + input.validityHours * HOUR_MS);
  const der = await buildCrl({
    issuer: signer,
    crlNumber,
    thisUpdate,
    nextUpdate,
    entries: await input.entries(thisUpdate),
  });
  await tx.db
    .insertInto('crls')
    .values({
      ca_id: signer.id,
      crl_number: crlNumber,
      this_update: thisUpdate.toISOString(),
      next_update: nextUpdate.toISOString(),
      der_base64: Buffer.from(der).toString('base64'),
      created_at: now.toISOString(),
    })
    .execute();
  return { crlNumber, nextUpdate };
}

/** The partner certificates one issuing CA revoked; RFC 5280 §3.3: an entry may leave once it has expired. */
export async function revokedPartnerEntries(tx: Tx, caId: string, thisUpdate: Date): Promise<CrlEntry[]> {
  const revoked = await tx.db
    .selectFrom('certificates')
    .select(['serial', 'revoked_at', 'revocation_reason'])
    .where('issuer_ca_id', '=', caId)
    .where('status', '=', 'revoked')
    .where('not_after', '>', thisUpdate.toISOString())
    .orderBy('serial')
    .execute();
  return revoked.map((r) => ({
    serialHex: r.serial,
    revokedAt: new Date(r.revoked_at ?? thisUpdate),
    reason: parseRevocationReason(r.revocation_reason ?? 'unspecified'),
  }));
}

/**
 * The issuing CA certificates the root revoked (compromise, or an operator's revocation) and not expired.
 * A retired CA is not listed: it is out of every bundle, and its certificate was never compromised.
 */
export async function revokedIssuingEntries(tx: Tx, thisUpdate: Date): Promise<CrlEntry[]> {
  const revoked = await tx.db
    .selectFrom('certificate_authorities')
    .select(['serial', 'status_changed_at', 'revocation_reason'])
    .where('kind', '=', 'issuing')
    .where('status', '=', 'revoked')
    .where('not_after', '>', thisUpdate.toISOString())
    .orderBy('serial')
    .execute();
  return revoked.map((r) => ({
    serialHex: r.serial,
    revokedAt: new Date(r.status_changed_at ?? thisUpdate),
    reason: parseRevocationReason(r.revocation_reason ?? 'unspecified'),
  }));
}

export async function latestCrlOf(
  db: Kysely<Database>,
  caId: string,
): Promise<{ der: Buffer; crlNumber: number; thisUpdate: string; nextUpdate: string } | undefined> {
  const row = await db
    .selectFrom('crls')
    .selectAll()
    .where('ca_id', '=', caId)
    .orderBy('crl_number', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    der: Buffer.from(row.der_base64, 'base64'),
    crlNumber: Number(row.crl_number),
    thisUpdate: row.this_update,
    nextUpdate: row.next_update,
  };
}
