import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface PlatformEvent {
  seq: number;
  id: string;
  type: string;
  occurred_at: string;
  org_id: string | null;
  client_id: string | null;
  subject: { kind: string; id: string };
  data: Record<string, unknown>;
}

interface Expiring {
  kind: string;
  id: string;
  not_after: string;
  days_left: number;
  org_id: string | null;
  client_id: string | null;
  label: string;
}

const wholeNumber = (what: string) => (value: string) => {
  if (!/^\d{1,9}$/.test(value))
    throw new CliError(`${what}: expected a whole number, got "${value}"`, 'bad_option', 2);
  return Number(value);
};

export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('platform events (what webhooks and mail are about)');

  events
    .command('list')
    .description('list platform events in order, oldest first; follow with --after <last seq>')
    .option('--type <type>', 'only this type (e.g. certificate.expiring, key.expiring)')
    .option('--org <id>', 'only this organisation’s')
    .option('--after <seq>', 'only events after this sequence number', wholeNumber('--after'))
    .option('--limit <n>', 'at most this many (1-1000, default 100)', wholeNumber('--limit'))
    .action((opts: { type?: string; org?: string; after?: number; limit?: number }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const q = new URLSearchParams();
        if (opts.type) q.set('type', opts.type);
        if (opts.org) q.set('org_id', opts.org);
        if (opts.after !== undefined) q.set('after', String(opts.after));
        if (opts.limit !== undefined) q.set('limit', String(opts.limit));
        await withAdminClient(g, async (client) => {
          const { items } = await client.call<{ items: PlatformEvent[] }>(
            'GET',
            `/events${q.size ? `?${q}` : ''}`,
          );
          if (g.json) return printJson(items);
          printTable(
            items.map((e) => ({
              ...e,
              subject: `${e.subject.kind}:${e.subject.id}`,
              days_left: e.data.days_left,
            })),
            ['seq', 'occurred_at', 'type', 'org_id', 'subject', 'days_left'],
          );
        });
      });
    });

  const mail = events
    .command('mail')
    .description(
      'notification mail in the outbox, newest first: who, which event, status, attempts, last error',
    )
    .option('--status <status>', 'pending | sending | sent | failed')
    .option('--event <id>', 'only the mail of this event (its id)');
  addPageOptions(mail).action((opts: PageOptions & { status?: string; event?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      const q = new URLSearchParams();
      if (opts.status) q.set('status', opts.status);
      if (opts.event) q.set('event_id', opts.event);
      await withAdminClient(g, async (client) => {
        const items = await readPages<Record<string, unknown>>(client, '/notifications/mail', q, opts);
        if (g.json) return printJson(items);
        printTable(items, ['created_at', 'event_type', 'recipient', 'status', 'attempts', 'last_error']);
      });
    });
  });

  const expiring = program
    .command('expiring')
    .description('certificates that expire and signing keys due for rotation within N days, soonest first')
    .option(
      '--within-days <n>',
      'look this many days ahead (1-3650, default 30)',
      wholeNumber('--within-days'),
    )
    .option(
      '--kind <kind>',
      'certificate | ca_certificate | federation_key | software_statement_key | access_token_key',
    );
  addPageOptions(expiring).action(
    (opts: PageOptions & { withinDays?: number; kind?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const q = new URLSearchParams();
        if (opts.withinDays !== undefined) q.set('within_days', String(opts.withinDays));
        if (opts.kind) q.set('kind', opts.kind);
        await withAdminClient(g, async (client) => {
          const items = await readPages<Expiring>(client, '/expiring', q, opts);
          if (g.json) return printJson(items);
          printTable(items as unknown as Array<Record<string, unknown>>, [
            'kind',
            'id',
            'not_after',
            'days_left',
            'org_id',
            'label',
          ]);
        });
      });
    },
  );
}
