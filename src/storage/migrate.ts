import { type Kysely, type Migration, sql } from 'kysely';
import type { Engine } from './engine.ts';
import { initialMigration } from './migrations/0001-initial.ts';
import { oidcModelsMigration } from './migrations/0002-oidc-models.ts';
import { federationMigration } from './migrations/0003-federation.ts';
import { federationRegistrationsMigration } from './migrations/0004-federation-registrations.ts';
import { dynamicRegistrationMigration } from './migrations/0005-dynamic-registration.ts';
import { initialAccessTokensMigration } from './migrations/0006-initial-access-tokens.ts';
import { selfSignedPinsMigration } from './migrations/0007-self-signed-pins.ts';
import { organisationNameSkeletonsMigration } from './migrations/0008-organisation-name-skeletons.ts';
import { enforcementCredentialsMigration } from './migrations/0009-enforcement-credentials.ts';
import { catalogModelMigration } from './migrations/0010-catalog-model.ts';
import { platformEventsMigration } from './migrations/0011-platform-events.ts';
import { ocspMigration } from './migrations/0012-ocsp.ts';
import { certificateRenewalMigration } from './migrations/0013-certificate-renewal.ts';
import { externalCasMigration } from './migrations/0014-external-cas.ts';
import { webhooksMigration } from './migrations/0015-webhooks.ts';
import { sharedSignalsMigration } from './migrations/0016-shared-signals.ts';
import { caRotationMigration } from './migrations/0017-ca-rotation.ts';
import { expiryNotificationsMigration } from './migrations/0018-expiry-notifications.ts';
import { replayCacheMigration } from './migrations/0019-replay-cache.ts';
import { accountsMigration } from './migrations/0020-accounts.ts';
import { consoleMigration } from './migrations/0021-console.ts';
import { rateLimitsMigration } from './migrations/0028-rate-limits.ts';
import { nodeJoinTokensMigration } from './migrations/0029-node-join-tokens.ts';
import { largeDirectoriesMigration } from './migrations/0030-large-directories.ts';
import { peopleCatalogListsMigration } from './migrations/0031-people-catalog-lists.ts';
import { securityObjectListsMigration } from './migrations/0032-security-object-lists.ts';
import { reviewIndexesMigration } from './migrations/0033-review-indexes.ts';
import { sharedDecisionsMigration } from './migrations/0034-shared-decisions.ts';
import { rateLimitTakeAllMigration } from './migrations/0035-rate-limit-take-all.ts';
import { runInTransaction } from './run-in-transaction.ts';
import type { Database } from './schema.ts';

// Ordered, append-only: a released migration is never edited, only followed by a new one.
function migrationsFor(engine: Engine): Array<[string, Migration]> {
  return [
    ['0001-initial', initialMigration(engine)],
    ['0002-oidc-models', oidcModelsMigration],
    ['0003-federation', federationMigration],
    ['0004-federation-registrations', federationRegistrationsMigration],
    ['0005-dynamic-registration', dynamicRegistrationMigration],
    ['0006-initial-access-tokens', initialAccessTokensMigration(engine)],
    ['0007-self-signed-pins', selfSignedPinsMigration],
    ['0008-organisation-name-skeletons', organisationNameSkeletonsMigration],
    ['0009-enforcement-credentials', enforcementCredentialsMigration],
    ['0010-catalog-model', catalogModelMigration],
    ['0011-platform-events', platformEventsMigration(engine)],
    ['0012-ocsp', ocspMigration],
    ['0013-certificate-renewal', certificateRenewalMigration],
    ['0014-external-cas', externalCasMigration],
    ['0015-webhooks', webhooksMigration],
    ['0016-shared-signals', sharedSignalsMigration(engine)],
    ['0017-ca-rotation', caRotationMigration],
    ['0018-expiry-notifications', expiryNotificationsMigration],
    ['0019-replay-cache', replayCacheMigration],
    ['0020-accounts', accountsMigration],
    ['0021-console', consoleMigration],
    ['0028-rate-limits', rateLimitsMigration(engine)],
    ['0029-node-join-tokens', nodeJoinTokensMigration],
    ['0030-large-directories', largeDirectoriesMigration],
    ['0031-people-catalog-lists', peopleCatalogListsMigration],
    ['0032-security-object-lists', securityObjectListsMigration],
    ['0033-review-indexes', reviewIndexesMigration],
    ['0034-shared-decisions', sharedDecisionsMigration(engine)],
    ['0035-rate-limit-take-all', rateLimitTakeAllMigration(engine)],
  ];
}

export class MigrationError extends Error {
  readonly code = 'migration_failed';
}

const MIGRATION_LOCK = 727274000;

/**
 * Applies pending migrations, each in its own transaction with its bookkeeping row. A PostgreSQL advisory
 * lock (SQLite: the write lock) makes concurrent starts take turns. Kysely's own Migrator is not used
 * because it introspects every schema of the database, which breaks while other schemas are being dropped.
 * `through` stops after the named migration (tests of a later migration over data of an earlier schema).
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  engine: Engine,
  options: { through?: string } = {},
): Promise<string[]> {
  // biome-ignore lint/suspicious/noExplicitAny: the bookkeeping table is outside the typed schema.
  const raw = db as unknown as Kysely<any>;
  // Even CREATE TABLE IF NOT EXISTS races on PostgreSQL (two creators collide in pg_type): take the lock first.
  await runInTransaction(raw, async (trx) => {
    if (engine === 'postgres') await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
    await trx.schema
      .createTable('accredit_migrations')
      .ifNotExists()
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .execute();
  });
  const applied: string[] = [];
  const all = migrationsFor(engine);
  const last = options.through === undefined ? all.length : all.findIndex(([n]) => n === options.through) + 1;
  if (last === 0) throw new MigrationError(`no migration named ${options.through}`);
  for (const [name, migration] of all.slice(0, last)) {
    try {
      await runInTransaction(raw, async (trx) => {
        if (engine === 'postgres') await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
        const done = await trx
          .selectFrom('accredit_migrations')
          .select('name')
          .where('name', '=', name)
          .executeTakeFirst();
        if (done) return;
        await migration.up(trx);
        await trx
          .insertInto('accredit_migrations')
          .values({ name, applied_at: new Date().toISOString() })
          .execute();
        applied.push(name);
      });
    } catch (err) {
      throw new MigrationError(
        `migration ${name} failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  return applied;
}
