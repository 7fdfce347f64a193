import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Engine } from './engine.ts';
import { initialMigration } from './migrations/0001-initial.ts';
import type { Database } from './schema.ts';

// Ordered, append-only: a released migration is never edited, only followed by a new one.
function migrationsFor(engine: Engine): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(engine),
  };
}

export class MigrationError extends Error {
  readonly code = 'migration_failed';
}

export async function migrateToLatest(
  db: Kysely<Database>,
  engine: Engine,
  schema?: string,
): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(engine) };
  // Kysely finds its own tables by introspecting every schema: name ours, or another schema's would be taken for it.
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(
      `migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
