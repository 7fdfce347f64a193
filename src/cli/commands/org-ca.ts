import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';

interface ExternalCa {
  id: string;
  org_id: string;
  subject: string;
  spki_sha256: string;
  not_after: string;
  crl_urls: string[];
  ocsp_url: string | null;
  crl: {
    next_update: string | null;
    revoked_count: number;
    stale_after: string | null;
    last_error: string | null;
  };
}

function seconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new CliError(`${name} must be a whole number of seconds`, 'bad_option');
    return n;
  };
}

function printCa(ca: ExternalCa, json: boolean): void {
  if (json) {
    printJson(ca);
    return;
  }
  printFields([
    ['id', ca.id],
    ['organisation', ca.org_id],
    ['subject', ca.subject],
    ['key pin (SPKI SHA-256)', ca.spki_sha256],
    ['valid until', ca.not_after],
    ['CRL URLs', ca.crl_urls],
    ['OCSP URL', ca.ocsp_url ?? 'none (CRL only)'],
    ['CRL next update', ca.crl.next_update ?? 'never fetched'],
    ['revoked serials', String(ca.crl.revoked_count)],
    ['refused after', ca.crl.stale_after ?? 'now (no CRL yet)'],
    ['last CRL error', ca.crl.last_error ?? undefined],
  ]);
}

/** `accredit org ca add|list|remove|refresh`: an organisation's own CA (bring your own CA). */
export function registerOrgCaCommands(org: Command): void {
  const ca = org
    .command('ca')
    .description('an organisation’s own certificate authorities (bring your own CA), pinned by key');

  ca.command('add <org-id>')
    .description("register the organisation's CA; its CRL is fetched at once, then on schedule")
    .requiredOption('--cert <file>', 'the CA certificate (PEM)')
    .option('--crl-url <urls>', 'CRL URLs, comma-separated (default: its CRL distribution points)', commaList)
    .option(
      '--ocsp-url <url>',
      'OCSP responder URL: the token endpoint then also needs its current `good` answer (fail closed)',
    )
    .option('--refresh <seconds>', 'how often its CRL is fetched (default 3600)', seconds('--refresh'))
    .option(
      '--max-staleness <seconds>',
      'how long past the CRL nextUpdate its certificates are still accepted (default 3600)',
      seconds('--max-staleness'),
    )
    .action(
      (
        orgId: string,
        opts: { cert: string; crlUrl?: string[]; ocspUrl?: string; refresh?: number; maxStaleness?: number },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          let pem: string;
          try {
            pem = readFileSync(opts.cert, 'utf8');
          } catch {
            throw new CliError(`cannot read certificate file ${opts.cert}`, 'bad_file');
          }
          await withAdminClient(g, async (client) => {
            const created = await client.call<ExternalCa>(
              'POST',
              `/organisations/${encodeURIComponent(orgId)}/cas`,
              {
                certificate_pem: pem,
                ...(opts.crlUrl ? { crl_urls: opts.crlUrl } : {}),
                ...(opts.ocspUrl ? { ocsp_url: opts.ocspUrl } : {}),
                ...(opts.refresh !== undefined ? { refresh_seconds: opts.refresh } : {}),
                ...(opts.maxStaleness !== undefined ? { max_staleness_seconds: opts.maxStaleness } : {}),
              },
            );
            printCa(created, g.json);
          });
        });
      },
    );

  addPageOptions(
    ca
      .command('list <org-id>')
      .description("list the organisation's registered CAs with their CRL state")
      .option('--expired', 'only the CAs whose certificate has ended')
      .option('--valid', 'only the CAs whose certificate is still valid'),
  ).action((orgId: string, opts: PageOptions & { expired?: boolean; valid?: boolean }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      if (opts.expired && opts.valid)
        throw new CliError('--expired and --valid exclude each other', 'bad_option', 2);
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.expired) q.set('expired', 'true');
        if (opts.valid) q.set('expired', 'false');
        const items = await readPages<ExternalCa>(
          client,
          `/organisations/${encodeURIComponent(orgId)}/cas`,
          q,
          opts,
        );
        if (g.json) return printJson(items);
        printTable(
          items.map((c) => ({
            id: c.id,
            subject: c.subject,
            revoked: c.crl.revoked_count,
            refused_after: c.crl.stale_after ?? 'now',
            last_error: c.crl.last_error ?? '',
          })),
          ['id', 'subject', 'revoked', 'refused_after', 'last_error'],
        );
      });
    });
  });

  ca.command('refresh <org-id> <ca-id>')
    .description("fetch and verify the CA's CRL now")
    .action((orgId: string, caId: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printCa(
            await client.call<ExternalCa>(
              'POST',
              `/organisations/${encodeURIComponent(orgId)}/cas/${encodeURIComponent(caId)}/refresh`,
            ),
            g.json,
          );
        });
      });
    });

  ca.command('remove <org-id> <ca-id>')
    .description('remove the CA: certificates it issued stop authenticating at once')
    .action((orgId: string, caId: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call(
            'DELETE',
            `/organisations/${encodeURIComponent(orgId)}/cas/${encodeURIComponent(caId)}`,
          );
          if (g.json) printJson({ removed: caId });
          else process.stdout.write(`removed ${caId}\n`);
        });
      });
    });
}
