import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

type Invitation = {
  id: string;
  org_id: string;
  role: string;
  email: string | null;
  expires_at: string;
  url: string;
};
type OperatorAccount = {
  account_id: string;
  username: string | null;
  name: string | null;
  role: string;
  created_at: string;
  created_by: string;
};

const MEMBER_ROLES = ['org_admin', 'developer', 'viewer'];
const OPERATOR_ROLES = ['administrator', 'auditor'];
const INVITATION_STATUSES = ['pending', 'accepted', 'revoked', 'expired'];

/**
 * Console access (issue 15): `accredit org invite` (a one-time link into an organisation, typically for its
 * first org admin) and `accredit operator grant|revoke|list` (who may use the operator console, and how).
 */
export function registerConsoleAccessCommands(program: Command): void {
  const org = program.commands.find((c) => c.name() === 'org') ?? program.command('org');
  org
    .command('invite')
    .description('invite a member into an organisation: prints a one-time console link (shown once, 7 days)')
    .requiredOption('--org <id>', 'organisation id')
    .requiredOption('--role <role>', `the member's role: ${MEMBER_ROLES.join(', ')}`)
    .option('--email <email>', 'whom the invitation is meant for (informational)')
    .action((opts: { org: string; role: string; email?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        if (!MEMBER_ROLES.includes(opts.role)) {
          throw new CliError(`--role must be one of ${MEMBER_ROLES.join(', ')}`, 'bad_option', 2);
        }
        await withAdminClient(g, async (client) => {
          const invitation = await client.call<Invitation>(
            'POST',
            `/organisations/${encodeURIComponent(opts.org)}/invitations`,
            { role: opts.role, ...(opts.email && { email: opts.email }) },
          );
          if (g.json) return printJson(invitation);
          printFields([
            ['id', invitation.id],
            ['role', invitation.role],
            ['expires_at', invitation.expires_at],
            ['url', invitation.url],
          ]);
          process.stderr.write(
            'accredit: the link is shown only now and works once; send it over a secure channel\n',
          );
        });
      });
    });

  const operator = program
    .command('operator')
    .description('operator console accounts: administrators change things, auditors only read');
  operator
    .command('grant <username>')
    .description('give an account of the built-in store an operator role (or change it)')
    .requiredOption('--role <role>', `${OPERATOR_ROLES.join(' or ')}`)
    .action((username: string, opts: { role: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        if (!OPERATOR_ROLES.includes(opts.role)) {
          throw new CliError(`--role must be ${OPERATOR_ROLES.join(' or ')}`, 'bad_option', 2);
        }
        await withAdminClient(g, async (client) => {
          const row = await client.call<OperatorAccount>(
            'PUT',
            `/operator-accounts/${encodeURIComponent(username)}`,
            { role: opts.role },
          );
          if (g.json) return printJson(row);
          printFields([
            ['account_id', row.account_id],
            ['username', row.username ?? ''],
            ['role', row.role],
          ]);
        });
      });
    });
  operator
    .command('revoke <username>')
    .description("take an account's operator role away")
    .action((username: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call('DELETE', `/operator-accounts/${encodeURIComponent(username)}`);
          if (g.json) return printJson({ revoked: username });
          process.stdout.write(`revoked ${username}\n`);
        });
      });
    });
  addPageOptions(
    operator
      .command('list')
      .description('list the accounts with an operator role, a page at a time (oldest grant first)')
      .option('--role <role>', `only this role: ${OPERATOR_ROLES.join(', ')}`),
  ).action((opts: PageOptions & { role?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      const q = new URLSearchParams();
      if (opts.role) q.set('role', oneOf('--role', opts.role, OPERATOR_ROLES));
      await withAdminClient(g, async (client) => {
        const items = await readPages<OperatorAccount>(client, '/operator-accounts', q, opts);
        if (g.json) return printJson(items);
        printTable(items, ['account_id', 'username', 'role', 'created_at', 'created_by']);
      });
    });
  });

  addPageOptions(
    org
      .command('invitations')
      .description("list an organisation's invitations, a page at a time (newest first)")
      .requiredOption('--org <id>', 'organisation id')
      .option('--status <status>', `only this status: ${INVITATION_STATUSES.join(', ')}`)
      .option('--role <role>', `only this role: ${MEMBER_ROLES.join(', ')}`)
      .option('--email-prefix <prefix>', 'only invited e-mail addresses starting with this'),
  ).action(
    (
      opts: PageOptions & { org: string; status?: string; role?: string; emailPrefix?: string },
      cmd: Command,
    ) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const q = new URLSearchParams();
        if (opts.status) q.set('status', oneOf('--status', opts.status, INVITATION_STATUSES));
        if (opts.role) q.set('role', oneOf('--role', opts.role, MEMBER_ROLES));
        if (opts.emailPrefix) q.set('email_prefix', opts.emailPrefix);
        await withAdminClient(g, async (client) => {
          const items = await readPages<Record<string, unknown>>(
            client,
            `/organisations/${encodeURIComponent(opts.org)}/invitations`,
            q,
            opts,
          );
          if (g.json) return printJson(items);
          printTable(items, ['id', 'role', 'email', 'status', 'created_at', 'expires_at']);
        });
      });
    },
  );

  addPageOptions(
    org
      .command('members')
      .description("list an organisation's members, a page at a time (oldest membership first)")
      .requiredOption('--org <id>', 'organisation id')
      .option('--role <role>', `only this role: ${MEMBER_ROLES.join(', ')}`),
  ).action((opts: PageOptions & { org: string; role?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      const q = new URLSearchParams();
      if (opts.role) q.set('role', oneOf('--role', opts.role, MEMBER_ROLES));
      await withAdminClient(g, async (client) => {
        const items = await readPages<Record<string, unknown>>(
          client,
          `/organisations/${encodeURIComponent(opts.org)}/members`,
          q,
          opts,
        );
        if (g.json) return printJson(items);
        printTable(items, ['account_id', 'username', 'email', 'role', 'account_status', 'created_at']);
      });
    });
  });
}

function oneOf(option: string, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value))
    throw new CliError(`${option} must be one of ${allowed.join(', ')}`, 'bad_option', 2);
  return value;
}
