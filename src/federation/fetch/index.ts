export {
  type AddressClass,
  type AddressPolicy,
  classifyAddress,
  FETCH_ERROR_CODES,
  FetchError,
  type FetchErrorCode,
  type FetchErrorDetails,
  type ResolveHost,
} from '../../shared/guarded-fetch/index.ts';
export {
  createFederationFetcher,
  type FederationFetcher,
  type FederationFetcherOptions,
  type FederationRequest,
  type FederationResponse,
} from './federation-fetcher.ts';
