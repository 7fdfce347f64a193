export {
  type CertificateResolver,
  createCertificateResolver,
  type PresentedCertificate,
} from './client-certificate.ts';
export {
  CONSOLE_CALLBACK_PATH,
  CONSOLE_CLIENT_ALG,
  CONSOLE_CLIENT_ID,
  consoleClientKey,
} from './console-client.ts';
export {
  type AuthorizationServer,
  type AuthorizationServerOptions,
  createAuthorizationServer,
} from './create-authorization-server.ts';
export {
  getInitialAccessToken,
  INITIAL_ACCESS_TOKEN_LIFETIME,
  INITIAL_ACCESS_TOKEN_PAGE_KEY_LENGTH,
  INITIAL_ACCESS_TOKEN_USES,
  type InitialAccessTokenFilter,
  type InitialAccessTokenView,
  type IssuedInitialAccessToken,
  issueInitialAccessToken,
  listInitialAccessTokensPage,
  revokeInitialAccessToken,
  suspendClientsRegisteredWith,
} from './dynamic-registration/index.ts';
export { type RevokedTokenView, revokedTokenSnapshot } from './enforcement-snapshot.ts';
export { expiringAccessTokenKeys } from './expiring-access-token-keys.ts';
export {
  type ExplicitRegistrationOptions,
  endFederationRegistration,
  endFederationRegistrationsVia,
  type FederationRegistration,
  refreshFederationRegistrations,
  registerExplicitRegistration,
  registerFederationClient,
  removeSubordinateEndingRegistrations,
  revokeTrustMarkEndingRegistration,
  updateSubordinateEndingRegistrations,
} from './federation-registration/index.ts';
export {
  ACCOUNT_PAGE_KEY,
  AccountError,
  type AccountFilter,
  type AccountStore,
  type AccountView,
  accountStore,
  GRANT_PAGE_KEY,
  type GrantStore,
  type GrantView,
  grantStore,
  PasswordPolicyError,
  totpCode,
  UPSTREAM_CALLBACK_PATH,
  type UpstreamConfig,
} from './login/index.ts';
export { openIdProviderMetadata } from './openid-provider-metadata.ts';
export {
  countRegistrationRecords,
  type DynamicRegistrationRecord,
  type FederationRegistrationRecord,
  listRegistrationRecords,
  type RegistrationRecord,
} from './registrations-view.ts';
export { AS_ROUTES, CLIENT_SIGNING_ALGS } from './routes.ts';
export { pruneExpiredOidcModels } from './storage-adapter.ts';
