import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { rootPassphrase } from '../root-passphrase.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

// Root key operations open the data directory (KEK, database): loaded only by the commands that need them.
const platform = () => import('../../platform/index.ts');

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

interface Authority {
  id: string;
  kind: 'root' | 'issuing';
  status: string;
  generation: number;
  subject: string;
  serial: string;
  not_before: string;
  not_after: string;
  key_online: boolean;
  crl_url: string | null;
  unexpired_active_certificates: number | null;
  certificates_revoked?: number;
  root_crl_number?: number;
}

const BUNDLE_CHANGED =
  'The CA bundle changed: partners and edges fetch it again (`accredit edge sync`, or GET /pki/ca-bundle.pem).\n';

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`${name} must be a positive integer`, 'invalid_input');
  return n;
};

function printAuthority(a: Authority): void {
  printFields([
    ['id', a.id],
    ['kind', a.kind],
    ['status', a.status],
    ['generation', a.generation],
    ['subject', a.subject],
    ['serial', a.serial],
    ['valid', `${a.not_before} to ${a.not_after}`],
    ['key', a.key_online ? 'stored here' : 'not stored here'],
    ...(a.crl_url ? ([['CRL', a.crl_url]] as Array<[string, unknown]>) : []),
    ...(a.unexpired_active_certificates !== null
      ? ([['unexpired active certificates', a.unexpired_active_certificates]] as Array<[string, unknown]>)
      : []),
  ]);
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('the platform’s own certificate authorities');

  ca.command('list')
    .description(
      'the root and every issuing CA generation with its status (active, retiring, retired, revoked)',
    )
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const all = await client.call<Authority[]>('GET', '/ca/authorities');
          if (g.json) return printJson(all);
          printTable(
            all.map((a) => ({
              ...a,
              key: a.key_online ? 'online' : 'offline',
              certificates: a.unexpired_active_certificates ?? '',
            })),
            ['id', 'kind', 'generation', 'status', 'key', 'certificates', 'not_after', 'subject'],
          );
        });
      });
    });

  ca.command('rotate-issuing')
    .description(
      'bring in a new issuing CA signed by the root (key online); the current one stays trusted as retiring',
    )
    .option(
      '--validity-days <n>',
      'validity of the new issuing CA (default 3650, within the root)',
      positiveInt('--validity-days'),
    )
    .action((opts: { validityDays?: number }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const rotated = await client.call<Authority>(
            'POST',
            '/ca/issuing/rotate',
            opts.validityDays !== undefined ? { validity_days: opts.validityDays } : {},
          );
          if (g.json) return printJson(rotated);
          printAuthority(rotated);
          process.stdout.write(BUNDLE_CHANGED);
        });
      });
    });

  ca.command('retire-issuing <id>')
    .description(
      'take a retiring issuing CA out of every bundle and destroy its key (refused while it has unexpired active certificates)',
    )
    .option('--force', 'retire even though certificates it issued are still active (they stop working)')
    .action((id: string, opts: { force?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const retired = await client.call<Authority>(
            'POST',
            `/ca/issuing/${encodeURIComponent(id)}/retire`,
            {
              force: opts.force === true,
            },
          );
          if (g.json) return printJson(retired);
          printAuthority(retired);
          process.stdout.write(BUNDLE_CHANGED);
        });
      });
    });

  ca.command('revoke-issuing <id>')
    .description(
      'revoke a non-active issuing CA (compromise): every certificate it issued is revoked, the root CRL lists it (root key online; else `ca ceremony --revoke-issuing`)',
    )
    .option('--reason <reason>', 'RFC 5280 reason', 'keyCompromise')
    .action((id: string, opts: { reason: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const revoked = await client.call<Authority>(
            'POST',
            `/ca/issuing/${encodeURIComponent(id)}/revoke`,
            {
              reason: opts.reason,
            },
          );
          if (g.json) return printJson(revoked);
          printAuthority(revoked);
          printFields([
            ['certificates revoked', revoked.certificates_revoked],
            ['root CRL number', revoked.root_crl_number],
          ]);
          process.stdout.write(BUNDLE_CHANGED);
        });
      });
    });

  const root = ca
    .command('root')
    .description('the root CA key: export, keep offline, import (run on the platform host)');

  root
    .command('export')
    .description('write the root key, encrypted (PKCS#8, AES-256-CBC) under a passphrase, to a new file')
    .requiredOption('--out <file>', 'where to write it (never overwritten; mode 0600)')
    .option(
      '--passphrase-file <file>',
      'read the passphrase from this file (else $ACCREDIT_ROOT_KEY_PASSPHRASE or a prompt)',
    )
    .action((opts: { out: string; passphraseFile?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const passphrase = await rootPassphrase({ file: opts.passphraseFile, confirm: true });
        const { exportRootKeyToFile } = await platform();
        const result = await exportRootKeyToFile({ dataDir: g.dataDir, out: opts.out, passphrase });
        if (g.json) return printJson(result);
        printFields([
          ['root', result.subject],
          ['exported to', `${result.file} (decrypts with the passphrase; store it offline)`],
        ]);
      });
    });

  root
    .command('offline')
    .description('remove the root key from storage, after checking the export decrypts to it')
    .requiredOption('--export <file>', 'the file `ca root export` wrote')
    .option(
      '--passphrase-file <file>',
      'read the passphrase from this file (else $ACCREDIT_ROOT_KEY_PASSPHRASE or a prompt)',
    )
    .action((opts: { export: string; passphraseFile?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const passphrase = await rootPassphrase({ file: opts.passphraseFile });
        const { takeRootKeyOffline } = await platform();
        const result = await takeRootKeyOffline({ dataDir: g.dataDir, file: opts.export, passphrase });
        if (g.json) return printJson(result);
        printAuthority(result);
        process.stdout.write(
          'The root key is offline. Issuing CA rotation and root CRLs now need `accredit ca ceremony --root-key <file>`.\n',
        );
      });
    });

  root
    .command('import')
    .description('store an exported root key again (encrypted under the KEK): the root is online')
    .requiredOption('--file <file>', 'the exported root key')
    .option(
      '--passphrase-file <file>',
      'read the passphrase from this file (else $ACCREDIT_ROOT_KEY_PASSPHRASE or a prompt)',
    )
    .action((opts: { file: string; passphraseFile?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const passphrase = await rootPassphrase({ file: opts.passphraseFile });
        const { importRootKeyFromFile } = await platform();
        const result = await importRootKeyFromFile({ dataDir: g.dataDir, file: opts.file, passphrase });
        if (g.json) return printJson(result);
        printAuthority(result);
      });
    });

  ca.command('ceremony')
    .description(
      'load the offline root key for this command only (never stored) and rotate the issuing CA, revoke one, or publish the root CRL',
    )
    .requiredOption('--root-key <file>', 'the exported root key')
    .option(
      '--passphrase-file <file>',
      'read the passphrase from this file (else $ACCREDIT_ROOT_KEY_PASSPHRASE or a prompt)',
    )
    .option('--rotate-issuing', 'bring in a new issuing CA; the current one becomes retiring')
    .option('--revoke-issuing <id>', 'revoke this non-active issuing CA (the root CRL lists it)')
    .option('--reason <reason>', 'RFC 5280 reason for --revoke-issuing', 'keyCompromise')
    .option('--publish-root-crl', 'sign and publish the next root CRL')
    .option(
      '--root-crl-days <n>',
      'validity of the root CRL signed now (default pki.rootCrlValidityDays)',
      positiveInt('--root-crl-days'),
    )
    .action(
      (
        opts: {
          rootKey: string;
          passphraseFile?: string;
          rotateIssuing?: boolean;
          revokeIssuing?: string;
          reason: string;
          publishRootCrl?: boolean;
          rootCrlDays?: number;
        },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          if (!opts.rotateIssuing && !opts.publishRootCrl && opts.revokeIssuing === undefined) {
            throw new CliError(
              'nothing to do: give --rotate-issuing, --revoke-issuing <id> and/or --publish-root-crl',
              'invalid_input',
            );
          }
          const passphrase = await rootPassphrase({ file: opts.passphraseFile });
          const { runRootCeremony } = await platform();
          const result = await runRootCeremony({
            dataDir: g.dataDir,
            rootKeyFile: opts.rootKey,
            passphrase,
            ...(opts.rotateIssuing ? { rotateIssuing: true } : {}),
            ...(opts.revokeIssuing !== undefined
              ? { revokeIssuing: opts.revokeIssuing, revocationReason: opts.reason }
              : {}),
            ...(opts.publishRootCrl ? { publishRootCrl: true } : {}),
            ...(opts.rootCrlDays !== undefined ? { rootCrlDays: opts.rootCrlDays } : {}),
          });
          if (g.json) return printJson(result);
          if (result.rotated) {
            process.stdout.write('New issuing CA:\n');
            printAuthority(result.rotated);
          }
          if (result.revoked) {
            process.stdout.write('Revoked issuing CA:\n');
            printAuthority(result.revoked);
          }
          if (result.root_crl) {
            printFields([
              ['root CRL number', result.root_crl.crl_number],
              ['root CRL next update', result.root_crl.next_update],
            ]);
          }
          process.stdout.write('The root key was used in memory only and has not been stored.\n');
          if (result.rotated || result.revoked) process.stdout.write(BUNDLE_CHANGED);
        });
      },
    );

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
          process.stdout.write(BUNDLE_CHANGED);
        });
      });
    });
}
