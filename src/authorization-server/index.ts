export {
  type AuthorizationServer,
  type AuthorizationServerOptions,
  createAuthorizationServer,
} from './create-authorization-server.ts';
export {
  type ExplicitRegistrationOptions,
  endFederationRegistration,
  endFederationRegistrationsVia,
  type FederationRegistration,
  refreshFederationRegistrations,
  registerExplicitRegistration,
  registerFederationClient,
} from './federation-registration/index.ts';
export { pruneExpiredOidcModels } from './storage-adapter.ts';
