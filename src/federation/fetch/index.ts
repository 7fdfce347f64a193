export { type AddressClass, type AddressPolicy, classifyAddress } from './address-policy.ts';
export {
  createFederationFetcher,
  type FederationFetcher,
  type FederationFetcherOptions,
  type FederationRequest,
  type FederationResponse,
} from './federation-fetcher.ts';
export { FETCH_ERROR_CODES, FetchError, type FetchErrorCode, type FetchErrorDetails } from './fetch-error.ts';
export type { ResolveHost } from './guarded-connector.ts';
