import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface Operation {
  id: string;
  method: string;
  path_pattern: string;
  scope: string;
  description: string;
  roles?: string[];
}

interface OperationOptions {
  method?: string;
  path?: string;
  scope?: string;
  description?: string;
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
    ['scope', op.scope],
    ['description', op.description],
  ]);
}

function body(opts: OperationOptions): Record<string, string> {
  return {
    ...(opts.method !== undefined ? { method: opts.method.toUpperCase() } : {}),
    ...(opts.path !== undefined ? { path_pattern: opts.path } : {}),
    ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  };
}

export function registerCatalogCommands(program: Command): void {
  const catalog = program.command('catalog').description('the access catalog: operation → scope → roles');
  const operation = catalog
    .command('operation')
    .description('operations (method + path pattern) and the scope each needs; gateways apply edits at once');

  operation
    .command('list')
    .description('list operations with their scope and the roles that grant it')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const { items } = await client.call<{ items: Operation[] }>('GET', '/catalog');
          if (g.json) printJson(items);
          else
            printTable(items as unknown as Array<Record<string, unknown>>, [
              'id',
              'method',
              'path_pattern',
              'scope',
              'roles',
            ]);
        });
      });
    });

  operation
    .command('add')
    .description(
      'add an operation; refused with every finding (unknown scope, invalid or conflicting pattern)',
    )
    .requiredOption('--method <method>', 'GET, HEAD, POST, PUT, PATCH or DELETE')
    .requiredOption('--path <pattern>', 'path pattern: literal segments, {param}, an optional final **')
    .requiredOption('--scope <scope>', 'the scope a token needs for it (must exist in the catalog)')
    .option('--description <text>', 'what it does, for partners')
    .action((opts: OperationOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printOperation(await client.call<Operation>('POST', '/catalog/operations', body(opts)), g.json);
        });
      });
    });

  operation
    .command('update <id>')
    .description('change an operation’s method, path pattern, scope or description')
    .option('--method <method>', 'GET, HEAD, POST, PUT, PATCH or DELETE')
    .option('--path <pattern>', 'path pattern')
    .option('--scope <scope>', 'the scope a token needs for it')
    .option('--description <text>', 'what it does, for partners')
    .action((id: string, opts: OperationOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const path = `/catalog/operations/${encodeURIComponent(id)}`;
          printOperation(await client.call<Operation>('PATCH', path, body(opts)), g.json);
        });
      });
    });

  operation
    .command('remove <id>')
    .description('remove an operation; gateways answer 404 route_not_found for it at once')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call('DELETE', `/catalog/operations/${encodeURIComponent(id)}`);
          if (g.json) printJson({ id, removed: true });
          else process.stdout.write(`removed ${id}\n`);
        });
      });
    });
}
