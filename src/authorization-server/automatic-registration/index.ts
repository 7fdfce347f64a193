export {
  type AutomaticRegistration,
  type AutomaticRegistrationOptions,
  createAutomaticRegistration,
} from './automatic-registration.ts';
export { type AutomaticRegistrationErrorCode, oauthError } from './oauth-error.ts';
export {
  checkClientAssertionClaims,
  checkRequestObjectClaims,
  type DecodedProof,
  type ExpectedProof,
  MAX_REQUEST_OBJECT_LIFETIME_SECONDS,
} from './proof-claims.ts';
export {
  createClientAssertionPolicy,
  createRequestObjectPolicy,
  type RequestObjectPolicyOptions,
} from './request-object-policy.ts';
