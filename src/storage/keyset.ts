import {
  type ExpressionBuilder,
  type ExpressionWrapper,
  type Kysely,
  PostgresAdapter,
  type SqlBool,
  sql,
} from 'kysely';

/**
 * A keyset ("seek") condition: rows strictly after `values` in the ascending order of `columns`
 * (the last column unique). Written as `c1 >= v1 AND (c1 > v1 OR (c1 = v1 AND (c2 > v2 OR …)))` so that
 * both SQLite and PostgreSQL turn the leading bound into an index range — no OFFSET, no full scan.
 * `desc` flips every comparison for a descending order.
 */
export function keysetAfter<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  columns: readonly string[],
  values: ReadonlyArray<string | number>,
  desc = false,
): ExpressionWrapper<DB, TB, SqlBool> {
  const gt = desc ? '<' : '>';
  const ge = desc ? '<=' : '>=';
  // biome-ignore lint/suspicious/noExplicitAny: column names are checked by the callers' typed queries.
  const ref = (c: string) => eb.ref(c as any);
  const tail = (i: number): ExpressionWrapper<DB, TB, SqlBool> => {
    const strictly = eb(ref(columns[i] as string), gt, values[i]);
    if (i === columns.length - 1) return strictly;
    return eb.or([strictly, eb.and([eb(ref(columns[i] as string), '=', values[i]), tail(i + 1)])]);
  };
  if (columns.length === 1) return tail(0);
  return eb.and([eb(ref(columns[0] as string), ge, values[0]), tail(0)]);
}

/**
 * A keyset walk whose tie-breaking id is in code-unit order, whatever the database's collation: `(time, id)`
 * strictly after `values`, and the ORDER BY terms that go with it. Needed where pages of two queries are merged
 * in code (strings compared with `<`): PostgreSQL compares text by the database's collation (`en_US.UTF-8`
 * ignores `-`, `_` and letter case at first), so there the id is compared `COLLATE "C"`; SQLite's default
 * (BINARY) already is code-unit order. The leading column must be an ISO 8601 time (`toISOString`), which
 * every collation orders alike: it stays a plain index range.
 */
export function bytewiseKeyset<DB>(db: Kysely<DB>, columns: readonly [time: string, id: string]) {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const time = sql`${sql.ref(columns[0])}`;
  const id = pg ? sql`${sql.ref(columns[1])} COLLATE "C"` : sql`${sql.ref(columns[1])}`;
  return {
    after: (values: ReadonlyArray<string | number>) =>
      sql<SqlBool>`(${time} >= ${values[0]} AND (${time} > ${values[0]} OR (${time} = ${values[0]} AND ${id} > ${values[1]})))`,
    orderBy: [time, id] as const,
  };
}
