import type { KoaContextWithOIDC } from 'oidc-provider';

/** Sign in with the provider's existing identity provider (upstream OpenID Connect). */
export interface UpstreamLogin {
  /** The button's label ("Sign in with …"). */
  label: string;
  /** Sends the browser to the upstream authorization endpoint for interaction `uid`. */
  start(ctx: KoaContextWithOIDC, uid: string): Promise<void>;
}
