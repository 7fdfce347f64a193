import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printIssuedCertificate, printJson } from '../output.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';

interface PolicyAnswer {
  scope: string;
  subject_id: string;
  policy: {
    lifetime_days: number | null;
    key_algorithms: string[] | null;
    renewals_before_review: number | null;
    updated_at: string;
    updated_by: string;
  } | null;
  effective: { lifetime_days: number; key_algorithms: string[]; renewals_before_review: number | null };
}

function printPolicy(answer: PolicyAnswer, json: boolean): void {
  if (json) {
    printJson(answer);
    return;
  }
  const own = answer.policy;
  const inherit = (v: unknown) => (v === null || v === undefined ? '(inherited)' : String(v));
  printFields([
    [answer.scope, answer.subject_id],
    ['lifetime_days', own ? inherit(own.lifetime_days) : '(inherited)'],
    ['key_algorithms', own ? inherit(own.key_algorithms?.join(', ')) : '(inherited)'],
    ['renewals_before_review', own ? inherit(own.renewals_before_review) : '(inherited)'],
    [
      'in force',
      `${answer.effective.lifetime_days} days; ${answer.effective.key_algorithms.join(', ')}; ${
        answer.effective.renewals_before_review === null
          ? 'no review limit'
          : `review after ${answer.effective.renewals_before_review} renewal(s)`
      }`,
    ],
  ]);
}

function integerOption(value: string | undefined, name: string, min: number, max: number): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new CliError(`${name} must be an integer from ${min} to ${max}, got ${value}`, 'bad_option');
  }
  return Number(value);
}

/** `accredit org|app rotation-policy show|set|delete <id>` over the admin API. */
export function registerRotationPolicyCommand(parent: Command, scope: 'organisation' | 'application'): void {
  const base = (id: string) =>
    `/${scope === 'organisation' ? 'organisations' : 'applications'}/${encodeURIComponent(id)}/rotation-policy`;
  const what = scope === 'organisation' ? '<org-id>' : '<client-id>';
  const policy = parent
    .command('rotation-policy')
    .description(
      `the ${scope}'s certificate rotation policy: lifetime, allowed key algorithms, renewals before review${
        scope === 'application' ? ' (over the organisation’s)' : ''
      }`,
    );

  policy
    .command(`show ${what}`)
    .description('show the stored policy and the policy in force')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, () =>
        withAdminClient(g, async (client) =>
          printPolicy(await client.call<PolicyAnswer>('GET', base(id)), g.json),
        ),
      );
    });

  policy
    .command(`set ${what}`)
    .description(
      'replace the policy; a setting left out is inherited (application → organisation → platform)',
    )
    .option('--lifetime-days <n>', 'certificate lifetime in days (1-825)')
    .option(
      '--key-algorithms <list>',
      'allowed keys, comma-separated: ES256, ES384, RSA-2048, RSA-3072, RSA-4096, Ed25519',
      commaList,
    )
    .option(
      '--renewals-before-review <n>',
      'renewals allowed before an operator must approve the next (0: every one)',
    )
    .action(
      (
        id: string,
        opts: { lifetimeDays?: string; keyAlgorithms?: string[]; renewalsBeforeReview?: string },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, () =>
          withAdminClient(g, async (client) => {
            const body = {
              lifetime_days: integerOption(opts.lifetimeDays, '--lifetime-days', 1, 825),
              key_algorithms: opts.keyAlgorithms ?? null,
              renewals_before_review: integerOption(
                opts.renewalsBeforeReview,
                '--renewals-before-review',
                0,
                10_000,
              ),
            };
            const answer = await client.call<PolicyAnswer>('PUT', base(id), body);
            printPolicy(answer, g.json);
          }),
        );
      },
    );

  policy
    .command(`delete ${what}`)
    .description('remove the policy; the next level’s applies')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, () =>
        withAdminClient(g, async (client) => {
          await client.call('DELETE', base(id));
          if (g.json) return printJson({ deleted: true, scope, subject_id: id });
          process.stdout.write(`rotation policy of ${scope} ${id} removed\n`);
        }),
      );
    });
}

interface RenewedCert {
  serial: string;
  renews: string | null;
  renewal_count: number;
  not_after: string;
  x5t_s256: string;
  certificate_pem: string;
}

/** `accredit cert renew` (an operator's renewal) and `accredit cert approve-renewal` (the review). */
export function registerCertRenewalCommands(cert: Command): void {
  cert
    .command('renew <serial>')
    .description(
      'renew a certificate for its partner from a CSR with a new key; the old one is superseded once the new one is used',
    )
    .requiredOption('--csr <file>', 'PEM CSR for the new key')
    .option('--out <file>', 'write the new certificate PEM here (default: print it)')
    .action((serial: string, opts: { csr: string; out?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        let csr: string;
        try {
          csr = readFileSync(opts.csr, 'utf8');
        } catch {
          throw new CliError(`cannot read CSR file ${opts.csr}`, 'bad_file');
        }
        await withAdminClient(g, async (client) => {
          const renewed = await client.call<RenewedCert>(
            'POST',
            `/certificates/${encodeURIComponent(serial)}/renew`,
            { csr },
          );
          printIssuedCertificate(
            renewed,
            [
              ['serial', renewed.serial],
              ['renews', renewed.renews],
              ['x5t#S256', renewed.x5t_s256],
              ['not_after', renewed.not_after],
            ],
            { out: opts.out, json: g.json },
          );
        });
      });
    });

  cert
    .command('approve-renewal <serial>')
    .description('allow one more renewal of this certificate past its rotation policy’s review limit')
    .action((serial: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, () =>
        withAdminClient(g, async (client) => {
          const approved = await client.call<RenewedCert>(
            'POST',
            `/certificates/${encodeURIComponent(serial)}/approve-renewal`,
          );
          if (g.json) return printJson(approved);
          process.stdout.write(`certificate ${approved.serial} may be renewed once more\n`);
        }),
      );
    });
}
