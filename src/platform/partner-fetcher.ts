import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { createGuardedFetcher, type GuardedFetcher } from '../shared/guarded-fetch/index.ts';
import type { FederationConfig } from './config.ts';

/**
 * The platform's one fetcher for every request a partner's word causes: federation statements and Trust Mark
 * statuses, a client's jwks_uri. One address policy and one set of limits (`federation.fetch.*`) for all of
 * them; trusted roots are the system's, the platform CA (entities it serves) and `federation.fetch.caFile`.
 */
export function createPartnerFetcher(fetch: FederationConfig['fetch'], caPem: string): GuardedFetcher {
  return createGuardedFetcher({
    timeoutMs: fetch.timeoutMs,
    maxResponseBytes: fetch.maxBytes,
    maxRedirects: fetch.maxRedirects,
    allowLoopback: fetch.allowLoopback,
    allowPrivateNetworks: fetch.allowPrivateNetworks,
    ca: [...rootCertificates, caPem, ...(fetch.caFile ? [readFileSync(fetch.caFile, 'utf8')] : [])],
  });
}
