import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type AdminClient, withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface IssuedStatement {
  software_statement: string;
  jti: string;
  software_id: string;
  org_id: string;
  expires_at: string;
}

interface Statement {
  jti: string;
  software_id: string;
  org_id: string;
  issued_at: string;
  expires_at: string;
  status: string;
  used_at: string | null;
  used_by_client_id: string | null;
}

const seconds = (value: string): number => {
  if (!/^\d+$/.test(value))
    throw new CliError(`expected a number of seconds, got "${value}"`, 'bad_option', 2);
  return Number(value);
};

/** The real DELETE route; its POST alias only when a reason has to reach the audit log. */
const revoke = (client: AdminClient, jti: string, reason: string | undefined) => {
  const path = `/software-statements/${encodeURIComponent(jti)}`;
  return reason
    ? client.call<Statement>('POST', `${path}/revoke`, { reason })
    : client.call<Statement>('DELETE', path);
};

export function registerSsaCommands(program: Command): void {
  const ssa = program
    .command('ssa')
    .description('software statements (RFC 7591 §2.3) that partners register clients with');

  ssa
    .command('issue')
    .description('issue a signed software statement for an application (shown once; one registration each)')
    .requiredOption('--app <software_id>', 'client_id of the manually registered application (the software)')
    .option('--lifetime <seconds>', 'validity, 60 to 3600 seconds (default 300)', seconds)
    .option('--out <file>', 'also write the statement (the JWT alone) to this file')
    .action((opts: { app: string; lifetime?: number; out?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const issued = await client.call<IssuedStatement>('POST', '/software-statements', {
            software_id: opts.app,
            ...(opts.lifetime === undefined ? {} : { lifetime_seconds: opts.lifetime }),
          });
          if (opts.out) writeFileSync(opts.out, `${issued.software_statement}\n`, { mode: 0o600 });
          if (g.json) return printJson(issued);
          printFields([
            ['jti', issued.jti],
            ['software_id', issued.software_id],
            ['org_id', issued.org_id],
            ['expires_at', issued.expires_at],
            ['software_statement', issued.software_statement],
          ]);
        });
      });
    });

  addPageOptions(
    ssa
      .command('list')
      .description('list issued software statements, newest first (never the statements themselves)')
      .option('--app <software_id>', 'only this application’s')
      .option('--org <id>', 'only this organisation’s')
      .option('--status <status>', 'only issued, used, revoked or expired'),
  ).action((opts: PageOptions & { app?: string; org?: string; status?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.app) q.set('software_id', opts.app);
        if (opts.org) q.set('org_id', opts.org);
        if (opts.status) q.set('status', opts.status);
        const items = await readPages<Statement>(client, '/software-statements', q, opts);
        if (g.json) return printJson(items);
        printTable(items as unknown as Array<Record<string, unknown>>, [
          'jti',
          'software_id',
          'status',
          'issued_at',
          'expires_at',
          'used_by_client_id',
        ]);
      });
    });
  });

  ssa
    .command('revoke <jti>')
    .description('revoke an unused software statement: registration refuses it from now on')
    .option('--reason <text>', 'why, for the audit log')
    .action((jti: string, opts: { reason?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const revoked = await revoke(client, jti, opts.reason);
          if (g.json) return printJson(revoked);
          printFields([
            ['jti', revoked.jti],
            ['software_id', revoked.software_id],
            ['status', revoked.status],
          ]);
        });
      });
    });
}
