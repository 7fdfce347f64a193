import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printIssuedCertificate, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';
import { registerCertRenewalCommands } from './rotation-policy.ts';

interface Cert {
  serial: string;
  client_id: string;
  org_id: string;
  subject: string;
  x5t_s256: string;
  not_after: string;
  status: string;
  revocation_reason?: string | null;
  certificate_pem?: string;
}

export function registerCertCommands(program: Command): void {
  const cert = program.command('cert').description('partner transport certificates');
  registerCertRenewalCommands(cert);

  cert
    .command('issue')
    .description('issue a client certificate from a PKCS#10 CSR; the subject is set from the directory')
    .requiredOption('--app <clientId>', 'application the certificate is for')
    .requiredOption('--csr <file>', 'PEM CSR (e.g. from `openssl req -new`)')
    .option('--out <file>', 'write the certificate PEM here (default: print it)')
    .action((opts: { app: string; csr: string; out?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        let csr: string;
        try {
          csr = readFileSync(opts.csr, 'utf8');
        } catch {
          throw new CliError(`cannot read CSR file ${opts.csr}`, 'bad_file');
        }
        await withAdminClient(g, async (client) => {
          const issued = await client.call<Cert & { certificate_pem: string }>(
            'POST',
            `/applications/${encodeURIComponent(opts.app)}/certificates`,
            { csr },
          );
          printIssuedCertificate(
            issued,
            [
              ['serial', issued.serial],
              ['x5t#S256', issued.x5t_s256],
              ['subject', issued.subject],
              ['not_after', issued.not_after],
            ],
            { out: opts.out, json: g.json },
          );
        });
      });
    });

  addPageOptions(
    cert
      .command('list')
      .description('list issued certificates, a page at a time (newest first)')
      .option('--app <clientId>', 'only this application’s')
      .option('--org <id>', 'only this organisation’s')
      .option('--status <status>', 'active or revoked'),
  ).action((opts: PageOptions & { app?: string; org?: string; status?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      const q = new URLSearchParams();
      if (opts.app) q.set('client_id', opts.app);
      if (opts.org) q.set('org_id', opts.org);
      if (opts.status) q.set('status', opts.status);
      await withAdminClient(g, async (client) => {
        const items = await readPages<Cert>(client, '/certificates', q, opts);
        if (g.json) printJson(items);
        else
          printTable(items as unknown as Array<Record<string, unknown>>, [
            'serial',
            'client_id',
            'status',
            'not_after',
            'x5t_s256',
          ]);
      });
    });
  });

  cert
    .command('revoke <serial>')
    .description('revoke a certificate (RFC 5280 reason) and publish a new CRL at once')
    .option(
      '--reason <reason>',
      'unspecified | keyCompromise | cACompromise | affiliationChanged | superseded | cessationOfOperation | privilegeWithdrawn | aACompromise',
      'unspecified',
    )
    .action((serial: string, opts: { reason: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const revoked = await client.call<Cert>(
            'POST',
            `/certificates/${encodeURIComponent(serial)}/revoke`,
            {
              reason: opts.reason,
            },
          );
          if (g.json) return printJson(revoked);
          printFields([
            ['serial', revoked.serial],
            ['status', revoked.status],
            ['reason', revoked.revocation_reason],
          ]);
        });
      });
    });
}
