import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { PROXY_FORMS, type ProxyEntry, proxyEntryProblem } from '../../shared/client-cert-headers/index.ts';
import { isLoopbackHost } from '../../shared/metrics/loopback.ts';
import { readMetricsToken } from '../../shared/metrics/metrics-listener.ts';
import { createRedisRateLimitStore } from '../../shared/rate-limit/index.ts';
import { createRedisReplayCache } from '../../shared/replay-cache/index.ts';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface Credential {
  id: string;
  name: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
  token?: string;
}

interface RunOptions {
  platformUrl?: string;
  ca?: string;
  credentialFile?: string;
  host: string;
  port: string;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  upstream?: string;
  upstreamSecretFile?: string;
  audience?: string;
  issuer?: string;
  jwksUri?: string;
  staleAfterMs: string;
  verifyThreads?: string;
  logLevel: string;
  decisionPort?: string;
  decisionCallers?: string;
  decisionCallerCa?: string;
  decisionSecretFile?: string;
  decisionCertHeader?: string;
  decisionEdgeUrl?: string;
  dpopNonceSecretFile?: string;
  dpopNonce?: string;
  redisUrl?: string;
  redisCa?: string;
  rateLimitOnStoreError?: string;
  proxies?: string;
  metricsPort?: string;
  metricsHost?: string;
  metricsTokenFile?: string;
  pushDecisions?: boolean;
}

/** `--proxies` / ACCREDIT_PROXIES: the same JSON list as the platform's `proxies` setting, checked here. */
function proxiesOf(opts: RunOptions, env: NodeJS.ProcessEnv): ProxyEntry[] | undefined {
  const text = opts.proxies ?? env.ACCREDIT_PROXIES;
  if (text === undefined || text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError('--proxies: not JSON (expected a list of {address, form, …})', 'invalid_input');
  }
  if (!Array.isArray(parsed)) throw new CliError('--proxies: expected a JSON list', 'invalid_input');
  return parsed.map((item, i) => {
    const entry: ProxyEntry =
      typeof item === 'string' ? { address: item, form: 'rfc9440' } : (item as ProxyEntry);
    if (typeof entry !== 'object' || entry === null || typeof entry.address !== 'string') {
      throw new CliError(`--proxies[${i}]: expected an address or {address, form, …}`, 'invalid_input');
    }
    if (!PROXY_FORMS.includes(entry.form)) {
      throw new CliError(`--proxies[${i}].form: one of ${PROXY_FORMS.join(', ')}`, 'invalid_input');
    }
    const problem = proxyEntryProblem(entry);
    if (problem) throw new CliError(`--proxies[${i}].${problem}`, 'invalid_input');
    return entry;
  });
}

function edgeUrlOf(opts: RunOptions): string | undefined {
  const value = opts.decisionEdgeUrl ?? process.env.ACCREDIT_DECISION_EDGE_URL;
  if (value === undefined || value === '') return undefined;
  if (!URL.canParse(value) || new URL(value).protocol !== 'https:') {
    throw new CliError('--decision-edge-url: expected an https URL', 'invalid_input');
  }
  return value;
}

/**
 * DPoP (RFC 9449): the nonce secret every node shares (a file of at least 32 bytes), or nonces off. Without a
 * file, each node makes its own secret and its nonces hold on it only.
 */
function dpopOptions(opts: RunOptions) {
  const env = process.env;
  const mode = opts.dpopNonce ?? env.ACCREDIT_GATEWAY_DPOP_NONCE ?? 'required';
  if (mode !== 'required' && mode !== 'off') {
    throw new CliError('--dpop-nonce: expected required or off', 'invalid_input');
  }
  const file = opts.dpopNonceSecretFile ?? env.ACCREDIT_GATEWAY_DPOP_NONCE_SECRET_FILE;
  const secret = file ? Buffer.from(readFile(file, '--dpop-nonce-secret-file', true).trim()) : undefined;
  if (secret !== undefined && secret.length < 32) {
    throw new CliError('--dpop-nonce-secret-file: at least 32 bytes of secret', 'invalid_input');
  }
  // RFC 9449 §11.1: with Redis, a proof used at one gateway node is refused at every other.
  const redisUrl = opts.redisUrl ?? env.ACCREDIT_REDIS_URL;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new CliError('--redis-url: expected a redis:// or rediss:// URL', 'invalid_input');
  }
  const ca = redisCaOf(opts, redisUrl);
  return {
    requireNonce: mode === 'required',
    ...(secret !== undefined ? { nonceSecret: secret } : {}),
    ...(redisUrl !== undefined
      ? { replayCache: createRedisReplayCache(redisUrl, ca !== undefined ? { ca } : {}) }
      : {}),
  };
}

