import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';

interface Subscription {
  id: string;
  url: string;
  event_types: string[];
  org_id: string | null;
  scheme: string;
  description: string | null;
  status: string;
  previous_secret_until: string | null;
  created_at: string;
  secret?: string;
}

interface Delivery {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  attempt_log?: Array<{
    attempt: number;
    started_at: string;
    duration_ms: number;
    status_code: number | null;
    error: string | null;
  }>;
}

const STATUSES = ['pending', 'delivered', 'dead', 'cancelled'];
const path = (id: string) => `/webhooks/${encodeURIComponent(id)}`;

function showSubscription(sub: Subscription): void {
  printFields([
    ['id', sub.id],
    ['url', sub.url],
    ['events', sub.event_types],
    ['organisation', sub.org_id ?? '(all)'],
    ['scheme', sub.scheme],
    ['status', sub.status],
    ['description', sub.description ?? ''],
    ...(sub.previous_secret_until
      ? [['previous secret until', sub.previous_secret_until] as [string, unknown]]
      : []),
    ['created', sub.created_at],
  ]);
  if (sub.secret) {
    process.stdout.write(`\nsecret: ${sub.secret}\n`);
    process.stdout.write('  (shown only now: verify webhook-signature with it, see docs/webhooks.md)\n');
  }
}

const deliveryColumns = [
  'id',
  'event_type',
  'status',
  'attempts',
  'last_status_code',
  'last_error',
  'created_at',
];

