// oidc-provider's accessor of a provider's internal state (lib/helpers/weak_cache.js), used only to keep the
// supported scopes current (live-catalog-scopes.ts). oidc-provider is pinned to an exact version.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  export default function instance(provider: object): unknown;
}
