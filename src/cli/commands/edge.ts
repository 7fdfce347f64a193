import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readServeState } from '../../shared/serve-state.ts';
import { CliError } from '../cli-error.ts';
import type { EdgeSettings } from '../edge/edge-settings.ts';
import type { EdgeSource } from '../edge/fetch-chain.ts';
import { EDGE_TARGETS, type EdgeTarget, KIT } from '../edge/kit-material.ts';
import { type EdgeManifest, manifestJson, readManifest } from '../edge/manifest.ts';
import { awsReadme } from '../edge/render-aws.ts';
import { envoyYaml } from '../edge/render-envoy.ts';
import { nginxAuthRequestConf, nginxGatewayConf } from '../edge/render-nginx.ts';
import type { KitFiles } from '../edge/replace-files.ts';
import { replaceChanged } from '../edge/replace-files.ts';
import type { RoundResult } from '../edge/sync-round.ts';
import { printJson } from '../output.ts';
import { runAction } from '../run-action.ts';
import { type GlobalOptions, globals } from './globals.ts';

interface ExportOptions {
  for: string;
  out: string;
  platformUrl?: string;
  ca?: string;
  gatewayUrl?: string;
  decisionUrl?: string;
  upstreamUrl?: string;
  serverName: string;
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
  proxyCert?: string;
  proxyKey?: string;
  clientCertHeader: string;
}

interface SyncOptions {
  out: string;
  platformUrl?: string;
  ca?: string;
  reload?: string;
  interval: string;
  once?: boolean;
}

function httpsUrl(value: string, flag: string): string {
  if (!URL.canParse(value) || new URL(value).protocol !== 'https:') {
    throw new CliError(`${flag}: expected an https URL`, 'invalid_input');
  }
  return value.replace(/\/+$/, '');
}

function httpUrl(value: string, flag: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new CliError(`${flag}: expected an http(s) URL`, 'invalid_input');
  }
  return value.replace(/\/+$/, '');
}

function readCa(path: string, flag: string): string {
  if (!existsSync(path) || !statSync(path).isFile())
    throw new CliError(`${flag}: ${path} is not a file`, 'invalid_input');
  return readFileSync(path, 'utf8');
}

/** The platform's public URL and the CA its TLS certificate chains to: flags, then environment, then --dir. */
function exportSource(opts: ExportOptions, g: GlobalOptions): EdgeSource & { caFile: string | undefined } {
  const state = readServeState(g.dataDir);
  const url = opts.platformUrl ?? process.env.ACCREDIT_PLATFORM_URL ?? g.url ?? state?.listeners.public;
  if (!url) {
    throw new CliError(
      '--platform-url (or ACCREDIT_PLATFORM_URL) is required when no platform runs in --dir',
      'invalid_input',
    );
  }
  const named = opts.ca ?? process.env.ACCREDIT_CA_BUNDLE;
  const caFile = named ?? join(g.dataDir, 'ca', 'bundle.pem');
  return {
    platformUrl: httpsUrl(url, '--platform-url'),
    ca: readCa(caFile, '--ca'),
    // A bundle named on purpose (the platform behind another CA's certificate) is what sync trusts too.
    caFile: named === undefined ? undefined : resolve(named),
  };
}

function target(value: string): EdgeTarget {
  if (!(EDGE_TARGETS as readonly string[]).includes(value)) {
    throw new CliError(`--for: expected one of ${EDGE_TARGETS.join(', ')}`, 'invalid_input');
  }
  return value as EdgeTarget;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new CliError('--listen: expected a port', 'invalid_input');
  return n;
}

function configFiles(edge: EdgeTarget, s: EdgeSettings): KitFiles {
  if (edge === 'nginx') {
    return { 'nginx-gateway.conf': nginxGatewayConf(s), 'nginx-auth-request.conf': nginxAuthRequestConf(s) };
  }
  if (edge === 'envoy') return { 'envoy.yaml': envoyYaml(s) };
  return { 'README-aws.md': awsReadme(s) };
}

