import {
  createGuardedFetcher,
  type GuardedFetcher,
  type GuardedFetcherOptions,
  type GuardedRequest,
  type GuardedResponse,
} from '../../shared/guarded-fetch/index.ts';

export type FederationFetcherOptions = GuardedFetcherOptions;
export type FederationRequest = Omit<GuardedRequest, 'mediaTypes'>;
export type FederationResponse = GuardedResponse;

/** What the federation needs of the platform's guarded fetcher: statements and statuses of the given media type. */
export type FederationFetcher = Pick<GuardedFetcher, 'fetch' | 'close'>;

/**
 * A guarded fetcher of its own, for tools and tests; the platform hands the federation its one shared fetcher,
 * so that statements and client keys are fetched under the same address policy and limits.
 */
export function createFederationFetcher(options: FederationFetcherOptions = {}): FederationFetcher {
  return createGuardedFetcher({ userAgent: 'accredit-federation', ...options });
}
