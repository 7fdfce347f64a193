import {
  createGuardedFetcher,
  type GuardedFetcher,
  type GuardedFetcherOptions,
} from '../../src/shared/guarded-fetch/index.ts';

/** A resolver answering from a fixed table; any other name does not exist (ENOTFOUND), as off-line. */
export function fakeDns(table: Record<string, string[]> = {}): (hostname: string) => Promise<string[]> {
  return async (hostname) => {
    const addresses = table[hostname.toLowerCase()];
    if (addresses) return addresses;
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  };
}

/** The platform's partner fetcher as a test sets it up: the production policy, DNS answered from a table. */
export function testPartnerFetcher(
  options: GuardedFetcherOptions & { dns?: Record<string, string[]> } = {},
): GuardedFetcher {
  const { dns, ...rest } = options;
  return createGuardedFetcher({ resolveHost: fakeDns(dns), timeoutMs: 3000, ...rest });
}
