import type { Logger } from 'pino';
import { type CertificateAuthority, retireExpendedIssuing } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import { CHANGE_KINDS, type Storage } from '../storage/index.ts';
import type { PlatformConfig } from './config.ts';
import { ensureServerTls, type ServerTls } from './server-tls.ts';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

/**
 * The trusted CA certificates (PEM each) as the CA holds them now, for checks that run per request (the
 * authorization server's forwarded-certificate chains): the same array until the bundle changes.
 */
export function trustedCaList(ca: CertificateAuthority): () => readonly string[] {
  let from = '';
  let list: readonly string[] = [];
  return () => {
    if (ca.chainPem !== from) {
      from = ca.chainPem;
      list = (from.match(PEM_CERT) ?? []).map((pem) => pem.trim());
    }
    return list;
  };
}

/**
 * CRL upkeep of every CA this platform signs for (the root while its key is online, each issuing CA
 * generation still trusted), retirement of retiring CAs whose last certificate has expired, and a warning
 * while the root is offline and its CRL has a quarter of its validity left.
 */
export async function caHousekeeping(input: {
  storage: Storage;
  ca: CertificateAuthority;
  clock: Clock;
  logger: Logger;
}): Promise<void> {
  const { storage, ca, clock, logger } = input;
  for (const which of ca.crlPublishers()) {
    if (await ca.needsFreshCrl(storage.db, clock(), which)) {
      const { crlNumber } = await storage.transaction((tx) => ca.publishCrl(tx, clock(), which));
      logger.info({ ca: typeof which === 'string' ? which : which.id, crlNumber }, 'CRL re-published');
    }
  }
  const retired = await storage.transaction((tx) => retireExpendedIssuing(tx, clock()));
  if (retired.length > 0) {
    logger.info({ retired }, 'retiring issuing CA retired: its last certificate has expired');
    await ca.reload(storage.db);
  }
  if (!ca.rootKeyOnline) {
    const latest = await ca.latestCrl(storage.db, 'root');
    if (latest) {
      const left = new Date(latest.nextUpdate).getTime() - clock().getTime();
      const whole = new Date(latest.nextUpdate).getTime() - new Date(latest.thisUpdate).getTime();
      if (left < whole / 4) {
        logger.warn(
          { next_update: latest.nextUpdate },
          'the root CRL expires soon and the root key is offline: run `accredit ca ceremony --publish-root-crl`',
        );
      }
    }
  }
}

/**
 * Follows `ca.changed` on the change feed (an admin call, a ceremony run by another process, housekeeping):
 * reloads the CAs, writes the bundle file, re-issues the server certificate from the active issuing CA when
 * it changed, and hands the new TLS material to every listener. Returns the unsubscribe function.
 */
export function followCaChanges(input: {
  storage: Storage;
  ca: CertificateAuthority;
  config: PlatformConfig;
  kek: string;
  clock: Clock;
  logger: Logger;
  apply: (tls: ServerTls) => void;
}): () => void {
  const { storage, ca, logger } = input;
  let queue: Promise<void> = Promise.resolve();
  return storage.feed.subscribe((change) => {
    if (change.kind !== CHANGE_KINDS.caChanged) return;
    queue = queue
      .then(async () => {
        await ca.reload(storage.db);
        const tls = await ensureServerTls(input.config, ca, input.kek, input.clock());
        input.apply(tls);
        logger.info(
          { ca: change.entityId, action: change.payload.action, active: ca.caId },
          'the platform CAs changed; trust stores reloaded',
        );
      })
      .catch((err) => logger.error({ err }, 'reloading the platform CAs failed'));
  });
}
