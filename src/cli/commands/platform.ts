import type { Command } from 'commander';

// The platform (fastify, storage, PKI) is loaded only by the commands that run it, so other commands start fast.
const platform = () => import('../../platform/index.ts');

import { printFields, printJson } from '../output.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

export function registerPlatformCommands(program: Command): void {
  program
    .command('init')
    .description(
      'create the data directory, CAs, server certificates, signing keys, database and an operator token',
    )
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const { initPlatform } = await platform();
        const result = await initPlatform({
          dataDir: g.dataDir,
          onProgress: (step) => process.stderr.write(`init: ${step}\n`),
        });
        if (g.json) return printJson(result);
        process.stdout.write(
          result.created ? 'Accredit initialised.\n' : 'Already initialised; nothing changed.\n',
        );
        printFields([
          ['data directory', result.dataDir],
          ['database', result.engine],
          ['root CA', result.rootCaSubject],
          ['issuing CA', result.issuingCaSubject],
          ['CA bundle', result.caBundle],
          [
            'operator token',
            result.operatorTokenFile
              ? `${result.operatorTokenFile} (mode 0600; keep it secret)`
              : 'not stored here',
          ],
        ]);
      });
    });

  program
    .command('serve')
    .description('start the platform listeners (JSON logs on stdout; stop with Ctrl-C or SIGTERM)')
    .option('--init', 'initialise the data directory first when it is new')
    .action((opts: { init?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const { clearServeState, initPlatform, startPlatform, writeServeState } = await platform();
        if (opts.init) {
          await initPlatform({
            dataDir: g.dataDir,
            onProgress: (step) => process.stderr.write(`init: ${step}\n`),
          });
        }
        const running = await startPlatform({ dataDir: g.dataDir });
        writeServeState(g.dataDir, {
          pid: process.pid,
          started_at: new Date().toISOString(),
          listeners: running.urls,
        });
        process.stderr.write(
          `accredit: serving; public ${running.urls.public}, mTLS ${running.urls.mtls}, gateway ${running.urls.gateway}${running.urls.pkiHttp ? `, PKI ${running.urls.pkiHttp}` : ''}${running.urls.metrics ? `, metrics ${running.urls.metrics}` : ''}\n`,
        );
        let stopping = false;
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          process.stderr.write(`accredit: ${signal}, stopping\n`);
          clearServeState(g.dataDir, process.pid);
          await running.stop();
        };
        process.once('SIGINT', () => void stop('SIGINT'));
        process.once('SIGTERM', () => void stop('SIGTERM'));
      });
    });

  program
    .command('status')
    .description('listener URLs, CA bundle and CRL locations, and whether the platform is running')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        const { crlUrlOf, loadConfig, ocspUrlOf, platformPaths, readServeState } = await platform();
        const config = loadConfig(g.dataDir);
        const state = readServeState(g.dataDir);
        const paths = platformPaths(g.dataDir);
        const status = {
          running: state !== undefined,
          pid: state?.pid ?? null,
          data_dir: g.dataDir,
          database: config.database.url.startsWith('postgres') ? 'postgres' : 'sqlite',
          listeners: state?.listeners ?? {
            public: config.publicUrl,
            mtls: config.mtlsUrl,
            gateway: config.gatewayUrl,
          },
          public_url: config.publicUrl,
          // The authorization server's issuer identifier (RFC 8414 §2) is the public base URL.
          issuer: config.publicUrl,
          admin_api: `${state?.listeners.public ?? config.publicUrl}/admin/v1`,
          openapi: `${state?.listeners.public ?? config.publicUrl}/admin/v1/openapi.json`,
          ca_bundle: paths.caBundle,
          crl_url: crlUrlOf(config),
          ocsp_url: ocspUrlOf(config),
        };
        if (g.json) return printJson(status);
        printFields([
          ['running', status.running ? `yes (pid ${status.pid})` : 'no'],
          ['data directory', status.data_dir],
          ['database', status.database],
          ['public listener', status.listeners.public],
          ['mTLS listener', status.listeners.mtls],
          ['gateway', status.listeners.gateway],
          ['admin API', status.admin_api],
          ['CA bundle', status.ca_bundle],
          ['CRL', status.crl_url],
          ['OCSP', status.ocsp_url],
        ]);
      });
    });
}