async function exportKit(opts: ExportOptions, g: GlobalOptions): Promise<void> {
  const edge = target(opts.for);
  const dir = resolve(opts.out);
  const source = exportSource(opts, g);
  const state = readServeState(g.dataDir);
  const gatewayUrl = httpsUrl(
    opts.gatewayUrl ?? state?.listeners.gateway ?? 'https://accredit-gateway.internal:9443',
    '--gateway-url',
  );
  const tlsDir = edge === 'envoy' ? '/etc/envoy/tls' : '/etc/nginx/tls';
  const settings: EdgeSettings = {
    dir,
    serverName: opts.serverName,
    listenPort: port(opts.listen ?? (edge === 'envoy' ? '8443' : '443')),
    tlsCert: opts.tlsCert ?? `${tlsDir}/server.pem`,
    tlsKey: opts.tlsKey ?? `${tlsDir}/server.key`,
    gatewayUrl,
    decisionUrl: httpsUrl(opts.decisionUrl ?? gatewayUrl, '--decision-url'),
    upstreamUrl: httpUrl(opts.upstreamUrl ?? 'http://127.0.0.1:8080', '--upstream-url'),
    clientCertHeader: opts.clientCertHeader,
    platformUrl: source.platformUrl,
    ...(opts.proxyCert !== undefined ? { proxyCert: resolve(opts.proxyCert) } : {}),
    ...(opts.proxyKey !== undefined ? { proxyKey: resolve(opts.proxyKey) } : {}),
  };
  if ((opts.proxyCert === undefined) !== (opts.proxyKey === undefined)) {
    throw new CliError('--proxy-cert and --proxy-key go together', 'invalid_input');
  }
  if (!/^[A-Za-z0-9-]+$/.test(settings.clientCertHeader)) {
    throw new CliError('--client-cert-header: expected a header name', 'invalid_input');
  }
  process.stderr.write(`accredit edge export: fetching the CA bundle and CRLs from ${source.platformUrl}\n`);
  // The PKI (X.509, CRL checks) is loaded only by the commands that use it.
  const { fetchCheckedMaterial, summariseCrls } = await import('../edge/sync-round.ts');
  const { files, chain } = await fetchCheckedMaterial(edge, source, dir, new Date(), false);
  const config = configFiles(edge, settings);
  const manifest: EdgeManifest = {
    for: edge,
    platform_url: source.platformUrl,
    ...(source.caFile ? { ca_file: source.caFile } : {}),
    material: Object.keys(files),
    config: Object.keys(config),
    exported_at: new Date().toISOString(),
  };
  const written = replaceChanged(dir, { ...files, ...config, [KIT.manifest]: manifestJson(manifest) });
  const crls = summariseCrls(chain);
  if (g.json) {
    return printJson({ ...manifest, out: dir, written: written.changed, crls });
  }
  for (const crl of crls) {
    process.stderr.write(
      `  CRL of ${crl.issuer}: number ${crl.crl_number}, ${crl.revoked} revoked, next update ${crl.next_update}\n`,
    );
  }
  process.stdout.write(`edge kit for ${edge} written to ${dir}:\n`);
  for (const name of [...manifest.material, ...manifest.config]) process.stdout.write(`  ${name}\n`);
  const reload = edge === 'nginx' ? " --reload 'nginx -s reload'" : edge === 'envoy' ? ' --reload CMD' : '';
  process.stdout.write(
    `keep it current: accredit edge sync --out ${dir}${reload} (runs every 300 s; --once from cron)\n`,
  );
}

function describeRound(round: RoundResult): string {
  const crls = round.crls.map((c) => `${c.level} CRL #${c.crl_number} (${c.revoked} revoked)`).join(', ');
  const changes = round.changed.length ? `replaced ${round.changed.join(', ')}` : 'nothing changed';
  const reload = round.reload
    ? `; reload ${round.reload.exit_code === 0 ? 'ok' : `failed (exit ${round.reload.exit_code}): ${round.reload.output}`}`
    : '';
  return `accredit edge sync: ${round.at} ${crls}: ${changes}${reload}\n`;
}

