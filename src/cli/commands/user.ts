import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

type Account = {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  status: string;
  totp: boolean;
  locked_until: string | null;
  created_at: string;
};

type Grant = {
  grant_id: string;
  account_id: string;
  username: string | null;
  client_id: string;
  scope: string;
  created_at: string;
  expires_at: string;
};

const path = (user: string, rest = '') => `/users/${encodeURIComponent(user)}${rest}`;

/** A password never on the command line (visible in the process list): from a file or standard input. */
function readPassword(opts: { passwordFile?: string; passwordStdin?: boolean }): string {
  if (opts.passwordFile && opts.passwordStdin) {
    throw new CliError('give either --password-file or --password-stdin', 'bad_option', 2);
  }
  let raw: string;
  try {
    if (opts.passwordFile) raw = readFileSync(opts.passwordFile, 'utf8');
    else if (opts.passwordStdin) raw = readFileSync(0, 'utf8');
    else
      throw new CliError('a password is needed: --password-file <path> or --password-stdin', 'bad_option', 2);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read the password: ${(err as Error).message}`, 'bad_option', 2);
  }
  return raw.replace(/\r?\n$/, '');
}

const show = (json: boolean, a: Account) =>
  json
    ? printJson(a)
    : printFields([
        ['id', a.id],
        ['username', a.username],
        ['status', a.status],
        ['totp', a.totp],
        ['locked_until', a.locked_until ?? ''],
      ]);

export function registerUserCommands(program: Command): void {
  const user = program
    .command('user')
    .description('end-user accounts of the built-in store (login to the authorization server)');

  user
    .command('add <username>')
    .description('add an account (password hashed with argon2id)')
    .option('--password-file <path>', 'read the password from this file')
    .option('--password-stdin', 'read the password from standard input')
    .option('--name <name>', 'display name (the name claim)')
    .option('--email <email>', 'email address (the email claim)')
    .action(
      (
        username: string,
        opts: { passwordFile?: string; passwordStdin?: boolean; name?: string; email?: string },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          const password = readPassword(opts);
          await withAdminClient(g, async (client) => {
            const added = await client.call<Account>('POST', '/users', {
              username,
              password,
              ...(opts.name && { name: opts.name }),
              ...(opts.email && { email: opts.email }),
            });
            show(g.json, added);
          });
        });
      },
    );

  addPageOptions(
    user
      .command('list')
      .description('list accounts, a page at a time (username order)')
      .option('--status <status>', 'only active or disabled')
      .option('--username-prefix <prefix>', 'only usernames starting with this')
      .option('--email-prefix <prefix>', 'only e-mail addresses starting with this (case-insensitive)'),
  ).action(
    (
      opts: PageOptions & { status?: string; usernamePrefix?: string; emailPrefix?: string },
      cmd: Command,
    ) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const q = new URLSearchParams();
          if (opts.status) q.set('status', opts.status);
          if (opts.usernamePrefix) q.set('username_prefix', opts.usernamePrefix);
          if (opts.emailPrefix) q.set('email_prefix', opts.emailPrefix);
          const users = await readPages<Account>(client, '/users', q, opts, 'users');
          if (g.json) return printJson(users);
          printTable(users, ['id', 'username', 'status', 'totp', 'locked_until', 'created_at']);
        });
      });
    },
  );

  for (const verb of ['disable', 'enable'] as const) {
    user
      .command(`${verb} <user>`)
      .description(verb === 'disable' ? 'disable an account (it cannot sign in)' : 'enable an account again')
      .action((who: string, _opts: unknown, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) =>
            show(g.json, await client.call<Account>('POST', path(who, `/${verb}`))),
          );
        });
      });
  }

  user
    .command('remove <user>')
    .description('remove an account and revoke its consents and refresh tokens')
    .action((who: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call('DELETE', path(who));
          if (g.json) return printJson({ removed: who });
          process.stdout.write(`removed ${who}\n`);
        });
      });
    });

  user
    .command('password <user>')
    .description('set an account’s password (clears its lockout)')
    .option('--password-file <path>', 'read the password from this file')
    .option('--password-stdin', 'read the password from standard input')
    .action((who: string, opts: { passwordFile?: string; passwordStdin?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const password = readPassword(opts);
        await withAdminClient(g, async (client) =>
          show(g.json, await client.call<Account>('PUT', path(who, '/password'), { password })),
        );
      });
    });

  const totp = user.command('totp').description('time-based one-time passwords (RFC 6238) for an account');
  totp
    .command('enable <user>')
    .description('enrol TOTP: prints the secret and otpauth URI once, for the user’s authenticator app')
    .action((who: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const enrolled = await client.call<Account & { totp_secret: string; totp_uri: string }>(
            'POST',
            path(who, '/totp'),
          );
          if (g.json) return printJson(enrolled);
          printFields([
            ['username', enrolled.username],
            ['totp_secret', enrolled.totp_secret],
            ['totp_uri', enrolled.totp_uri],
          ]);
          process.stderr.write(
            'accredit: the secret is shown only now; hand it to the user over a secure channel\n',
          );
        });
      });
    });
  totp
    .command('disable <user>')
    .description('turn TOTP off for an account')
    .action((who: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) =>
          show(g.json, await client.call<Account>('DELETE', path(who, '/totp'))),
        );
      });
    });
}

export function registerGrantCommands(program: Command): void {
  const grant = program.command('grant').description('remembered end-user consents (grants)');
  addPageOptions(
    grant
      .command('list')
      .description('list consents, optionally of one user or client, a page at a time (oldest first)')
      .option('--user <user>', 'account id or username')
      .option('--client <client_id>', 'client id'),
  ).action((opts: PageOptions & { user?: string; client?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams({
          ...(opts.user && { user: opts.user }),
          ...(opts.client && { client_id: opts.client }),
        });
        const grants = await readPages<Grant>(client, '/grants', q, opts, 'grants');
        if (g.json) return printJson(grants);
        printTable(grants, ['grant_id', 'username', 'client_id', 'scope', 'expires_at']);
      });
    });
  });
  grant
    .command('revoke <grant_id>')
    .description('revoke a consent and every code and refresh token issued under it')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call('DELETE', `/grants/${encodeURIComponent(id)}`);
          if (g.json) return printJson({ revoked: id });
          process.stdout.write(`revoked ${id}\n`);
        });
      });
    });
}
