export { REGISTRATION_PATH, registrationClientUri } from './client-information.ts';
export { createDynamicRegistration } from './create-dynamic-registration.ts';
export {
  getInitialAccessToken,
  INITIAL_ACCESS_TOKEN_LIFETIME,
  INITIAL_ACCESS_TOKEN_PAGE_KEY_LENGTH,
  INITIAL_ACCESS_TOKEN_USES,
  type InitialAccessTokenFilter,
  type InitialAccessTokenStatus,
  type InitialAccessTokenView,
  type IssuedInitialAccessToken,
  type IssueInitialAccessTokenInput,
  issueInitialAccessToken,
  listInitialAccessTokensPage,
  revokeInitialAccessToken,
} from './initial-access-tokens.ts';
export type { DynamicRegistrationOptions } from './options.ts';
export {
  REGISTRATION_ERRORS,
  type RegistrationErrorCode,
  type RegistrationFinding,
} from './registration-error.ts';
export { suspendClientsRegisteredWith } from './suspend-registered-clients.ts';
