import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { printFields, printJson } from '../output.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface IssuingCa {
  id: string;
  subject: string;
  serial: string;
  previous_serial: string;
  not_before: string;
  not_after: string;
  crl_distribution_point: string;
  certificate_pem: string;
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('the platform’s own certificate authorities');

  ca.command('reissue-issuing')
    .description(
      're-issue the issuing CA certificate with the same key and subject, adding the root CRL distribution point (partner certificates keep verifying)',
    )
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const reissued = await client.call<IssuingCa>('POST', '/ca/issuing/reissue');
          if (g.json) return printJson(reissued);
          printFields([
            ['subject', reissued.subject],
            ['serial', `${reissued.serial} (was ${reissued.previous_serial})`],
            ['valid', `${reissued.not_before} to ${reissued.not_after}`],
            ['CRL distribution point', reissued.crl_distribution_point],
          ]);
          process.stdout.write(
            'The CA bundle changed: run `accredit edge sync` (or fetch /pki/ca-bundle.pem) where it is installed.\n',
          );
        });
      });
    });
}
