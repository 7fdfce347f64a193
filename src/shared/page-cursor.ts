import { AppError } from './app-error.ts';

/**
 * Cursor pagination for every list (issue 16): a page is at most `limit` items in a stable order, and
 * `next_cursor` is the opaque position after its last item (base64url of the sort key and id, in order), or
 * null on the last page. Lists are read with keyset queries from the cursor, never with OFFSET, so a page
 * costs the same at row 100 and at row 100,000 and concurrent inserts never repeat or skip an existing row.
 */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** One position in a list: the sort-key values of its last item, ending with the unique id. */
export type CursorKey = Array<string | number>;

export interface PageRequest {
  limit: number;
  /** The key of the last item already seen; undefined starts at the beginning. */
  after?: CursorKey | undefined;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const invalidCursor = (message: string) =>
  new AppError('invalid_cursor', 400, `cursor: ${message}; start again without a cursor`);

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor made by encodeCursor for a key of `arity` values; anything else is a 400 problem. */
export function decodeCursor(cursor: string, arity: number): CursorKey {
  if (cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalidCursor('not a cursor this API returned');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('not a cursor this API returned');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== arity ||
    !parsed.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)))
  ) {
    throw invalidCursor('not a cursor of this list');
  }
  return parsed as CursorKey;
}

/** `?limit=&cursor=` as the routes receive them (already bounded by the JSON schema) → a page request. */
export function pageRequest(
  query: { limit?: number | string | undefined; cursor?: string | undefined },
  arity: number,
) {
  const limit = query.limit === undefined ? DEFAULT_PAGE_LIMIT : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new AppError('invalid_input', 400, `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, {
      field: 'limit',
    });
  }
  return {
    limit,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, arity),
  } satisfies PageRequest;
}

/**
 * Turns rows read with `limit + 1` into a page: the extra row only says that another page exists.
 * `keyOf` gives the cursor key of an item (the same columns, in the same order, as the keyset query).
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => CursorKey): Page<T> {
  if (rows.length <= limit) return { items: rows, next_cursor: null };
  const items = rows.slice(0, limit);
  return { items, next_cursor: encodeCursor(keyOf(items[items.length - 1] as T)) };
}

/** JSON Schema of `?limit=&cursor=`, merged into each list route's querystring. */
export const pageQueryProperties = {
  limit: {
    type: 'string',
    pattern: '^[0-9]{1,7}$',
    description: `page size, 1 to ${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT})`,
  },
  cursor: {
    type: 'string',
    minLength: 1,
    maxLength: 1024,
    description: 'next_cursor of the previous page (opaque)',
  },
} as const;

/** JSON Schema of a page's `next_cursor`. */
export const nextCursorSchema = {
  type: ['string', 'null'],
  description: 'pass as ?cursor= for the next page; null on the last page',
} as const;
