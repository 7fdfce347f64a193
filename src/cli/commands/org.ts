import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';
import { registerOrgCaCommands } from './org-ca.ts';
import { registerRateLimitCommand } from './rate-limit.ts';
import { registerRotationPolicyCommand } from './rotation-policy.ts';

interface Org {
  id: string;
  name: string;
  status: string;
  roles?: string[];
  created_at: string;
}

function printOrg(org: Org, json: boolean): void {
  if (json) {
    printJson(org);
    return;
  }
  printFields([
    ['id', org.id],
    ['name', org.name],
    ['status', org.status],
    ['roles', org.roles],
  ]);
}

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('manage partner organisations');
  registerRotationPolicyCommand(org, 'organisation');
  registerRateLimitCommand(org, 'organisation');

  org
    .command('create')
    .description('create an organisation (the accountable party every client belongs to)')
    .requiredOption('--name <name>', 'organisation name (unique and unlike any other, at most 64 characters)')
    .option('--roles <roles>', 'roles its clients may hold, comma-separated (default: every role)', commaList)
    .action((opts: { name: string; roles?: string[] }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const created = await client.call<Org>('POST', '/organisations', {
            name: opts.name,
            ...(opts.roles ? { roles: opts.roles } : {}),
          });
          printOrg(created, g.json);
        });
      });
    });

  addPageOptions(
    org
      .command('list')
      .description('list organisations, a page at a time (oldest first)')
      .option('--status <status>', 'only active, suspended or offboarded')
      .option('--name-prefix <prefix>', 'only names starting with this (case-insensitive)'),
  ).action((opts: PageOptions & { status?: string; namePrefix?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.status) q.set('status', opts.status);
        if (opts.namePrefix) q.set('name_prefix', opts.namePrefix);
        const items = await readPages<Org>(client, '/organisations', q, opts);
        if (g.json) printJson(items);
        else
          printTable(items as unknown as Array<Record<string, unknown>>, [
            'id',
            'name',
            'status',
            'created_at',
          ]);
      });
    });
  });

  org
    .command('show <id>')
    .description('show one organisation with its roles and contacts')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printOrg(await client.call<Org>('GET', `/organisations/${encodeURIComponent(id)}`), g.json);
        });
      });
    });

  for (const [verb, text] of [
    ['suspend', 'suspend: every client, certificate and token of the organisation is refused at once'],
    ['activate', 're-activate a suspended organisation'],
    ['offboard', 'offboard (final): suspends its clients and revokes its certificates'],
  ] as const) {
    org
      .command(`${verb} <id>`)
      .description(text)
      .option('--reason <text>', 'why, for the audit log')
      .action((id: string, opts: { reason?: string }, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            const body = opts.reason ? { reason: opts.reason } : {};
            printOrg(
              await client.call<Org>('POST', `/organisations/${encodeURIComponent(id)}/${verb}`, body),
              g.json,
            );
          });
        });
      });
  }

  registerOrgCaCommands(org);

  const role = org.command('role').description('the roles an organisation’s applications may be granted');
  role
    .command('approve <id> <role>')
    .description('approve a role for the organisation')
    .action((id: string, roleName: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printOrg(
            await client.call<Org>('POST', `/organisations/${encodeURIComponent(id)}/roles`, {
              role: roleName,
            }),
            g.json,
          );
        });
      });
    });
  role
    .command('withdraw <id> <role>')
    .description('withdraw a role approval (refused while one of its applications holds the role)')
    .action((id: string, roleName: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printOrg(
            await client.call<Org>(
              'DELETE',
              `/organisations/${encodeURIComponent(id)}/roles/${encodeURIComponent(roleName)}`,
            ),
            g.json,
          );
        });
      });
    });
}
