export {
  ACCOUNT_PAGE_KEY,
  AccountError,
  type AccountFilter,
  type AccountStore,
  type AccountView,
  accountStore,
  normaliseUsername,
} from './account-store.ts';
export { GRANT_PAGE_KEY, type GrantStore, type GrantView, grantStore } from './grants.ts';
export { createInteractions, INTERACTION_HEADERS, type InteractionOptions } from './interactions.ts';
export { PasswordPolicyError } from './password.ts';
export { totpCode } from './totp.ts';
export {
  createUpstreamLogin,
  UPSTREAM_CALLBACK_PATH,
  type UpstreamConfig,
  type UpstreamLogin,
} from './upstream.ts';
