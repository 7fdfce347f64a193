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
export { buildEntityConfiguration } from './entity-configuration.ts';
export {
  FederationKeyStore,
  type FederationKeyView,
  type HistoricalKey,
  KEY_REVOCATION_REASONS,
  type KeyRevocationReason,
  listFederationKeys,
  revokeFederationKey,
  rotateFederationKey,
} from './federation-keys.ts';
export { subordinateStatementClaims } from './fetch.ts';
export { registerFederationEndpoints, sendFederationError, toFederationError } from './register-endpoints.ts';
export { parseResolveRequest, type ResolveRequest, resolveResponseClaims } from './resolve.ts';
export {
  addSubordinate,
  findServedSubordinate,
  findSubordinate,
  getSubordinate,
  listSubordinates,
  removeSubordinate,
  type SubordinateFilter,
  type SubordinateInput,
  type SubordinatePatch,
  type SubordinateView,
  updateSubordinate,
} from './subordinates.ts';
export { TRUST_MARK_STATUSES, type TrustMarkStatus } from './trust-mark-status.ts';
export {
  getTrustMark,
  type IssueTrustMarkInput,
  issueTrustMark,
  listTrustMarks,
  revokeTrustMark,
  type TrustMarkFilter,
  type TrustMarkTypeConfig,
  type TrustMarkView,
  trustMarkClaims,
} from './trust-marks.ts';
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
