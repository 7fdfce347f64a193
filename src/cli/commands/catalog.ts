import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { runAction } from '../run-action.ts';
import { registerCatalogEntryCommands } from './catalog-entries.ts';
import { registerCatalogStagingCommands } from './catalog-staging.ts';
import { globals } from './globals.ts';
import { parseLimit, registerRateLimitCommand } from './rate-limit.ts';

interface Operation {
  id: string;
  method: string;
  path_pattern: string;
  required_scopes: string[][];
  description: string;
  resource: string | null;
  auth: string;
  mtls: string;
  dpop: string;
  owner_param: string | null;
  status: string;
  rate_limit?: {
    client?: Array<{ quota: number; window: number }>;
    organisation?: Array<{ quota: number; window: number }>;
  };
  warnings?: Array<{ detail: string }>;
  roles?: string[];
}

interface OperationOptions {
  method?: string;
  path?: string;
  scope?: string[];
  require?: string[];
  description?: string;
  resource?: string;
  auth?: string;
  mtls?: string;
  dpop?: string;
  ownerParam?: string;
  status?: string;
  clientLimit?: Array<{ quota: number; window: number }>;
  organisationLimit?: Array<{ quota: number; window: number }>;
  clearRateLimit?: boolean;
  draft?: boolean;
  dryRun?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `a b` (all needed) ∨ `c`: the alternatives as the admin API reads them. */
export function alternativesText(alternatives: string[][]): string {
  return alternatives.map((a) => a.join('+')).join(' | ');
}

/** `?stage=draft&dry_run=true` from the shared flags. */
export function stageSuffix(opts: { draft?: boolean; dryRun?: boolean }): string {
  const q = new URLSearchParams();
  if (opts.draft) q.set('stage', 'draft');
  if (opts.dryRun) q.set('dry_run', 'true');
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function printWarnings(warnings: Array<{ detail: string }> | undefined): void {
  for (const w of warnings ?? []) process.stderr.write(`warning: ${w.detail}\n`);
}

function printOperation(op: Operation, json: boolean): void {
  if (json) {
    printJson(op);
    return;
  }
  printFields([
    ['id', op.id],
    ['method', op.method],
    ['path_pattern', op.path_pattern],
    ['scopes', alternativesText(op.required_scopes)],
    ['auth', op.auth],
    ['mtls', op.mtls],
    ['dpop', op.dpop],
    ['owner_param', op.owner_param ?? ''],
    ['resource', op.resource ?? ''],
    ['status', op.status],
    ['rate_limit', op.rate_limit ? JSON.stringify(op.rate_limit) : '(catalog default)'],
    ['description', op.description],
  ]);
  printWarnings(op.warnings);
}

function body(opts: OperationOptions): Record<string, unknown> {
  return {
    ...(opts.method !== undefined ? { method: opts.method.toUpperCase() } : {}),
    ...(opts.path !== undefined ? { path_pattern: opts.path } : {}),
    ...(opts.scope !== undefined ? { scopes: opts.scope } : {}),
    ...(opts.require !== undefined
      ? { required_scopes: opts.require.map((r) => r.split(/[\s+]+/).filter(Boolean)) }
      : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(opts.resource !== undefined ? { resource: opts.resource === '' ? null : opts.resource } : {}),
    ...(opts.auth !== undefined ? { auth: opts.auth } : {}),
    ...(opts.mtls !== undefined ? { mtls: opts.mtls } : {}),
    ...(opts.dpop !== undefined ? { dpop: opts.dpop } : {}),
    ...(opts.ownerParam !== undefined
      ? { owner_param: opts.ownerParam === '' ? null : opts.ownerParam }
      : {}),
    ...(opts.status !== undefined ? { status: opts.status } : {}),
    ...rateLimitBody(opts),
  };
}

/** The operation's own rate limit (issue 16): --client-limit / --organisation-limit, or --clear-rate-limit. */
function rateLimitBody(opts: OperationOptions): Record<string, unknown> {
  const given = opts.clientLimit !== undefined || opts.organisationLimit !== undefined;
  if (opts.clearRateLimit && given) {
    throw new CliError(
      'give --client-limit/--organisation-limit or --clear-rate-limit, not both',
      'bad_option',
    );
  }
  if (opts.clearRateLimit) return { rate_limit: null };
  if (!given) return {};
  return {
    rate_limit: {
      ...(opts.clientLimit ? { client: opts.clientLimit } : {}),
      ...(opts.organisationLimit ? { organisation: opts.organisationLimit } : {}),
    },
  };
}

const collectLimit = (value: string, previous: Array<{ quota: number; window: number }> = []) => [
  ...previous,
  parseLimit(value),
];

function operationOptions(cmd: Command): Command {
  return cmd
    .option('--scope <scope>', 'a scope that grants it (repeat: any one of them grants)', collect)
    .option(
      '--require <scopes>',
      'scopes that together grant it, e.g. "a+b" (repeat for alternatives)',
      collect,
    )
    .option('--description <text>', 'what it does, for partners')
    .option('--resource <name>', 'the resource it belongs to ("" for none)')
    .option('--auth <auth>', 'token (default) or public (no token)')
    .option('--mtls <mtls>', 'required (default): a client certificate; optional')
    .option('--dpop <dpop>', 'refused (default), accepted or required: DPoP-bound tokens (RFC 9449)')
    .option('--owner-param <param>', 'a {param} that must equal the caller’s organisation id ("" for none)')
    .option(
      '--client-limit <QUOTA/WINDOW>',
      'its own limit per application, e.g. 10/1s (repeatable)',
      collectLimit,
    )
    .option(
      '--organisation-limit <QUOTA/WINDOW>',
      'its own limit per organisation (repeatable)',
      collectLimit,
    )
    .option('--clear-rate-limit', 'remove its own limits: the catalog-wide default applies')
    .option('--draft', 'edit the staged draft instead of the active catalog')
    .option('--dry-run', 'report what would change and every finding; change nothing');
}

export function registerCatalogCommands(program: Command): void {
  const catalog = program
    .command('catalog')
    .description('the access catalog: resources, operations → scopes → roles; drafts; OpenAPI import');
  const operation = catalog
    .command('operation')
    .description('operations (method + path pattern), their scopes and policy; gateways apply edits at once');

  operation
    .command('list')
    .description('list operations with their scopes and the roles that grant them')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const { items } = await client.call<{ items: Operation[] }>('GET', '/catalog');
          if (g.json) printJson(items);
          else
            printTable(
              items.map((o) => ({ ...o, scopes: alternativesText(o.required_scopes) })),
              ['id', 'method', 'path_pattern', 'scopes', 'auth', 'status', 'roles'],
            );
        });
      });
    });

  operation
    .command('show <id>')
    .description('one operation with its policy')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printOperation(
            await client.call<Operation>('GET', `/catalog/operations/${encodeURIComponent(id)}`),
            g.json,
          );
        });
      });
    });

  operationOptions(
    operation
      .command('add')
      .description(
        'add an operation; refused with every finding (unknown scope, invalid or conflicting pattern)',
      )
      .requiredOption('--method <method>', 'GET, HEAD, POST, PUT, PATCH or DELETE')
      .requiredOption('--path <pattern>', 'path pattern: literal segments, {param}, an optional final **'),
  ).action((opts: OperationOptions, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        printOperation(
          await client.call<Operation>('POST', `/catalog/operations${stageSuffix(opts)}`, body(opts)),
          g.json,
        );
      });
    });
  });

  operationOptions(
    operation
      .command('update <id>')
      .description('change an operation’s pattern, scopes, policy or description')
      .option('--method <method>', 'GET, HEAD, POST, PUT, PATCH or DELETE')
      .option('--path <pattern>', 'path pattern')
      .option('--status <status>', 'active or deprecated'),
  ).action((id: string, opts: OperationOptions, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const path = `/catalog/operations/${encodeURIComponent(id)}${stageSuffix(opts)}`;
        printOperation(await client.call<Operation>('PATCH', path, body(opts)), g.json);
      });
    });
  });

  operation
    .command('deprecate <id>')
    .description('mark an operation deprecated: still enforced, shown as deprecated to partners')
    .option('--draft', 'edit the staged draft instead of the active catalog')
    .action((id: string, opts: OperationOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const path = `/catalog/operations/${encodeURIComponent(id)}${stageSuffix(opts)}`;
          printOperation(await client.call<Operation>('PATCH', path, { status: 'deprecated' }), g.json);
        });
      });
    });

  operation
    .command('remove <id>')
    .description('remove an operation; gateways answer 404 route_not_found for it at once')
    .option('--draft', 'edit the staged draft instead of the active catalog')
    .option('--dry-run', 'report what would change; change nothing')
    .action((id: string, opts: OperationOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call('DELETE', `/catalog/operations/${encodeURIComponent(id)}${stageSuffix(opts)}`);
          if (g.json) printJson({ id, removed: !opts.dryRun, stage: opts.draft ? 'draft' : 'active' });
          else process.stdout.write(`${opts.dryRun ? 'would remove' : 'removed'} ${id}\n`);
        });
      });
    });

  registerCatalogEntryCommands(catalog);
  registerCatalogStagingCommands(catalog);
  registerRateLimitCommand(catalog, 'catalog');
}
