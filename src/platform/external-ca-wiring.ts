import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Logger } from 'pino';
import { createOcspChecker, type OcspChecker, startExternalCrlRefresher } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import { createGuardedFetcher, type GuardedFetcher } from '../shared/guarded-fetch/index.ts';
import type { Storage } from '../storage/index.ts';
import type { FederationConfig } from './config.ts';

// A bank's CRL easily outgrows the partner fetcher's default body limit.
const MIN_CRL_BYTES = 8 * 1024 * 1024;

/**
 * Bring your own CA: the fetcher for organisations' CRLs (the partner fetcher's address policy and limits from
 * `federation.fetch.*`, plus plain http, since CRLs are signed and commonly served over http: RFC 5280
 * §4.2.1.13; OCSP, RFC 6960 App. A.1) and the refresher that keeps each registered CA's revocation state current.
 */
export function startExternalCas(options: {
  storage: Storage;
  fetch: FederationConfig['fetch'];
  caPem: string;
  clock: Clock;
  logger: Logger;
}): { fetcher: GuardedFetcher; checkOcsp: OcspChecker; stop(): Promise<void> } {
  const { fetch } = options;
  const fetcher = createGuardedFetcher({
    timeoutMs: fetch.timeoutMs,
    maxResponseBytes: Math.max(fetch.maxBytes, MIN_CRL_BYTES),
    maxRedirects: fetch.maxRedirects,
    allowLoopback: fetch.allowLoopback,
    allowPrivateNetworks: fetch.allowPrivateNetworks,
    allowPlainHttp: true,
    ca: [...rootCertificates, options.caPem, ...(fetch.caFile ? [readFileSync(fetch.caFile, 'utf8')] : [])],
  });
  const refresher = startExternalCrlRefresher({
    storage: options.storage,
    fetcher,
    clock: options.clock,
    logger: options.logger,
  });
  void refresher.runOnce();
  return {
    fetcher,
    checkOcsp: createOcspChecker(fetcher),
    async stop() {
      await refresher.stop();
      await fetcher.close();
    },
  };
}
