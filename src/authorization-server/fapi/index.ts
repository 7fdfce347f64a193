export { ownFapiProfile, withFapiProfile } from './fapi-client-metadata.ts';
export {
  fapiFeature,
  platformRequiresPar,
  requireHolderOfKey,
  rotateRefreshToken,
  withFapiClientAssertionRules,
  withFapiRequestObjectRules,
} from './fapi-hooks.ts';
export {
  effectiveFapiProfile,
  FAPI_AUTHORIZATION_CODE_TTL_SECONDS,
  FAPI_CLIENT_METADATA,
  FAPI_PROFILES,
  FAPI_SIGNING_ALGS,
  type FapiProfile,
  isFapiClient,
  isFapiProfile,
} from './fapi-profile.ts';
