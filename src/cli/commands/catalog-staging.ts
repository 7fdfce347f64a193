import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { alternativesText, printWarnings, stageSuffix } from './catalog.ts';
import { globals } from './globals.ts';

/** The largest OpenAPI document `catalog import` sends (the admin API refuses larger ones too). */
export const MAX_OPENAPI_BYTES = 5 * 1024 * 1024;

interface EntryDiff {
  added: Array<Record<string, unknown>>;
  changed: Array<{ before: Record<string, unknown>; after: Record<string, unknown>; fields: string[] }>;
  removed: Array<Record<string, unknown>>;
}
type Diff = Record<'resources' | 'scopes' | 'roles' | 'operations', EntryDiff>;

function label(kind: string, e: Record<string, unknown>): string {
  if (kind === 'operations') {
    const scopes = Array.isArray(e.required_scopes) ? alternativesText(e.required_scopes as string[][]) : '';
    return `${e.method} ${e.path_pattern}${e.auth === 'public' ? ' (public)' : scopes ? ` [${scopes}]` : ''}`;
  }
  return String(e.name);
}

/** `+ added`, `~ changed (fields)`, `- removed`, per kind: what a dry run or a promotion shows a reviewer. */
export function printDiff(diff: Diff): void {
  let lines = 0;
  for (const kind of ['resources', 'scopes', 'roles', 'operations'] as const) {
    const d = diff[kind];
    if (!d) continue;
    for (const e of d.added) {
      process.stdout.write(`+ ${kind.slice(0, -1)} ${label(kind, e)}\n`);
      lines++;
    }
    for (const c of d.changed) {
      const from =
        kind === 'operations' && c.fields.includes('required_scopes') ? ` from ${label(kind, c.before)}` : '';
      process.stdout.write(
        `~ ${kind.slice(0, -1)} ${label(kind, c.after)} (${c.fields.join(', ')})${from}\n`,
      );
      lines++;
    }
    for (const e of d.removed) {
      process.stdout.write(`- ${kind.slice(0, -1)} ${label(kind, e)}\n`);
      lines++;
    }
  }
  if (lines === 0) process.stdout.write('no change\n');
}

interface ChangeResponse {
  revision: number;
  applied: boolean;
  diff: Diff;
  warnings?: Array<{ detail: string }>;
  stage?: string;
}

export function registerCatalogStagingCommands(catalog: Command): void {
  catalog
    .command('show')
    .description('the active catalog, whole, with its revision')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const doc = await client.call<Record<string, unknown> & { revision: number }>(
            'GET',
            '/catalog/document',
          );
          if (g.json) printJson(doc);
          else {
            process.stdout.write(`revision ${doc.revision}\n`);
            for (const kind of ['resources', 'scopes', 'roles', 'operations'] as const) {
              const items = doc[kind] as Array<Record<string, unknown>>;
              process.stdout.write(`${kind}: ${items.length}\n`);
            }
          }
        });
      });
    });

  addPageOptions(
    catalog
      .command('revisions')
      .description('the catalogs that became active, a page at a time (newest first)')
      .option('--source <source>', 'only changes from this source (e.g. api, openapi:<name>)')
      .option('--actor <actor>', 'only changes by this actor'),
  ).action((opts: PageOptions & { source?: string; actor?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.source) q.set('source', opts.source);
        if (opts.actor) q.set('actor', opts.actor);
        const items = await readPages<Record<string, unknown>>(client, '/catalog/revisions', q, opts);
        if (g.json) printJson(items);
        else printTable(items, ['revision', 'source', 'actor', 'applied_at']);
      });
    });
  });

  catalog
    .command('import <file>')
    .description(
      'import an OpenAPI 3.0/3.1 document (JSON or YAML): operations → routes, OAuth2 security → scopes; ' +
        're-importing updates what the last import of the same source added',
    )
    .option('--dry-run', 'show the diff against the current catalog and every finding; change nothing')
    .option('--draft', 'stage the result in the draft instead of applying it')
    .option('--source <name>', 'the name this API is imported under (default: from info.title)')
    .option('--base-path <path>', 'prefix of every route (default: the path of the first servers[] url)')
    .option(
      '--public <operation>',
      'an operation that needs no token, as "GET /path" or its operationId (repeat)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(
      (
        file: string,
        opts: { dryRun?: boolean; draft?: boolean; source?: string; basePath?: string; public?: string[] },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          let size: number;
          try {
            size = statSync(file).size;
          } catch {
            throw new CliError(`cannot read ${file}`, 'file_not_found');
          }
          if (size > MAX_OPENAPI_BYTES) {
            throw new CliError(`${file} is larger than ${MAX_OPENAPI_BYTES} bytes`, 'file_too_large');
          }
          const document = readFileSync(file, 'utf8');
          await withAdminClient(g, async (client) => {
            const result = await client.call<ChangeResponse>('POST', `/catalog/import${stageSuffix(opts)}`, {
              document,
              ...(opts.source !== undefined ? { source: opts.source } : {}),
              ...(opts.basePath !== undefined ? { base_path: opts.basePath } : {}),
              ...(opts.public !== undefined ? { public_operations: opts.public } : {}),
            });
            if (g.json) {
              printJson(result);
              return;
            }
            printDiff(result.diff);
            printWarnings(result.warnings);
            process.stdout.write(
              opts.dryRun
                ? 'dry run: nothing changed\n'
                : opts.draft
                  ? 'staged in the draft: review with `accredit catalog draft show`, then `accredit catalog draft promote`\n'
                  : result.applied
                    ? `applied: catalog revision ${result.revision}\n`
                    : 'nothing to apply\n',
            );
          });
        });
      },
    );

  const draft = catalog
    .command('draft')
    .description('stage catalog changes for review (edit with --draft), then promote them in one change');
  draft
    .command('create')
    .description('start a draft from the active catalog')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const view = await client.call<Record<string, unknown>>('POST', '/catalog/draft');
          if (g.json) printJson(view);
          else process.stdout.write(`draft created from revision ${view.base_revision}\n`);
        });
      });
    });
  draft
    .command('show')
    .description('the draft’s diff against the active catalog and its findings')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const view = await client.call<{
            base_revision: number;
            active_revision: number;
            stale: boolean;
            diff: Diff;
            findings: Array<{ severity: string; detail: string }>;
          }>('GET', '/catalog/draft');
          if (g.json) {
            printJson(view);
            return;
          }
          process.stdout.write(
            `draft from revision ${view.base_revision} (active: ${view.active_revision})${view.stale ? ' — STALE: the active catalog changed since; discard and start again' : ''}\n`,
          );
          printDiff(view.diff);
          for (const f of view.findings) process.stderr.write(`${f.severity}: ${f.detail}\n`);
        });
      });
    });
  draft
    .command('promote')
    .description('make the draft the active catalog; every gateway applies it at once')
    .option('--dry-run', 'show what promoting would change')
    .action((opts: { dryRun?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const result = await client.call<ChangeResponse>(
            'POST',
            `/catalog/draft/promote${opts.dryRun ? '?dry_run=true' : ''}`,
          );
          if (g.json) {
            printJson(result);
            return;
          }
          printDiff(result.diff);
          printWarnings(result.warnings);
          process.stdout.write(
            opts.dryRun ? 'dry run: nothing changed\n' : `promoted: catalog revision ${result.revision}\n`,
          );
        });
      });
    });
  draft
    .command('discard')
    .description('throw the draft away')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call('DELETE', '/catalog/draft');
          if (g.json) printJson({ discarded: true });
          else process.stdout.write('draft discarded\n');
        });
      });
    });
}
