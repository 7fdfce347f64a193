import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  type EventSigner,
  type PlatformEvents,
  startWebhookDispatcher,
  type WebhookDispatcher,
} from '../audit/index.ts';
import type { Clock } from '../shared/clock.ts';
import { createGuardedSender, type GuardedSender } from '../shared/guarded-fetch/index.ts';
import type { Storage } from '../storage/index.ts';
import { registerOperatorAuth } from './admin-api/auth.ts';
import type { AdminDeps } from './admin-api/deps.ts';
import { registerWebhookRoutes } from './admin-api/webhooks-routes.ts';
import type { WebhooksConfig } from './config.ts';

export interface PlatformWebhooks {
  sender: GuardedSender;
  dispatcher: WebhookDispatcher;
  close(): Promise<void>;
}

/**
 * The guarded sender every webhook goes through: https only, the address policy at subscription time and at
 * connect time (loopback, private and link-local refused unless `webhooks.allowPrivateAddresses`), no
 * redirects, `webhooks.timeoutMs` per attempt. Receivers are trusted by the system roots, the platform CA and
 * `webhooks.caFile`.
 */
export function createWebhookSender(config: WebhooksConfig, caPem: string): GuardedSender {
  return createGuardedSender({
    timeoutMs: config.timeoutMs,
    connectTimeoutMs: Math.min(config.timeoutMs, 5000),
    allowLoopback: config.allowPrivateAddresses,
    allowPrivateNetworks: config.allowPrivateAddresses,
    ca: [...rootCertificates, caPem, ...(config.caFile ? [readFileSync(config.caFile, 'utf8')] : [])],
    userAgent: 'accredit-webhooks',
  });
}

export function startPlatformWebhooks(options: {
  config: WebhooksConfig;
  caPem: string;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  kek: string;
  issuer: string;
  events: PlatformEvents;
  signer: () => Promise<EventSigner>;
}): PlatformWebhooks {
  const { config } = options;
  const sender = createWebhookSender(config, options.caPem);
  const dispatcher = startWebhookDispatcher({
    storage: options.storage,
    clock: options.clock,
    logger: options.logger,
    sender,
    kek: options.kek,
    signer: options.signer,
    issuer: options.issuer,
    events: options.events,
    policy: { scheduleSeconds: config.retrySchedule, maxAgeMs: config.maxAgeHours * 3600_000 },
    pollIntervalMs: config.pollIntervalMs,
    leaseMs: config.timeoutMs + 60_000,
    retentionDays: config.retentionDays,
  });
  return {
    sender,
    dispatcher,
    async close() {
      await dispatcher.close();
      await sender.close();
    },
  };
}

/** `/admin/v1/webhooks…`, behind the operator bearer token like every admin route. */
export async function registerWebhookAdmin(
  app: FastifyInstance,
  deps: AdminDeps,
  webhooks: PlatformWebhooks,
  kek: string,
): Promise<void> {
  await app.register(
    async (admin) => {
      registerOperatorAuth(admin, deps);
      registerWebhookRoutes(admin, deps, {
        kek,
        urlGuard: webhooks.sender,
        wake: () => void webhooks.dispatcher.run(),
      });
    },
    { prefix: '/admin/v1' },
  );
}
