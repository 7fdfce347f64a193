export type { AuthorityActionMeta } from './action-meta.ts';
export {
  createFederationAuthority,
  type FederationAuthority,
  type FederationAuthorityOptions,
} from './authority.ts';
export {
  entityConfigurationUrl,
  FEDERATION_ENDPOINT_PATHS,
  type FederationEndpoint,
  federationEndpointUrls,
  federationRoutePrefix,
  isFederationPath,
} from './endpoint-urls.ts';
export { buildEntityConfiguration } from './endpoints/entity-configuration.ts';
export { subordinateStatementClaims } from './endpoints/fetch.ts';
export {
  registerFederationEndpoints,
  sendFederationError,
  toFederationError,
} from './endpoints/register-endpoints.ts';
export { parseResolveRequest, type ResolveRequest, resolveResponseClaims } from './endpoints/resolve.ts';
export { TRUST_MARK_STATUSES, type TrustMarkStatus } from './endpoints/trust-mark-status.ts';
export { expiringFederationKeys } from './expiring-federation-keys.ts';
export {
  type FederationKeyStore,
  type HistoricalKey,
  KEY_REVOCATION_REASONS,
  type KeyRevocationReason,
} from './federation-key-store.ts';
export {
  DatabaseFederationKeyStore,
  type FederationKeyView,
  listFederationKeys,
  revokeFederationKey,
  rotateFederationKey,
} from './federation-keys.ts';
export { MemoryFederationKeyStore } from './memory-federation-key-store.ts';
export {
  addSubordinate,
  findServedSubordinate,
  findSubordinate,
  getSubordinate,
  listSubordinates,
  listSubordinatesPage,
  removeSubordinate,
  SUBORDINATE_PAGE_KEY_LENGTH,
  type SubordinateFilter,
  type SubordinateInput,
  type SubordinatePatch,
  type SubordinateView,
  updateSubordinate,
} from './subordinates.ts';
export {
  getTrustMark,
  type IssueTrustMarkInput,
  issueTrustMark,
  listTrustMarks,
  listTrustMarksPage,
  revokeTrustMark,
  TRUST_MARK_PAGE_KEY_LENGTH,
  type TrustMarkFilter,
  type TrustMarkTypeConfig,
  type TrustMarkView,
  trustMarkClaims,
} from './trust-mark-store.ts';
export {
  type EntityIdOptions,
  validateConstraints,
  validateEntityId,
  validateEntityTypes,
  validateFederationJwks,
  validateMetadata,
  validateMetadataPolicy,
  validateMetadataPolicyCrit,
} from './validate-subordinate.ts';
