// The server side of `bench doors`, run as a child process with IPC (forked by bench/doors.ts): one door and
// everything it needs (the gateway and its upstream, or the decision listener over the gateway's core, or the
// Lambda handler with its feed and JWKS servers), all in this process, so that process.cpuUsage() over the
// measured window is the whole server side's CPU time.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { readLambdaConfig } from '../src/doors/aws-lambda/config.ts';
import { lambdaCore } from '../src/doors/aws-lambda/core-factory.ts';
import type { AuthorizerEvent } from '../src/doors/aws-lambda/events.ts';
import { startLambdaAuthorizer } from '../src/doors/aws-lambda/start-authorizer.ts';
import { FEED_CHANGES_PATH } from '../src/doors/feed-poll-protocol.ts';
import { createDecisionListener } from '../src/gateway/doors/create-decision-listener.ts';
import { createGateway } from '../src/gateway/index.ts';
import { createLivenessState, takeEnforcementSnapshot } from '../src/platform/enforcement-feed/index.ts';
import { createLogger } from '../src/platform/logger.ts';
import { openStorage } from '../src/storage/index.ts';
import {
  type ChildMessage,
  DECISION_SECRET,
  type InvokeMessage,
  type InvokeResult,
  type ParentMessage,
  type StartMessage,
} from './doors-protocol.ts';
import type { ServerMaterial } from './gateway-fixture.ts';
import { UPSTREAM_BODY } from './gateway-protocol.ts';
import { percentile } from './load.ts';

/** The Lambda door's feed is polled at most this often: once at cold start, never inside a measured round. */
const LAMBDA_REFRESH_MS = 60_000;