/** `--redis-ca` (or ACCREDIT_REDIS_CA_FILE): the PEM bundle a rediss:// server's certificate chains to. */
function redisCaOf(opts: RunOptions, redisUrl: string | undefined): string | undefined {
  const file = opts.redisCa ?? process.env.ACCREDIT_REDIS_CA_FILE;
  if (file === undefined) return undefined;
  if (redisUrl === undefined || !redisUrl.startsWith('rediss://')) {
    throw new CliError('--redis-ca: needs a rediss:// (TLS) --redis-url', 'invalid_input');
  }
  const pem = readFile(file, '--redis-ca', false);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CliError('--redis-ca: expected a PEM file of certificates', 'invalid_input');
  }
  return pem;
}

/**
 * Rate limits (issue 16): counted in Redis when --redis-url is set (every node shares the counters), else in
 * this process; --rate-limit-on-store-error says what an unreachable Redis means (open: admit, closed: 503).
 */
function rateLimitOptions(opts: RunOptions) {
  const env = process.env;
  const onStoreError = opts.rateLimitOnStoreError ?? env.ACCREDIT_RATE_LIMIT_ON_STORE_ERROR ?? 'open';
  if (onStoreError !== 'open' && onStoreError !== 'closed') {
    throw new CliError('--rate-limit-on-store-error: expected open or closed', 'invalid_input');
  }
  const redisUrl = opts.redisUrl ?? env.ACCREDIT_REDIS_URL;
  const ca = redisCaOf(opts, redisUrl);
  return (logger: { warn(obj: object, msg: string): void }) => ({
    onStoreError: onStoreError as 'open' | 'closed',
    ...(redisUrl !== undefined
      ? {
          store: createRedisRateLimitStore(redisUrl, {
            ...(ca !== undefined ? { ca } : {}),
            // The URL may carry a password: never logged.
            onError: (err) => logger.warn({ error: err.message }, 'rate limits: Redis connection error'),
          }),
        }
      : {}),
  });
}

/** The decision listener's settings, when --decision-port (or ACCREDIT_DECISION_PORT) asks for it. */
function decisionOptions(opts: RunOptions) {
  const env = process.env;
  const portText = opts.decisionPort ?? env.ACCREDIT_DECISION_PORT;
  if (portText === undefined || portText === '') return undefined;
  const callers = (opts.decisionCallers ?? env.ACCREDIT_DECISION_CALLERS ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const secretFile = opts.decisionSecretFile ?? env.ACCREDIT_DECISION_SECRET_FILE;
  const caFile = opts.decisionCallerCa ?? env.ACCREDIT_DECISION_CALLER_CA_FILE;
  if (callers.length === 0 && !secretFile) {
    throw new CliError('--decision-port needs --decision-callers or --decision-secret-file', 'invalid_input');
  }
  const secret = secretFile ? readFile(secretFile, '--decision-secret-file', true).trim() : undefined;
  if (secret !== undefined && !/^[\x21-\x7e]{32,}$/.test(secret)) {
    throw new CliError('--decision-secret-file: at least 32 visible ASCII characters', 'invalid_input');
  }
  return {
    port: integer(portText, '--decision-port', 0, 65535),
    callers,
    ...(caFile ? { callerCa: readFile(caFile, '--decision-caller-ca', false) } : {}),
    ...(secret !== undefined ? { secret } : {}),
    ...(opts.decisionCertHeader ? { certificateHeader: opts.decisionCertHeader } : {}),
    ...(edgeUrlOf(opts) !== undefined ? { edgeUrl: edgeUrlOf(opts) as string } : {}),
  };
}

/**
 * Issue 16: `--metrics-port` (or ACCREDIT_METRICS_PORT) starts the operator-only Prometheus listener; off
 * loopback it needs a token file.
 */
function metricsOptions(opts: RunOptions) {
  const env = process.env;
  const portText = opts.metricsPort ?? env.ACCREDIT_METRICS_PORT;
  if (portText === undefined || portText === '') return undefined;
  const host = opts.metricsHost ?? env.ACCREDIT_METRICS_HOST ?? '127.0.0.1';
  const tokenFile = opts.metricsTokenFile ?? env.ACCREDIT_METRICS_TOKEN_FILE;
  if (tokenFile === undefined && !isLoopbackHost(host)) {
    throw new CliError(
      `--metrics-host ${host} is not loopback: --metrics-token-file is required`,
      'invalid_input',
    );
  }
  let token: string | undefined;
  if (tokenFile !== undefined) {
    try {
      token = readMetricsToken(tokenFile, '--metrics-token-file');
    } catch (err) {
      throw new CliError((err as Error).message, 'invalid_input');
    }
  }
  return {
    host,
    port: integer(portText, '--metrics-port', 0, 65535),
    ...(token !== undefined ? { token } : {}),
  };
}

function required(value: string | undefined, flag: string, env: string): string {
  if (value === undefined || value === '')
    throw new CliError(`${flag} (or ${env}) is required`, 'invalid_input');
  return value;
}

function readFile(path: string, flag: string, secret: boolean): string {
  if (!existsSync(path) || !statSync(path).isFile())
    throw new CliError(`${flag}: ${path} is not a file`, 'invalid_input');
  // As ssh does: a secret others can read is refused, not used.
  if (secret && (statSync(path).mode & 0o077) !== 0) {
    throw new CliError(`${flag}: ${path} is readable by others; run chmod 600 ${path}`, 'invalid_input');
  }
  return readFileSync(path, 'utf8');
}

function integer(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`${flag}: expected an integer from ${min} to ${max}`, 'invalid_input');
  }
  return n;
}

