import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface Rule {
  quota: number;
  window: number;
}

interface RateLimitAnswer {
  subject_kind: string;
  subject_id: string;
  policy: Rule[] | { client?: Rule[]; organisation?: Rule[] } | null;
  updated_at: string | null;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `QUOTA/WINDOW`: `10/1s`, `600/1m`, `10000/1d`, `50/30` (seconds). */
export function parseLimit(text: string): Rule {
  const m = /^(\d{1,10})\/(\d{1,8})([smhd]?)$/.exec(text.trim());
  if (!m)
    throw new CliError(`--limit "${text}": expected QUOTA/WINDOW, e.g. 10/1s or 10000/1d`, 'bad_option');
  const quota = Number(m[1]);
  const window = Number(m[2]) * (UNITS[m[3] || 's'] as number);
  if (quota < 1 || window < 1)
    throw new CliError(`--limit "${text}": quota and window must be ≥ 1`, 'bad_option');
  return { quota, window };
}

function collect(value: string, previous: Rule[] = []): Rule[] {
  return [...previous, parseLimit(value)];
}

function describeRules(rules: Rule[] | undefined): string {
  if (rules === undefined) return '(catalog)';
  if (rules.length === 0) return 'not limited';
  return rules.map((r) => `${r.quota} per ${r.window} s`).join(', ');
}

function print(answer: RateLimitAnswer, json: boolean): void {
  if (json) {
    printJson(answer);
    return;
  }
  const p = answer.policy;
  const rows: Array<[string, string]> = [[answer.subject_kind, answer.subject_id]];
  if (p === null) rows.push(['limits', '(none set: the catalog’s apply)']);
  else if (Array.isArray(p)) rows.push(['limits', describeRules(p)]);
  else {
    rows.push(['client', describeRules(p.client)]);
    rows.push(['organisation', describeRules(p.organisation)]);
  }
  if (answer.updated_at) rows.push(['updated_at', answer.updated_at]);
  printFields(rows);
}

/**
 * `accredit org|app rate-limit show|set|remove <id>` and `accredit catalog rate-limit show|set|remove` over
 * the admin API (issue 16): every door applies a change before its next request.
 */
export function registerRateLimitCommand(
  parent: Command,
  kind: 'organisation' | 'application' | 'catalog',
): void {
  const base = (id: string | undefined) =>
    kind === 'catalog'
      ? '/catalog/rate-limit'
      : `/${kind === 'organisation' ? 'organisations' : 'applications'}/${encodeURIComponent(id ?? '')}/rate-limit`;
  const arg = kind === 'catalog' ? '' : kind === 'organisation' ? ' <org-id>' : ' <client-id>';
  const command = parent
    .command('rate-limit')
    .description(
      kind === 'catalog'
        ? 'the catalog-wide default rate limits (per client, per organisation) of every operation without its own'
        : `the ${kind}'s rate limits, replacing the catalog's ${kind === 'organisation' ? 'organisation' : 'client'} limits`,
    );
  // commander passes (id?, opts, cmd) with an argument, (opts, cmd) without.
  const split = (args: unknown[]) =>
    kind === 'catalog'
      ? { id: undefined, opts: args[0] as Record<string, unknown>, cmd: args[1] as Command }
      : { id: args[0] as string, opts: args[1] as Record<string, unknown>, cmd: args[2] as Command };

  command
    .command(`show${arg}`)
    .description('show the limits set (none: the catalog’s apply)')
    .action((...args: unknown[]) => {
      const { id, cmd } = split(args);
      const g = globals(cmd);
      return runAction(g.json, () =>
        withAdminClient(g, async (client) =>
          print(await client.call<RateLimitAnswer>('GET', base(id)), g.json),
        ),
      );
    });

  if (kind !== 'catalog') {
    addPageOptions(
      command.command('list').description(`list every ${kind} with limits set, a page at a time`),
    ).action((opts: PageOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, () =>
        withAdminClient(g, async (client) => {
          const items = await readPages<RateLimitAnswer>(
            client,
            '/rate-limits',
            new URLSearchParams({ subject_kind: kind }),
            opts,
          );
          if (g.json) return printJson(items);
          printTable(
            items.map((r) => ({ ...r, limits: JSON.stringify(r.policy) })),
            ['subject_id', 'limits', 'updated_at'],
          );
        }),
      );
    });
  }

  const set = command.command(`set${arg}`).description('replace the limits; every door applies them at once');
  if (kind === 'catalog') {
    set
      .option('--client <QUOTA/WINDOW>', 'a limit per application, e.g. 10/1s; repeatable', collect)
      .option(
        '--organisation <QUOTA/WINDOW>',
        'a limit per organisation (all its applications), repeatable',
        collect,
      );
  } else {
    set
      .option(
        '--limit <QUOTA/WINDOW>',
        'e.g. 10/1s, 600/1m, 10000/1d (window: s, m, h, d); repeatable',
        collect,
      )
      .option('--unlimited', 'not limited at all (overrides the catalog’s limits)');
  }
  set.action((...args: unknown[]) => {
    const { id, opts, cmd } = split(args);
    const g = globals(cmd);
    return runAction(g.json, () =>
      withAdminClient(g, async (client) => {
        let body: unknown;
        if (kind === 'catalog') {
          const { client: perClient, organisation } = opts as { client?: Rule[]; organisation?: Rule[] };
          if (!perClient && !organisation)
            throw new CliError('give --client and/or --organisation', 'bad_option');
          body = { ...(perClient ? { client: perClient } : {}), ...(organisation ? { organisation } : {}) };
        } else {
          const { limit, unlimited } = opts as { limit?: Rule[]; unlimited?: boolean };
          if (unlimited && limit) throw new CliError('give --limit or --unlimited, not both', 'bad_option');
          if (!unlimited && !limit)
            throw new CliError('give --limit (repeatable) or --unlimited', 'bad_option');
          body = { limits: limit ?? [] };
        }
        print(await client.call<RateLimitAnswer>('PUT', base(id), body), g.json);
      }),
    );
  });

  command
    .command(`remove${arg}`)
    .description('remove the limits set here; the catalog’s apply again')
    .action((...args: unknown[]) => {
      const { id, cmd } = split(args);
      const g = globals(cmd);
      return runAction(g.json, () =>
        withAdminClient(g, async (client) => {
          await client.call('DELETE', base(id));
          if (g.json) return printJson({ removed: true, subject_kind: kind, subject_id: id ?? '*' });
          process.stdout.write(`rate limit of ${kind}${id ? ` ${id}` : ''} removed\n`);
        }),
      );
    });
}
