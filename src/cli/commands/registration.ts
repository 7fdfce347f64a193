import type { Command } from 'commander';
import { type AdminClient, withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';

interface InitialAccessToken {
  id: string;
  org_id: string;
  roles: string[];
  status: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  max_uses: number;
  used_count: number;
  revoked_at: string | null;
}

interface IssuedToken extends InitialAccessToken {
  initial_access_token: string;
}

const BASE = '/registration/initial-access-tokens';

const count =
  (what: string) =>
  (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new CliError(`expected a number of ${what}, got "${value}"`, 'bad_option', 2);
    return Number(value);
  };

/** The real DELETE route; its POST alias only when a reason has to reach the audit log. */
const revoke = (client: AdminClient, id: string, reason: string | undefined) => {
  const path = `${BASE}/${encodeURIComponent(id)}`;
  return reason
    ? client.call<InitialAccessToken>('POST', `${path}/revoke`, { reason })
    : client.call<InitialAccessToken>('DELETE', path);
};

export function registerRegistrationCommands(program: Command): void {
  const registration = program
    .command('registration')
    .description('dynamic client registration (RFC 7591) settings an operator manages');
  const token = registration
    .command('token')
    .description(
      'initial access tokens (RFC 7591 §3): let an organisation register clients without a software statement (needs registration.allowInitialAccessTokens)',
    );

  token
    .command('issue')
    .description('issue an initial access token for an organisation (shown once)')
    .requiredOption('--org <org_id>', 'the organisation its clients belong to')
    .requiredOption(
      '--roles <roles>',
      'comma-separated: the most a client registered with it may hold',
      commaList,
    )
    .option('--expires-in <seconds>', 'validity, 60 seconds to 30 days (default 86400)', count('seconds'))
    .option('--uses <n>', 'registrations it allows, 1 to 100 (default 1)', count('uses'))
    .action((opts: { org: string; roles: string[]; expiresIn?: number; uses?: number }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const issued = await client.call<IssuedToken>('POST', BASE, {
            org_id: opts.org,
            roles: opts.roles,
            ...(opts.expiresIn === undefined ? {} : { expires_in_seconds: opts.expiresIn }),
            ...(opts.uses === undefined ? {} : { max_uses: opts.uses }),
          });
          if (g.json) return printJson(issued);
          printFields([
            ['id', issued.id],
            ['org_id', issued.org_id],
            ['roles', issued.roles],
            ['expires_at', issued.expires_at],
            ['max_uses', issued.max_uses],
            ['initial_access_token', issued.initial_access_token],
          ]);
          process.stderr.write(
            'accredit: the token is shown only now; hand it to the partner over a secure channel\n',
          );
        });
      });
    });

  addPageOptions(
    token
      .command('list')
      .description('list initial access tokens, newest first (never the tokens themselves)')
      .option('--org <org_id>', 'only this organisation’s')
      .option('--status <status>', 'only active, expired, exhausted or revoked'),
  ).action((opts: PageOptions & { org?: string; status?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.org) q.set('org_id', opts.org);
        if (opts.status) q.set('status', opts.status);
        const items = await readPages<InitialAccessToken>(client, BASE, q, opts);
        if (g.json) return printJson(items);
        printTable(
          items.map((t) => ({ ...t, uses: `${t.used_count}/${t.max_uses}` })),
          ['id', 'org_id', 'roles', 'status', 'uses', 'expires_at'],
        );
      });
    });
  });

  token
    .command('revoke <id>')
    .description('revoke an initial access token: registration refuses it from now on')
    .option('--reason <text>', 'why, for the audit log')
    .action((id: string, opts: { reason?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const revoked = await revoke(client, id, opts.reason);
          if (g.json) return printJson(revoked);
          printFields([
            ['id', revoked.id],
            ['org_id', revoked.org_id],
            ['status', revoked.status],
            ['uses', `${revoked.used_count}/${revoked.max_uses}`],
          ]);
        });
      });
    });
}
