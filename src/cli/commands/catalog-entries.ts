import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { printWarnings, stageSuffix } from './catalog.ts';
import { globals } from './globals.ts';

interface EntryOptions {
  description?: string;
  scopeVersion?: string;
  scopes?: string;
  status?: string;
  draft?: boolean;
  dryRun?: boolean;
}

interface Kind {
  noun: 'scope' | 'role' | 'resource';
  plural: 'scopes' | 'roles' | 'resources';
  about: string;
  columns: string[];
}

const KINDS: Kind[] = [
  {
    noun: 'scope',
    plural: 'scopes',
    about: 'scopes (a version in the name, e.g. accounts:read:v1, and in --version)',
    columns: ['name', 'version', 'status', 'description'],
  },
  {
    noun: 'role',
    plural: 'roles',
    about: 'roles: bundles of scopes granted to applications',
    columns: ['name', 'scopes', 'status', 'description'],
  },
  {
    noun: 'resource',
    plural: 'resources',
    about: 'resources: the groups of operations partners see together',
    columns: ['name', 'status', 'description'],
  },
];

function entryBody(kind: Kind, opts: EntryOptions): Record<string, unknown> {
  return {
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(kind.noun === 'scope' && opts.scopeVersion !== undefined
      ? { version: opts.scopeVersion === '' ? null : opts.scopeVersion }
      : {}),
    ...(kind.noun === 'role' && opts.scopes !== undefined
      ? {
          scopes: opts.scopes
            .split(/[\s,]+/)
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    ...(opts.status !== undefined ? { status: opts.status } : {}),
  };
}

function print(
  kind: Kind,
  entry: Record<string, unknown> & { warnings?: Array<{ detail: string }> },
  json: boolean,
) {
  if (json) {
    printJson(entry);
    return;
  }
  printFields(kind.columns.map((c) => [c, entry[c]]));
  printWarnings(entry.warnings);
}

function withEditFlags(cmd: Command, kind: Kind, scopesRequired = false): Command {
  cmd.option('--description <text>', 'what it is, for partners');
  if (kind.noun === 'scope')
    cmd.option('--scope-version <label>', 'the version label partners see, e.g. v1 ("" for none)');
  if (kind.noun === 'role') {
    if (scopesRequired) cmd.requiredOption('--scopes <list>', 'the scopes it grants, comma-separated');
    else cmd.option('--scopes <list>', 'the scopes it grants, comma-separated');
  }
  return cmd
    .option('--draft', 'edit the staged draft instead of the active catalog')
    .option('--dry-run', 'report what would change and every finding; change nothing');
}

/** `accredit catalog scope|role|resource list|show|add|update|deprecate|remove`. */
export function registerCatalogEntryCommands(catalog: Command): void {
  for (const kind of KINDS) {
    const group = catalog.command(kind.noun).description(kind.about);
    const path = (name?: string) =>
      `/catalog/${kind.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

    addPageOptions(
      group
        .command('list')
        .description(`list the ${kind.plural}, a page at a time (name order)`)
        .option('--status <status>', 'only active or deprecated')
        .option('--name-prefix <prefix>', 'only names starting with this'),
    ).action((opts: PageOptions & { status?: string; namePrefix?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const q = new URLSearchParams();
          if (opts.status) q.set('status', opts.status);
          if (opts.namePrefix) q.set('name_prefix', opts.namePrefix);
          const items = await readPages<Record<string, unknown>>(client, path(), q, opts);
          if (g.json) printJson(items);
          else printTable(items, kind.columns);
        });
      });
    });

    group
      .command('show <name>')
      .description(`one ${kind.noun}`)
      .action((name: string, _opts: unknown, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            print(kind, await client.call('GET', path(name)), g.json);
          });
        });
      });

    const add = group.command('add <name>').description(`create a ${kind.noun}; refused with every finding`);
    withEditFlags(add, kind, true).action((name: string, opts: EntryOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const created = await client.call<Record<string, unknown>>(
            'POST',
            `${path()}${stageSuffix(opts)}`,
            {
              name,
              ...entryBody(kind, opts),
            },
          );
          print(kind, created, g.json);
        });
      });
    });

    withEditFlags(group.command('update <name>').description(`change a ${kind.noun}`), kind)
      .option('--status <status>', 'active or deprecated')
      .action((name: string, opts: EntryOptions, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            print(
              kind,
              await client.call('PATCH', `${path(name)}${stageSuffix(opts)}`, entryBody(kind, opts)),
              g.json,
            );
          });
        });
      });

    group
      .command('deprecate <name>')
      .description(`deprecate a ${kind.noun}: what uses it keeps working, nothing new may start to`)
      .option('--draft', 'edit the staged draft instead of the active catalog')
      .action((name: string, opts: EntryOptions, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            print(
              kind,
              await client.call('PATCH', `${path(name)}${stageSuffix(opts)}`, { status: 'deprecated' }),
              g.json,
            );
          });
        });
      });

    group
      .command('remove <name>')
      .description(`delete a ${kind.noun}; refused while anything still uses it`)
      .option('--draft', 'edit the staged draft instead of the active catalog')
      .option('--dry-run', 'report what would change; change nothing')
      .action((name: string, opts: EntryOptions, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            await client.call('DELETE', `${path(name)}${stageSuffix(opts)}`);
            if (g.json) printJson({ name, removed: !opts.dryRun, stage: opts.draft ? 'draft' : 'active' });
            else process.stdout.write(`${opts.dryRun ? 'would remove' : 'removed'} ${kind.noun} ${name}\n`);
          });
        });
      });
  }
}
