export {
  type AuthorizationServer,
  type AuthorizationServerOptions,
  createAuthorizationServer,
} from './create-authorization-server.ts';
export { pruneExpiredOidcModels } from './storage-adapter.ts';
