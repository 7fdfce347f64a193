import type { ExpressionBuilder, ExpressionWrapper, SqlBool } from 'kysely';

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
