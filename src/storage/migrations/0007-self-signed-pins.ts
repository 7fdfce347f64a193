import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

function thumbprints(metadataJson: string): string[] {
  let metadata: unknown;
  try {
    metadata = JSON.parse(metadataJson);
  } catch {
    return [];
  }
  const keys = (metadata as { jwks?: { keys?: unknown } } | null)?.jwks?.keys;
  if (!Array.isArray(keys)) return [];
  const out: string[] = [];
  for (const key of keys) {
    const x5c = (key as { x5c?: unknown } | null)?.x5c;
    if (Array.isArray(x5c) && typeof x5c[0] === 'string') {
      out.push(createHash('sha256').update(Buffer.from(x5c[0], 'base64')).digest('base64url'));
    }
  }
  return out;
}

/**
 * A registered self-signed client certificate (RFC 8705 §2.2) belongs to exactly one live client: the primary
 * key makes a second registration of the same certificate fail atomically, on both engines. Existing clients
 * are pinned in creation order; a certificate already pinned by an earlier client is left to that one.
 */
export const selfSignedPinsMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .createTable('self_signed_pins')
      .addColumn('x5t_s256', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull().references('applications.client_id'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('self_signed_pins_client_idx')
      .on('self_signed_pins')
      .column('client_id')
      .execute();
    const apps = await db
      .selectFrom('applications')
      .select(['client_id', 'metadata', 'created_at'])
      .where('auth_method', '=', 'self_signed_tls_client_auth')
      .where('status', '!=', 'deleted')
      .orderBy('created_at')
      .execute();
    const taken = new Set<string>();
    for (const app of apps as Array<{ client_id: string; metadata: string; created_at: string }>) {
      for (const x5t of thumbprints(app.metadata)) {
        if (taken.has(x5t)) continue;
        taken.add(x5t);
        await db
          .insertInto('self_signed_pins')
          .values({ x5t_s256: x5t, client_id: app.client_id, created_at: app.created_at })
          .execute();
      }
    }
  },
};
