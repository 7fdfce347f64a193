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
export { AS_ROUTES, CLIENT_SIGNING_ALGS } from './routes.ts';
export { pruneExpiredOidcModels } from './storage-adapter.ts';
