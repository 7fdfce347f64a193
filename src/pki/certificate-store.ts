import type { Kysely } from 'kysely';
import type { Database } from '../storage/index.ts';

/** What another role may read of a certificate the platform issued. */
export interface CertificateRecord {
  serial: string;
  client_id: string;
  org_id: string;
  subject: string;
  status: Database['certificates']['status'];
  /** The first successful token request with it (null: never used yet). */
  first_used_at: string | null;
  not_before: string;
  not_after: string;
}

/**
 * The PKI's tables as other roles may read them, bound to one database handle or transaction: the only way
 * another role learns about certificate authorities and the certificates the platform issued.
 */
export function certificateStore(db: Kysely<Database>) {
  return {
    /** The certificate the platform issued with this SHA-256 thumbprint (RFC 8705 §3.1 `x5t#S256`), if any. */
    async byThumbprint(x5tS256: string): Promise<CertificateRecord | undefined> {
      return db
        .selectFrom('certificates')
        .select([
          'serial',
          'client_id',
          'org_id',
          'subject',
          'status',
          'first_used_at',
          'not_before',
          'not_after',
        ])
        .where('x5t_s256', '=', x5tS256)
        .executeTakeFirst();
    },

    /**
     * Records the first successful token request with a certificate, once: a renewed predecessor is revoked
     * as superseded a drain delay after its successor's first use.
     */
    async recordFirstUse(x5tS256: string, now: Date): Promise<void> {
      await db
        .updateTable('certificates')
        .set({ first_used_at: now.toISOString() })
        .where('x5t_s256', '=', x5tS256)
        .where('first_used_at', 'is', null)
        .execute();
    },

    /** The exact RFC 4514 subject of the newest active certificate the platform issued to the application. */
    async newestActiveSubject(clientId: string): Promise<string | undefined> {
      const cert = await db
        .selectFrom('certificates')
        .select('subject')
        .where('client_id', '=', clientId)
        .where('status', '=', 'active')
        .orderBy('created_at', 'desc')
        .orderBy('serial', 'desc')
        .limit(1)
        .executeTakeFirst();
      return cert?.subject;
    },

    /** The organisation's active certificates not expired at `now`, with the application each was issued to. */
    async activeOfOrganisation(orgId: string, now: Date): Promise<{ client_id: string; subject: string }[]> {
      return db
        .selectFrom('certificates')
        .select(['client_id', 'subject'])
        .where('org_id', '=', orgId)
        .where('status', '=', 'active')
        .where('not_after', '>', now.toISOString())
        .execute();
    },

    /** Every certificate not expired at `now`, active or revoked: what an enforcement point's snapshot holds. */
    async unexpired(
      now: Date,
    ): Promise<
      { x5t_s256: string; client_id: string; status: Database['certificates']['status']; not_after: string }[]
    > {
      return db
        .selectFrom('certificates')
        .select(['x5t_s256', 'client_id', 'status', 'not_after'])
        .where('not_after', '>', now.toISOString())
        .execute();
    },

    /** The subjects of the platform's certificate authorities (none before `accredit init`). */
    async authoritySubjects(): Promise<{ root: string | undefined; issuing: string | undefined }> {
      const rows = await db.selectFrom('certificate_authorities').select(['kind', 'subject']).execute();
      return {
        root: rows.find((r) => r.kind === 'root')?.subject,
        issuing: rows.find((r) => r.kind === 'issuing')?.subject,
      };
    },

    async hasAuthorities(): Promise<boolean> {
      return (await db.selectFrom('certificate_authorities').select('id').executeTakeFirst()) !== undefined;
    },
  };
}

export type CertificateStore = ReturnType<typeof certificateStore>;