async function run(opts: RunOptions, json: boolean): Promise<void> {
  const env = process.env;
  const platformUrl = required(
    opts.platformUrl ?? env.ACCREDIT_PLATFORM_URL,
    '--platform-url',
    'ACCREDIT_PLATFORM_URL',
  );
  if (!URL.canParse(platformUrl) || new URL(platformUrl).protocol !== 'https:') {
    throw new CliError('--platform-url: expected an https URL', 'invalid_input');
  }
  const ca = readFile(
    required(opts.ca ?? env.ACCREDIT_GATEWAY_CA_FILE, '--ca', 'ACCREDIT_GATEWAY_CA_FILE'),
    '--ca',
    false,
  );
  const credentialFile = required(
    opts.credentialFile ?? env.ACCREDIT_GATEWAY_CREDENTIAL_FILE,
    '--credential-file',
    'ACCREDIT_GATEWAY_CREDENTIAL_FILE',
  );
  const credential = readFile(credentialFile, '--credential-file', true).trim();
  const certFile = required(
    opts.tlsCert ?? env.ACCREDIT_GATEWAY_TLS_CERT_FILE,
    '--tls-cert',
    'ACCREDIT_GATEWAY_TLS_CERT_FILE',
  );
  const keyFile = required(
    opts.tlsKey ?? env.ACCREDIT_GATEWAY_TLS_KEY_FILE,
    '--tls-key',
    'ACCREDIT_GATEWAY_TLS_KEY_FILE',
  );
  const upstream = required(
    opts.upstream ?? env.ACCREDIT_GATEWAY_UPSTREAM,
    '--upstream',
    'ACCREDIT_GATEWAY_UPSTREAM',
  );
  const secretFile = opts.upstreamSecretFile ?? env.ACCREDIT_GATEWAY_UPSTREAM_SECRET_FILE;
  const port = integer(opts.port, '--port', 0, 65535);
  const staleAfterMs = integer(opts.staleAfterMs, '--stale-after-ms', 500, 3_600_000);
  const verifyThreads =
    opts.verifyThreads === undefined ? undefined : integer(opts.verifyThreads, '--verify-threads', 0, 64);
  const publicUrl = opts.publicUrl ?? `https://localhost:${port}`;
  const decision = decisionOptions(opts);
  const dpop = dpopOptions(opts);
  const rateLimit = rateLimitOptions(opts);
  const metrics = metricsOptions(opts);
  const [{ startStandaloneGateway }, { createLogger }] = await Promise.all([
    import('../../gateway/index.ts'),
    import('../../platform/logger.ts'),
  ]);
  const logger = createLogger(opts.logLevel);
  const proxies = proxiesOf(opts, env);
  const running = await startStandaloneGateway({
    platformUrl,
    ca,
    credential,
    host: opts.host,
    port,
    publicUrl,
    tls: { cert: readFile(certFile, '--tls-cert', false), key: readFile(keyFile, '--tls-key', true) },
    upstream,
    ...(secretFile ? { upstreamSecret: readFile(secretFile, '--upstream-secret-file', true).trim() } : {}),
    audience: opts.audience ?? env.ACCREDIT_API_AUDIENCE ?? publicUrl,
    ...(opts.issuer ? { issuer: opts.issuer } : {}),
    ...(opts.jwksUri ? { jwksUri: opts.jwksUri } : {}),
    staleAfterMs,
    ...(verifyThreads !== undefined ? { verifyThreads } : {}),
    logger,
    ...(decision !== undefined ? { decision } : {}),
    dpop,
    rateLimit: rateLimit(logger),
    ...(proxies !== undefined ? { proxies } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(opts.pushDecisions || env.ACCREDIT_GATEWAY_PUSH_DECISIONS === 'true' ? { pushDecisions: true } : {}),
  });
  const info = {
    url: running.gateway.url,
    ...(running.decision !== undefined ? { decision_url: running.decision.url } : {}),
    ...(running.metrics !== undefined ? { metrics_url: running.metrics.url } : {}),
    platform: platformUrl,
    issuer: running.issuer,
    jwks_uri: running.jwksUri,
    upstream,
    stale_after_ms: staleAfterMs,
  };
  if (json) printJson(info);
  process.stderr.write(
    `accredit gateway: serving on ${info.url}; following ${platformUrl} (stale after ${staleAfterMs} ms)\n`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`accredit gateway: ${signal}, stopping\n`);
    await running.close();
    logger.flush();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

export function registerGatewayCommands(program: Command): void {
  const gateway = program
    .command('gateway')
    .description('run the API gateway as its own process, following a platform’s change feed (no database)')
    .option('--platform-url <url>', 'the platform’s public base URL (env ACCREDIT_PLATFORM_URL)')
    .option('--ca <file>', 'PEM bundle of the platform CA (env ACCREDIT_GATEWAY_CA_FILE)')
    .option(
      '--credential-file <file>',
      'file (mode 0600) holding the enforcement credential from `gateway credential issue` (env ACCREDIT_GATEWAY_CREDENTIAL_FILE)',
    )
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port (0: any free port)', '9443')
    .option('--public-url <url>', 'external base URL of this gateway (default https://localhost:<port>)')
    .option(
      '--tls-cert <file>',
      'PEM server certificate chain of the listener (env ACCREDIT_GATEWAY_TLS_CERT_FILE)',
    )
    .option('--tls-key <file>', 'its PEM private key, mode 0600 (env ACCREDIT_GATEWAY_TLS_KEY_FILE)')
    .option('--upstream <url>', 'http(s) base URL of the protected API (env ACCREDIT_GATEWAY_UPSTREAM)')
    .option(
      '--upstream-secret-file <file>',
      'file (mode 0600) whose content is sent in x-accredit-gateway-secret (env ACCREDIT_GATEWAY_UPSTREAM_SECRET_FILE)',
    )
    .option('--audience <aud>', 'aud of access tokens (env ACCREDIT_API_AUDIENCE; default: the public URL)')
    .option('--issuer <iss>', 'token issuer (default: from the platform’s discovery document)')
    .option('--jwks-uri <url>', 'JWKS of the authorization server (default: from the discovery document)')
    .option(
      '--stale-after-ms <ms>',
      'refuse every request after this long without a word from the feed',
      '15000',
    )
    .option('--log-level <level>', 'pino log level', 'info')
    .option(
      '--push-decisions',
      'send the decision lines to the platform’s shared decision log, about once a second (env ACCREDIT_GATEWAY_PUSH_DECISIONS=true)',
    )
    .option(
      '--decision-port <port>',
      'also serve the decision doors (nginx auth_request, Envoy ext_authz, AuthZEN) on this port (env ACCREDIT_DECISION_PORT)',
    )
    .option(
      '--decision-callers <list>',
      'comma-separated SHA-256 thumbprints or subjects of the edges allowed to call it (env ACCREDIT_DECISION_CALLERS)',
    )
    .option('--decision-caller-ca <file>', 'PEM bundle caller certificates named by subject chain to')
    .option(
      '--decision-secret-file <file>',
      'file (mode 0600) with the secret edges send in x-accredit-decision-secret (env ACCREDIT_DECISION_SECRET_FILE)',
    )
    .option('--decision-cert-header <name>', 'header holding nginx $ssl_client_escaped_cert', 'x-client-cert')
    .option(
      '--decision-edge-url <url>',
      'external base URL of the API behind nginx/Envoy, checked as the DPoP htu (env ACCREDIT_DECISION_EDGE_URL; default --public-url)',
    )
    .option(
      '--dpop-nonce-secret-file <file>',
      'file (mode 0600) with the DPoP nonce secret, ≥ 32 bytes, the same on every node (env ACCREDIT_GATEWAY_DPOP_NONCE_SECRET_FILE)',
    )
    .option('--dpop-nonce <mode>', 'required (default) or off: whether DPoP proofs must carry a server nonce')
    .option(
      '--redis-url <url>',
      'Redis shared by every gateway node as the DPoP proof replay cache and the rate-limit counters (env ACCREDIT_REDIS_URL; default: this process only)',
    )
    .option(
      '--redis-ca <file>',
      'PEM bundle the rediss:// Redis server certificate chains to, for a private CA (env ACCREDIT_REDIS_CA_FILE)',
    )
    .option(
      '--rate-limit-on-store-error <mode>',
      'open (default: admit unchecked, logged and counted) or closed (503 rate_limit_unavailable) when Redis fails (env ACCREDIT_RATE_LIMIT_ON_STORE_ERROR)',
    )
    .option(
      '--proxies <json>',
      'TLS-terminating proxies in front: [{"address": IP or CIDR, "form": rfc9440|nginx|envoy-xfcc|aws-alb, "header"?, "clientCertSha256"?: [...]}] (env ACCREDIT_PROXIES)',
    )
    .option(
      '--verify-threads <n>',
      'threads verifying access tokens not yet cached, off the proxying event loop (default 0; for machines with idle CPUs)',
    )
    .option(
      '--metrics-port <port>',
      'serve Prometheus GET /metrics (decisions, feed position) on this port, plain HTTP (env ACCREDIT_METRICS_PORT)',
    )
    .option(
      '--metrics-host <host>',
      'address of the metrics listener, default 127.0.0.1 (env ACCREDIT_METRICS_HOST)',
    )
    .option(
      '--metrics-token-file <file>',
      'file (mode 0600) with the bearer token scrapers must send, ≥ 32 characters; required off loopback (env ACCREDIT_METRICS_TOKEN_FILE)',
    )
    .action((opts: RunOptions, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, () => run(opts, g.json));
    });

  const credential = gateway
    .command('credential')
    .description('credentials that let a standalone gateway read the change feed');

  credential
    .command('issue')
    .description('grant a gateway access to the change feed; the token is shown once')
    .requiredOption('--name <name>', 'a name for the gateway (letters, digits, ".", "_", "-")')
    .action((opts: { name: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const issued = await client.call<Credential>('POST', '/enforcement-credentials', {
            name: opts.name,
          });
          if (g.json) return printJson(issued);
          printFields([
            ['id', issued.id],
            ['name', issued.name],
            ['token', `${issued.token} (shown once: store it in a mode 0600 file)`],
          ]);
        });
      });
    });

  addPageOptions(
    credential
      .command('list')
      .description('list enforcement credentials (never the tokens)')
      .option('--status <status>', 'only active or revoked'),
  ).action((opts: PageOptions & { status?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      await withAdminClient(g, async (client) => {
        const q = new URLSearchParams();
        if (opts.status) q.set('status', opts.status);
        const items = await readPages<Credential>(client, '/enforcement-credentials', q, opts);
        if (g.json) return printJson(items);
        printTable(
          items.map((c) => ({ ...c, revoked_at: c.revoked_at ?? '' })),
          ['id', 'name', 'created_at', 'revoked_at'],
        );
      });
    });
  });

  credential
    .command('revoke')
    .description('revoke an enforcement credential: the feed refuses it and drops its streams at once')
    .argument('<id>', 'credential id')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const revoked = await client.call<Credential>(
            'DELETE',
            `/enforcement-credentials/${encodeURIComponent(id)}`,
          );
          if (g.json) return printJson(revoked);
          printFields([
            ['id', revoked.id],
            ['name', revoked.name],
            ['revoked', revoked.revoked_at],
          ]);
        });
      });
    });
}