async function sync(opts: SyncOptions, g: GlobalOptions): Promise<void> {
  const dir = resolve(opts.out);
  const manifest = readManifest(dir);
  const interval = Number(opts.interval);
  if (!Number.isInteger(interval) || interval < 5 || interval > 86_400) {
    throw new CliError('--interval: expected seconds from 5 to 86400', 'invalid_input');
  }
  // The kit's own bundle is what the platform's TLS certificate chains to, unless told otherwise.
  const source: EdgeSource = {
    platformUrl: httpsUrl(opts.platformUrl ?? manifest.platform_url, '--platform-url'),
    ca: readCa(opts.ca ?? manifest.ca_file ?? join(dir, KIT.bundle), '--ca'),
  };
  const { syncRound } = await import('../edge/sync-round.ts');
  const round = async (): Promise<boolean> => {
    try {
      const result = await syncRound({
        target: manifest.for,
        source,
        dir,
        now: new Date(),
        reload: opts.reload,
      });
      if (g.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stderr.write(describeRound(result));
      return result.reload === null || result.reload.exit_code === 0;
    } catch (err) {
      if (opts.once) throw err;
      const message = (err as Error).message;
      if (g.json)
        process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), error: message })}\n`);
      else process.stderr.write(`accredit edge sync: ${message}; files left as they were\n`);
      return false;
    }
  };
  if (opts.once) {
    if (!(await round())) throw new CliError('the reload command failed', 'reload_failed');
    return;
  }
  process.stderr.write(`accredit edge sync: ${dir} from ${source.platformUrl} every ${interval} s\n`);
  await new Promise<void>((done) => {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const next = async () => {
      await round();
      if (!stopped) timer = setTimeout(next, interval * 1000);
    };
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void next();
  });
}

export function registerEdgeCommands(program: Command): void {
  const edge = program
    .command('edge')
    .description(
      'kits for the edge in front of your API: nginx, Envoy, AWS API Gateway (no database needed)',
    );

  edge
    .command('export')
    .description('write the CA bundle, every CRL of the chain and a ready configuration for one edge')
    .requiredOption('--for <edge>', `the edge: ${EDGE_TARGETS.join(' | ')}`)
    .requiredOption('--out <dir>', 'directory to write the kit to')
    .option(
      '--platform-url <url>',
      'the platform’s public base URL (env ACCREDIT_PLATFORM_URL; default: the running platform in --dir)',
    )
    .option(
      '--ca <file>',
      'PEM bundle the platform’s TLS certificate chains to (env ACCREDIT_CA_BUNDLE; default <dir>/ca/bundle.pem)',
    )
    .option('--gateway-url <url>', 'the Accredit gateway nginx proxies to (default: the running platform’s)')
    .option(
      '--decision-url <url>',
      'the Accredit decision door for auth_request / ext_authz (default: the gateway URL)',
    )
    .option(
      '--upstream-url <url>',
      'your API, reached after an allow (auth_request, Envoy)',
      'http://127.0.0.1:8080',
    )
    .option('--server-name <name>', 'the edge’s public host name', 'api.example.com')
    .option('--listen <port>', 'the edge’s TLS port (default 443; Envoy 8443)')
    .option('--tls-cert <file>', 'the edge’s server certificate chain (PEM)')
    .option('--tls-key <file>', 'its private key (PEM)')
    .option(
      '--proxy-cert <file>',
      'nginx’s own client certificate towards Accredit (proxy_ssl_certificate; pin it in proxies / decision.callers)',
    )
    .option('--proxy-key <file>', 'its private key (PEM)')
    .option(
      '--client-cert-header <name>',
      'header carrying nginx’s $ssl_client_escaped_cert',
      'X-Client-Cert',
    )
    .action((opts: ExportOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, () => exportKit(opts, g));
    });

  edge
    .command('sync')
    .description(
      're-fetch the CA bundle and CRLs of an exported kit; replace changed files atomically, then reload',
    )
    .requiredOption('--out <dir>', 'the kit directory `edge export` wrote')
    .option('--platform-url <url>', 'override the platform URL recorded in the kit')
    .option(
      '--ca <file>',
      'PEM bundle the platform’s TLS certificate chains to (default: the kit’s ca-bundle.pem)',
    )
    .option('--reload <command>', 'shell command run after files changed, e.g. "nginx -s reload"')
    .option('--interval <seconds>', 'seconds between syncs', '300')
    .option('--once', 'sync once and exit (non-zero on failure): for cron and systemd timers')
    .action((opts: SyncOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, () => sync(opts, g));
    });
}