export function registerWebhookCommands(program: Command): void {
  const webhook = program
    .command('webhook')
    .description('signed webhooks: subscriptions to platform events, their deliveries and dead letters');

  webhook
    .command('add <receiver-url>')
    .description('subscribe an https receiver to platform events (a standard-webhooks secret is shown once)')
    .option('--events <types>', 'comma-separated event types, or * for all', commaList, ['*'])
    .option('--org <id>', "only this organisation's events")
    .option('--scheme <scheme>', 'jws (signed with /events/jwks keys) or standard-webhooks (HMAC)', 'jws')
    .option('--description <text>', 'what the receiver is, for operators')
    .action(
      (
        receiverUrl: string,
        opts: { events: string[]; org?: string; scheme: string; description?: string },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            const sub = await client.call<Subscription>('POST', '/webhooks', {
              url: receiverUrl,
              event_types: opts.events,
              scheme: opts.scheme,
              ...(opts.org ? { org_id: opts.org } : {}),
              ...(opts.description ? { description: opts.description } : {}),
            });
            if (g.json) return printJson(sub);
            showSubscription(sub);
          });
        });
      },
    );

  addPageOptions(
    webhook
      .command('list')
      .description('list webhook subscriptions (never their secrets)')
      .option('--org <id>', "only this organisation's")
      .option('--status <status>', 'only active or disabled')
      .option('--event <type>', 'only subscriptions receiving this event type'),
  ).action((opts: PageOptions & { org?: string; status?: string; event?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.org) q.set('org_id', opts.org);
        if (opts.status) q.set('status', opts.status);
        if (opts.event) q.set('event_type', opts.event);
        const items = await readPages<Subscription>(client, '/webhooks', q, opts);
        if (g.json) return printJson(items);
        printTable(items as unknown as Array<Record<string, unknown>>, [
          'id',
          'url',
          'event_types',
          'org_id',
          'scheme',
          'status',
        ]);
      });
    });
  });

  webhook
    .command('show <id>')
    .description('show one subscription')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const sub = await client.call<Subscription>('GET', path(id));
          if (g.json) return printJson(sub);
          showSubscription(sub);
        });
      });
    });

  webhook
    .command('update <id>')
    .description('change a subscription: its receiver URL, event types or description')
    .option('--receiver <url>', 'the new receiver URL (https)')
    .option('--events <types>', 'comma-separated event types, or * for all', commaList)
    .option('--description <text>', 'what the receiver is ("" to clear)')
    .action(
      (id: string, opts: { receiver?: string; events?: string[]; description?: string }, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          const body = {
            ...(opts.receiver !== undefined ? { url: opts.receiver } : {}),
            ...(opts.events !== undefined ? { event_types: opts.events } : {}),
            ...(opts.description !== undefined ? { description: opts.description || null } : {}),
          };
          if (Object.keys(body).length === 0) {
            throw new CliError(
              'nothing to change: give --receiver, --events or --description',
              'bad_option',
              2,
            );
          }
          await withAdminClient(g, async (client) => {
            const sub = await client.call<Subscription>('PATCH', path(id), body);
            if (g.json) return printJson(sub);
            showSubscription(sub);
          });
        });
      },
    );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    webhook
      .command(`${verb} <id>`)
      .description(
        enabled ? 'resume deliveries (held ones are sent)' : 'hold deliveries (they are kept, not sent)',
      )
      .action((id: string, _opts: unknown, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            const sub = await client.call<Subscription>('PATCH', path(id), { enabled });
            if (g.json) return printJson(sub);
            showSubscription(sub);
          });
        });
      });
  }

  webhook
    .command('remove <id>')
    .description('remove a subscription; its pending deliveries are cancelled (the log stays)')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const sub = await client.call<Subscription>('DELETE', path(id));
          if (g.json) return printJson(sub);
          process.stdout.write(`removed ${sub.id}\n`);
        });
      });
    });

  webhook
    .command('rotate-secret <id>')
    .description('new standard-webhooks secret (shown once); the old one keeps signing during the overlap')
    .option('--overlap <seconds>', 'how long the previous secret signs too (default 86400)', (v: string) => {
      if (!/^\d+$/.test(v)) throw new CliError(`--overlap: expected seconds, got "${v}"`, 'bad_option', 2);
      return Number(v);
    })
    .action((id: string, opts: { overlap?: number }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const sub = await client.call<Subscription>(
            'POST',
            `${path(id)}/rotate-secret`,
            opts.overlap === undefined ? {} : { overlap_seconds: opts.overlap },
          );
          if (g.json) return printJson(sub);
          showSubscription(sub);
        });
      });
    });

  webhook
    .command('test <id>')
    .description('send a webhook.ping event to the subscription now')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const delivery = await client.call<Delivery>('POST', `${path(id)}/test`);
          if (g.json) return printJson(delivery);
          process.stdout.write(
            `queued ping ${delivery.event_id} (delivery ${delivery.id}); see \`accredit webhook deliveries ${id}\`\n`,
          );
        });
      });
    });

  addPageOptions(
    webhook
      .command('deliveries [id]')
      .description("a subscription's delivery log, newest first; without an id, the dead letters of all")
      .option('--status <status>', `only ${STATUSES.join(', ')}`)
      .option('--dead', 'only dead deliveries (the dead-letter view)')
      .option('--event <type>', 'only this event type')
      .option('--since <time>', 'only deliveries created at or after this ISO 8601 time')
      .option('--before <time>', 'only deliveries created before this ISO 8601 time'),
  ).action(
    (
      id: string | undefined,
      opts: PageOptions & {
        status?: string;
        dead?: boolean;
        event?: string;
        since?: string;
        before?: string;
      },
      cmd: Command,
    ) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const status = opts.dead ? 'dead' : opts.status;
        if (status !== undefined && !STATUSES.includes(status)) {
          throw new CliError(`--status: one of ${STATUSES.join(', ')}`, 'bad_option', 2);
        }
        if (id === undefined && status !== undefined && status !== 'dead') {
          throw new CliError('without a subscription id only dead deliveries are listed', 'bad_option', 2);
        }
        await withAdminClient(g, async (client) => {
          const params = new URLSearchParams();
          if (status && id !== undefined) params.set('status', status);
          if (opts.event) params.set('event_type', opts.event);
          if (opts.since) params.set('since', opts.since);
          if (opts.before) params.set('before', opts.before);
          const route = id === undefined ? '/webhooks/dead-letter' : `${path(id)}/deliveries`;
          const items = await readPages<Delivery>(client, route, params, opts);
          if (g.json) return printJson(items);
          printTable(
            items as unknown as Array<Record<string, unknown>>,
            id === undefined ? ['subscription_id', ...deliveryColumns] : deliveryColumns,
          );
        });
      });
    },
  );

  webhook
    .command('delivery <id> <delivery>')
    .description('one delivery with every attempt (status code, duration, error)')
    .action((id: string, delivery: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const d = await client.call<Delivery>(
            'GET',
            `${path(id)}/deliveries/${encodeURIComponent(delivery)}`,
          );
          if (g.json) return printJson(d);
          printFields([
            ['id', d.id],
            ['event', `${d.event_type} ${d.event_id}`],
            ['status', d.status],
            ['attempts', d.attempts],
            ['next attempt', d.next_attempt_at ?? ''],
            ['delivered', d.delivered_at ?? ''],
          ]);
          process.stdout.write('\n');
          printTable((d.attempt_log ?? []) as unknown as Array<Record<string, unknown>>, [
            'attempt',
            'started_at',
            'duration_ms',
            'status_code',
            'error',
          ]);
        });
      });
    });

  webhook
    .command('redeliver <id> <delivery>')
    .description('send a dead (or delivered) delivery again: same payload and webhook-id, fresh retries')
    .action((id: string, delivery: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const d = await client.call<Delivery>(
            'POST',
            `${path(id)}/deliveries/${encodeURIComponent(delivery)}/redeliver`,
          );
          if (g.json) return printJson(d);
          process.stdout.write(`queued ${d.id} again (${d.event_type} ${d.event_id})\n`);
        });
      });
    });
}
