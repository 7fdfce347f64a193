import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * The provider's own access catalog (issue 11): operations (method + path pattern) with their policy and
 * their required scopes as alternatives (any one set grants; every scope of a set is needed, as OpenAPI
 * security requirements read), resources grouping them, scopes and roles that can be deprecated, versioned
 * scopes, role grants that end, a draft catalog staged for review, and the history of applied catalogs.
 *
 * `catalog_routes` rows (one scope each) become operations: the rows of one method + pattern are one
 * operation whose alternatives are their scopes, keeping the id of its first row.
 */
export const catalogModelMigration = {
  async up(db: AnyDb): Promise<void> {
    await db.schema
      .alterTable('scopes')
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
      .execute();
    await db.schema.alterTable('scopes').addColumn('version', 'text').execute();
    await db.schema
      .alterTable('roles')
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
      .execute();
    await db.schema.alterTable('application_roles').addColumn('expires_at', 'text').execute();

    await db.schema
      .createTable('catalog_resources')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
      .execute();
    await db.schema
      .createTable('catalog_operations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('path_pattern', 'text', (c) => c.notNull())
      .addColumn('resource', 'text')
      .addColumn('operation_id', 'text')
      .addColumn('source', 'text')
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('auth', 'text', (c) => c.notNull().defaultTo('token'))
      .addColumn('mtls', 'text', (c) => c.notNull().defaultTo('required'))
      .addColumn('dpop', 'text', (c) => c.notNull().defaultTo('refused'))
      .addColumn('owner_param', 'text')
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
      .addUniqueConstraint('catalog_operations_unique', ['method', 'path_pattern'])
      .execute();
    await db.schema
      .createTable('catalog_operation_scopes')
      .addColumn('operation_id', 'text', (c) =>
        c.notNull().references('catalog_operations.id').onDelete('cascade'),
      )
      .addColumn('alternative', 'integer', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull().references('scopes.name'))
      .addPrimaryKeyConstraint('catalog_operation_scopes_pk', ['operation_id', 'alternative', 'scope'])
      .execute();
    await db.schema
      .createTable('catalog_drafts')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('base_revision', 'integer', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('catalog_revisions')
      .addColumn('revision', 'integer', (c) => c.primaryKey())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .execute();

    const rows = (await db
      .selectFrom('catalog_routes')
      .select(['id', 'method', 'path_pattern', 'scope', 'description'])
      .orderBy('method')
      .orderBy('path_pattern')
      .orderBy('scope')
      .execute()) as Array<{
      id: string;
      method: string;
      path_pattern: string;
      scope: string;
      description: string;
    }>;
    const operations = new Map<string, { id: string; alternatives: number }>();
    for (const row of rows) {
      const key = `${row.method} ${row.path_pattern}`;
      let operation = operations.get(key);
      if (!operation) {
        operation = { id: row.id, alternatives: 0 };
        operations.set(key, operation);
        await db
          .insertInto('catalog_operations')
          .values({
            id: row.id,
            method: row.method,
            path_pattern: row.path_pattern,
            description: row.description,
          })
          .execute();
      }
      await db
        .insertInto('catalog_operation_scopes')
        .values({ operation_id: operation.id, alternative: operation.alternatives, scope: row.scope })
        .execute();
      operation.alternatives += 1;
    }
    await db.schema.dropTable('catalog_routes').execute();
  },
};
