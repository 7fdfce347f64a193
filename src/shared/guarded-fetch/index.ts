export { type AddressClass, type AddressPolicy, classifyAddress } from './address-policy.ts';
export { FETCH_ERROR_CODES, FetchError, type FetchErrorCode, type FetchErrorDetails } from './fetch-error.ts';
export { createFetchFunction } from './fetch-function.ts';
export type { ResolveHost } from './guarded-connector.ts';
export {
  createGuardedFetcher,
  type GuardedFetcher,
  type GuardedFetcherOptions,
  type GuardedRequest,
  type GuardedResponse,
  type UrlGuard,
} from './guarded-fetcher.ts';
export {
  createGuardedSender,
  type GuardedPost,
  type GuardedPostResult,
  type GuardedSender,
  retryAfterSeconds,
} from './guarded-sender.ts';
