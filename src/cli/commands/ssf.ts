import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface Receiver {
  id: string;
  name: string;
  org_id: string | null;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
  token?: string;
}

/** `accredit ssf receiver add|list|revoke`: who may open Shared Signals streams (docs/shared-signals.md). */
export function registerSsfCommands(program: Command): void {
  const ssf = program.command('ssf').description('OpenID Shared Signals Framework transmitter');
  const receiver = ssf
    .command('receiver')
    .description('receivers (gateways, SOCs, partners) that may open Shared Signals streams');

  receiver
    .command('add')
    .description('grant a receiver a bearer token (shown once); --org limits it to one organisation')
    .requiredOption(
      '--name <name>',
      'a name (letters, digits, ".", "_", "-"); the default audience of its SETs',
    )
    .option('--org <id>', "only events about this organisation's subjects (a partner's own SOC)")
    .action((opts: { name: string; org?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const issued = await client.call<Receiver>('POST', '/ssf/receivers', {
            name: opts.name,
            ...(opts.org !== undefined ? { org_id: opts.org } : {}),
          });
          if (g.json) return printJson(issued);
          printFields([
            ['id', issued.id],
            ['name', issued.name],
            ['org', issued.org_id ?? '(all organisations)'],
            ['token', `${issued.token} (shown once: give it to the receiver over a secure channel)`],
          ]);
        });
      });
    });

  addPageOptions(
    receiver
      .command('list')
      .description('list receivers (never their tokens)')
      .option('--org <id>', 'only the receivers scoped to this organisation')
      .option('--status <status>', 'only active or revoked'),
  ).action((opts: PageOptions & { org?: string; status?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.org) q.set('org_id', opts.org);
        if (opts.status) q.set('status', opts.status);
        const items = await readPages<Receiver>(client, '/ssf/receivers', q, opts);
        if (g.json) return printJson(items);
        printTable(
          items.map((r) => ({ ...r, org_id: r.org_id ?? '', revoked_at: r.revoked_at ?? '' })),
          ['id', 'name', 'org_id', 'created_at', 'revoked_at'],
        );
      });
    });
  });

  receiver
    .command('revoke')
    .description(
      'revoke a receiver: its token is refused, its streams disabled and their queued SETs dropped',
    )
    .argument('<id>', 'receiver id')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const revoked = await client.call<Receiver>('DELETE', `/ssf/receivers/${encodeURIComponent(id)}`);
          if (g.json) return printJson(revoked);
          printFields([
            ['id', revoked.id],
            ['name', revoked.name],
            ['revoked', revoked.revoked_at],
          ]);
        });
      });
    });
}