interface RunningDoor {
  url: string;
  /** Decisions made so far (a cross-check of the load generator's count). */
  served(): number;
  invoke?(message: InvokeMessage): Promise<InvokeResult>;
  close(): Promise<void>;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** As the platform's logger writes in production (batched, synchronous), but into /dev/null. */
function quietLogger(level: string) {
  return createLogger(level, pino.destination({ dest: '/dev/null', sync: true, minLength: 4096 }));
}

async function startUpstream(): Promise<{ url: string; close(): void }> {
  const body = Buffer.from(UPSTREAM_BODY);
  const server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** One HTTPS GET endpoint answering a fixed JSON document (the JWKS, the feed snapshot). */
async function startHttpsDocument(
  material: ServerMaterial,
  path: string,
  contentType: string,
  body: () => string,
): Promise<{ url: string; close(): void }> {
  const server = createHttpsServer({ cert: material.serverCert, key: material.serverKey }, (req, res) => {
    req.resume();
    if ((req.url ?? '').split('?')[0] !== path) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(body());
  });
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}${path}`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

function startJwks(material: ServerMaterial) {
  const body = JSON.stringify(material.jwks);
  return startHttpsDocument(material, '/jwks', 'application/jwk-set+json', () => body);
}

/** The gateway as bench/gateway measures it, over liveness from the fixture's SQLite database. */
async function startGateway(message: StartMessage, upstreamUrl: string) {
  const { material } = message;
  const storage = await openStorage({ url: material.dbPath });
  const liveness = await createLivenessState(storage);
  const jwks = await startJwks(material);
  const gateway = await createGateway({
    host: '127.0.0.1',
    port: 0,
    publicUrl: material.audience,
    tls: { cert: material.serverCert, key: material.serverKey, ca: material.caPem },
    issuer: material.issuer,
    audience: material.audience,
    jwksUri: jwks.url,
    jwksCa: material.caPem,
    liveness,
    routes: material.routes,
    upstream: upstreamUrl,
    upstreamSecret: 'b'.repeat(43),
    logger: quietLogger(message.logLevel),
  });
  return {
    gateway,
    served() {
      const { allowed, denied } = gateway.stats();
      let total = 0;
      for (const n of [...Object.values(allowed), ...Object.values(denied)]) total += n;
      return total;
    },
    async close() {
      await gateway.close();
      jwks.close();
      liveness.close();
      await storage.close();
    },
  };
}

async function startGatewayDoor(message: StartMessage): Promise<RunningDoor> {
  const upstream = await startUpstream();
  const started = await startGateway(message, upstream.url);
  return {
    url: started.gateway.url,
    served: started.served,
    async close() {
      await started.close();
      upstream.close();
    },
  };
}

/**
 * auth_request, ext_authz and AuthZEN: the decision listener over the gateway's own core, as `accredit gateway
 * --decision-port` runs it (one token cache, one JWKS, one liveness state); callers authenticate with the secret.
 */
async function startDecisionDoor(message: StartMessage): Promise<RunningDoor> {
  const upstream = await startUpstream();
  const started = await startGateway(message, upstream.url);
  const listener = await createDecisionListener({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: message.material.serverCert, key: message.material.serverKey },
    core: started.gateway.core,
    logger: quietLogger(message.logLevel),
    secret: DECISION_SECRET,
  });
  return {
    url: listener.url,
    served: started.served,
    async close() {
      await listener.close();
      await started.close();
      upstream.close();
    },
  };
}

/**
 * The Lambda handler as a cold start builds it (startLambdaAuthorizer + the door's core factory): the feed
 * snapshot polled once from a local HTTPS stand-in for the platform, the JWKS fetched over HTTPS. The refresh
 * interval is a minute, so no poll happens inside a measured round.
 */
async function startLambdaDoor(message: StartMessage): Promise<RunningDoor> {
  const { material } = message;
  const storage = await openStorage({ url: material.dbPath });
  let snapshot: string;
  try {
    const taken = await takeEnforcementSnapshot(storage, new Date());
    snapshot = JSON.stringify({ seq: taken.seq, snapshot: taken });
  } finally {
    await storage.close();
  }
  const platform = await startHttpsDocument(material, FEED_CHANGES_PATH, 'application/json', () => snapshot);
  const jwks = await startJwks(material);
  const config = readLambdaConfig({
    ACCREDIT_PLATFORM_URL: new URL(platform.url).origin,
    ACCREDIT_CA_BUNDLE: material.caPem,
    ACCREDIT_ENFORCEMENT_CREDENTIAL: 'bench-credential',
    ACCREDIT_AUDIENCE: material.audience,
    ACCREDIT_ISSUER: material.issuer,
    ACCREDIT_JWKS_URI: jwks.url,
    ACCREDIT_REFRESH_MS: String(LAMBDA_REFRESH_MS),
    ACCREDIT_STALE_AFTER_MS: String(3_600_000),
    ACCREDIT_LOG_LEVEL: message.logLevel,
  });
  const authorizer = await startLambdaAuthorizer(config, lambdaCore, quietLogger(message.logLevel));
  let invocations = 0;
  const handler = async (event: unknown) => {
    invocations++;
    return authorizer.authorize(event as AuthorizerEvent);
  };
  return {
    url: '',
    served: () => invocations,
    invoke: (m) => invokeLoop(handler, m),
    async close() {
      await authorizer.close();
      platform.close();
      jwks.close();
    },
  };
}

function allowed(result: unknown): boolean {
  const r = result as { policyDocument?: { Statement?: Array<{ Effect?: string }> } };
  const statements = r?.policyDocument?.Statement ?? [];
  return statements.length > 0 && statements.every((s) => s.Effect === 'Allow');
}

/**
 * A Lambda execution environment handles one event at a time: invoke, await, invoke again, for a warm-up and
 * then a measured window, timing each invocation and this process's CPU over the window.
 */
async function invokeLoop(
  handler: (event: unknown) => Promise<unknown>,
  message: InvokeMessage,
): Promise<InvokeResult> {
  const warmupEnd = performance.now() + message.warmupMs;
  while (performance.now() < warmupEnd) await handler(message.event);
  let samples = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(message.durationMs * 1e6));
  let t1 = start;
  while (t1 < end) {
    const t0 = process.hrtime.bigint();
    let failure: string | undefined;
    try {
      const result = await handler(message.event);
      if (!allowed(result)) failure = JSON.stringify(result).slice(0, 300);
    } catch (err) {
      failure = (err as Error).message;
    }
    t1 = process.hrtime.bigint();
    if (failure !== undefined) {
      errors++;
      firstError ??= failure;
      continue;
    }
    if (count === samples.length) {
      const grown = new Float64Array(samples.length * 2);
      grown.set(samples);
      samples = grown;
    }
    samples[count++] = Number(t1 - t0) / 1e6;
  }
  const cpu = process.cpuUsage(cpu0);
  const sorted = samples.subarray(0, count).sort();
  return {
    type: 'invoked',
    invocations: count + errors,
    errors,
    firstError,
    windowMs: Number(t1 - start) / 1e6,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    userUs: cpu.user,
    systemUs: cpu.system,
  };
}

function startDoor(message: StartMessage): Promise<RunningDoor> {
  switch (message.door) {
    case 'gateway':
      return startGatewayDoor(message);
    case 'aws-lambda':
      return startLambdaDoor(message);
    default:
      return startDecisionDoor(message);
  }
}

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write('bench/doors-server.ts is started by bench/doors.ts (it needs an IPC channel)\n');
    process.exit(2);
  }
  let door: RunningDoor | undefined;
  let cpu0: NodeJS.CpuUsage | undefined;
  let served0 = 0;
  const fail = (err: Error) => send({ type: 'error', message: err.stack ?? err.message });
  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'start':
        startDoor(message)
          .then((started) => {
            door = started;
            send({ type: 'ready', url: started.url });
          })
          .catch(fail);
        return;
      case 'invoke':
        if (!door?.invoke) return fail(new Error('this door is not invoked in-process'));
        door.invoke(message).then(send, fail);
        return;
      case 'measure-start':
        served0 = door?.served() ?? 0;
        cpu0 = process.cpuUsage();
        send({ type: 'measuring' });
        return;
      case 'measure-stop': {
        const cpu = process.cpuUsage(cpu0);
        send({
          type: 'cpu',
          userUs: cpu.user,
          systemUs: cpu.system,
          served: (door?.served() ?? 0) - served0,
        });
        return;
      }
      case 'exit':
        (door?.close() ?? Promise.resolve()).catch(() => {}).finally(() => process.exit(0));
        return;
    }
  });
  // The parent going away (crash, Ctrl-C) must not leave servers behind.
  process.on('disconnect', () => process.exit(0));
}

await main();
