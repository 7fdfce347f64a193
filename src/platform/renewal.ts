import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createCertificateResolver } from '../authorization-server/index.ts';
import {
  type CertificateAuthority,
  DEFAULT_RENEWAL_SETTINGS,
  type RenewalSettings,
  splitCertificatePems,
} from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Storage } from '../storage/index.ts';
import type { PlatformConfig } from './config.ts';
import { createEstHandler, withEst } from './est/create-est-handler.ts';

const DAY_MS = 86_400_000;

/** The `renewal.*` configuration as the CA applies it. */
export function renewalSettingsOf(config: PlatformConfig): RenewalSettings {
  const r = config.renewal;
  return {
    windowFraction:
      r.windowPercent === undefined ? DEFAULT_RENEWAL_SETTINGS.windowFraction : r.windowPercent / 100,
    graceMs: r.graceDays * DAY_MS,
    drainMs: r.drainSeconds * 1000,
  };
}

/** Revokes, as superseded, every renewed certificate that is due; one transaction, one CRL. */
export async function supersedeRenewedCertificates(
  storage: Storage,
  ca: CertificateAuthority,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  const revoked = await storage.transaction((tx) =>
    ca.supersedeDue(tx, { actor: 'system:renewal', now: clock() }),
  );
  if (revoked.length > 0) logger.info({ serials: revoked }, 'renewed certificates revoked as superseded');
}

/**
 * Partner-driven renewal on the platform: EST in front of the authorization server on the mTLS listener,
 * and the sweep that revokes superseded certificates (also run by housekeeping).
 */
export function startRenewal(options: {
  storage: Storage;
  ca: CertificateAuthority;
  config: PlatformConfig;
  clock: Clock;
  logger: Logger;
}): {
  mtlsHandler(
    next: (req: IncomingMessage, res: ServerResponse) => void,
  ): (req: IncomingMessage, res: ServerResponse) => void;
  sweep(): Promise<void>;
  close(): void;
} {
  const { storage, ca, config, clock, logger } = options;
  const est = createEstHandler({
    storage,
    ca,
    clock,
    logger,
    // The same trust as the mTLS listener's: the TLS peer, or what a configured proxy forwards.
    resolveCertificate: createCertificateResolver({
      trustedProxies: config.trustedProxies,
      proxies: config.proxies,
      trustedCas: splitCertificatePems(ca.chainPem),
    }),
  });
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      await supersedeRenewedCertificates(storage, ca, clock, logger);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(
    () => sweep().catch((err) => logger.error({ err }, 'superseding renewed certificates failed')),
    config.renewal.sweepSeconds * 1000,
  );
  timer.unref();
  return {
    mtlsHandler: (next) => withEst(est, next),
    sweep,
    close: () => clearInterval(timer),
  };
}
