import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';

const platform = () => import('../../platform/index.ts');

interface JoinToken {
  id: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
  revoked_at: string | null;
  token?: string;
  ca_sha256?: string;
  join_command?: string;
}

/** `15m`, `1h`, `90s` or plain seconds. */
export function parseTtl(value: string): number {
  const m = /^(\d{1,6})(s|m|h)?$/.exec(value.trim());
  if (!m) throw new CliError(`--ttl: "${value}" is not a duration like 15m, 1h or 900s`, 'invalid_input');
  const seconds = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (seconds < 60 || seconds > 86_400)
    throw new CliError('--ttl: from 1 minute to 24 hours', 'invalid_input');
  return seconds;
}

/** Issue 16: more platform nodes on the same PostgreSQL database, joined with one command. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('platform nodes sharing one PostgreSQL database');

  node
    .command('join-token')
    .description('create a one-use token for another node and print the complete `accredit join` command')
    .option('--ttl <duration>', 'how long the token is valid (1m to 24h)', '15m')
    .action((opts: { ttl: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const ttl = parseTtl(opts.ttl);
        await withAdminClient(g, async (client) => {
          const created = await client.call<JoinToken>('POST', '/nodes/join-tokens', { ttl_seconds: ttl });
          if (g.json) return printJson(created);
          printFields([
            ['id', created.id],
            ['expires', created.expires_at],
            ['CA SHA-256', created.ca_sha256 ?? ''],
          ]);
          process.stdout.write(
            `\nOn the new node (one use, until ${created.expires_at}; it carries the key-encryption key, keep it secret):\n\n  ${created.join_command}\n\nthen start it with \`accredit serve\`.\n`,
          );
        });
      });
    });

  const joinTokens = node
    .command('join-tokens')
    .description('list join tokens, newest first (never the tokens themselves)')
    .option('--state <state>', 'only unused, used, revoked or expired tokens');
  addPageOptions(joinTokens).action((opts: PageOptions & { state?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      if (opts.state !== undefined && !['unused', 'used', 'revoked', 'expired'].includes(opts.state)) {
        throw new CliError('--state: expected unused, used, revoked or expired', 'invalid_input');
      }
      await withAdminClient(g, async (client) => {
        const query = new URLSearchParams(opts.state ? { state: opts.state } : {});
        const items = await readPages<JoinToken>(client, '/nodes/join-tokens', query, opts);
        if (g.json) return printJson(items);
        printTable(
          items.map((t) => ({
            ...t,
            used_at: t.used_at ?? '',
            used_by: t.used_by ?? '',
            revoked_at: t.revoked_at ?? '',
          })),
          ['id', 'created_at', 'expires_at', 'used_at', 'used_by', 'revoked_at'],
        );
      });
    });
  });

  node
    .command('revoke-join-token')
    .description('revoke an unused join token')
    .argument('<id>', 'join token id')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const t = await client.call<JoinToken>('DELETE', `/nodes/join-tokens/${encodeURIComponent(id)}`);
          if (g.json) return printJson(t);
          printFields([
            ['id', t.id],
            ['revoked', t.revoked_at ?? ''],
          ]);
        });
      });
    });

  program
    .command('join')
    .description(
      'join this machine to a platform on PostgreSQL: pin its CA, redeem a join token, write the data directory',
    )
    .argument('<url>', 'https URL of any platform node (or the balancer in front of them)')
    .requiredOption('--token <token>', 'the one-use token from `accredit node join-token`')
    .requiredOption('--ca-sha256 <hex>', 'SHA-256 of the platform root CA, as `node join-token` printed it')
    .option('--name <name>', 'this node’s name in the audit trail (letters, digits, ".", "_", "-")')
    .option(
      '--hostname <names>',
      'extra host names of this node for its server certificate (comma-separated)',
    )
    .option(
      '--database-url <url>',
      'this node’s URL of the shared database, when it differs from the first node’s',
    )
    .action(
      (
        url: string,
        opts: { token: string; caSha256: string; name?: string; hostname?: string; databaseUrl?: string },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          const { JoinError, joinNode } = await platform();
          try {
            const result = await joinNode({
              url,
              token: opts.token,
              caSha256: opts.caSha256,
              dataDir: g.dataDir,
              ...(opts.name ? { nodeName: opts.name } : {}),
              ...(opts.hostname ? { hostnames: commaList(opts.hostname) } : {}),
              ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
              onProgress: (step) => process.stderr.write(`join: ${step}\n`),
            });
            if (g.json) return printJson(result);
            process.stdout.write('Joined. Start this node with `accredit serve`.\n');
            printFields([
              ['data directory', result.dataDir],
              ['public URL', result.publicUrl],
              ['key-encryption key', `${result.kekFile} (mode 0600)`],
              ['configuration', result.configFile],
            ]);
          } catch (err) {
            if (err instanceof JoinError) throw new CliError(err.message, err.code);
            throw err;
          }
        });
      },
    );
}
