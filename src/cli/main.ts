import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAppCommands } from './commands/app.ts';
import { registerCaCommands } from './commands/ca.ts';
import { registerCatalogCommands } from './commands/catalog.ts';
import { registerCertCommands } from './commands/cert.ts';
import { registerConsoleAccessCommands } from './commands/console-access.ts';
import { registerEdgeCommands } from './commands/edge.ts';
import { registerEventCommands } from './commands/events.ts';
import { registerFederationCommands } from './commands/federation.ts';
import { registerGatewayCommands } from './commands/gateway.ts';
import { registerImportCommand } from './commands/import.ts';
import { registerNodeCommands } from './commands/node.ts';
import { registerOrgCommands } from './commands/org.ts';
import { registerPartnerCommands } from './commands/partner.ts';
import { registerPlatformCommands } from './commands/platform.ts';
import { registerRegistrationCommands } from './commands/registration.ts';
import { registerSsaCommands } from './commands/ssa.ts';
import { registerSsfCommands } from './commands/ssf.ts';
import { registerTestplanCommands } from './commands/testplan.ts';
import { registerGrantCommands, registerUserCommands } from './commands/user.ts';
import { registerWebhookCommands } from './commands/webhook.ts';

// `accredit … | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// Everything the platform writes (database, keys, tokens) is for this user only.
process.umask(0o077);

const program = new Command('accredit')
  .description('Accredit: partner-API trust platform (directory, PKI, authorization server, gateway)')
  .version(
    (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version,
  )
  .option('--dir <dir>', 'data directory (env ACCREDIT_DIR; default ./.accredit)')
  .option('--url <url>', 'admin API base URL (default: the running platform in --dir)')
  .option('--json', 'machine-readable JSON output')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerPlatformCommands(program);
registerOrgCommands(program);
registerAppCommands(program);
// Issue 16: bulk import of an existing partner base.
registerImportCommand(program);
registerCatalogCommands(program);
registerCertCommands(program);
registerCaCommands(program);
registerFederationCommands(program);
registerSsaCommands(program);
registerRegistrationCommands(program);
registerUserCommands(program);
registerGrantCommands(program);
registerPartnerCommands(program);
registerGatewayCommands(program);
registerTestplanCommands(program);
registerEdgeCommands(program);
registerWebhookCommands(program);
registerSsfCommands(program);
registerEventCommands(program);
// Issue 15: `org invite` and `operator grant|revoke|list` (after registerOrgCommands: it extends `org`).
registerConsoleAccessCommands(program);
registerNodeCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors were already printed by commander.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`accredit: error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
