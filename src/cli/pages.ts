import type { Command } from 'commander';
import type { AdminClient } from './admin-client.ts';
import { CliError } from './cli-error.ts';

/** `--limit`, `--cursor` and `--all` of every list command (issue 16: the admin API answers a page at a time). */
export interface PageOptions {
  limit?: string;
  cursor?: string;
  all?: boolean;
}

export function addPageOptions(cmd: Command): Command {
  return cmd
    .option('--limit <n>', 'rows per page, 1 to 1000 (default 100)')
    .option('--cursor <cursor>', 'continue from the next_cursor a previous page printed')
    .option('--all', 'fetch every page');
}

/**
 * Reads one page (or with --all every page) of an admin list. Without --all, a following page's cursor is
 * printed on stderr, so stdout (the table or the JSON items) stays what it was.
 */
export async function readPages<T>(
  client: AdminClient,
  path: string,
  query: URLSearchParams,
  opts: PageOptions,
  /** The response key holding the page's rows (`items` on every list but a few older ones). */
  key = 'items',
): Promise<T[]> {
  if (opts.limit !== undefined && !/^[0-9]{1,4}$/.test(opts.limit)) {
    throw new CliError('--limit: expected a number from 1 to 1000', 'invalid_input');
  }
  const limit = opts.limit ?? (opts.all ? '1000' : undefined);
  if (limit) query.set('limit', limit);
  let cursor = opts.cursor;
  const items: T[] = [];
  for (;;) {
    if (cursor) query.set('cursor', cursor);
    const page = await client.call<Record<string, unknown> & { next_cursor?: string | null }>(
      'GET',
      `${path}${query.size ? `?${query}` : ''}`,
    );
    items.push(...((page[key] as T[] | undefined) ?? []));
    const next = page.next_cursor ?? null;
    if (!next) return items;
    if (!opts.all) {
      process.stderr.write(`more rows: --cursor ${next} (or --all)\n`);
      return items;
    }
    cursor = next;
  }
}
