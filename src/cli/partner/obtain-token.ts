import type { Agent } from 'undici';
import { CliError } from '../cli-error.ts';
import type { PartnerCredentials } from './credentials.ts';
import { requestToken, type TokenResponse } from './request-token.ts';
import type { SavedAccessTokens } from './saved-access-tokens.ts';

export interface ObtainTokenOptions {
  credentials: PartnerCredentials;
  issuer: string;
  clientId: string | undefined;
  scope: string | undefined;
  agent: Agent;
  /** When given, a live cached token is reused and a new one is stored. */
  cache?: SavedAccessTokens;
  now?: () => number;
}

export interface ObtainedToken {
  accessToken: string;
  response: TokenResponse | undefined;
  fromCache: boolean;
}

/** client_id is the certificate's CN unless given: the platform names the certificate after the client. */
export function clientIdFor(credentials: PartnerCredentials, explicit: string | undefined): string {
  const clientId = explicit ?? credentials.commonName;
  if (!clientId) {
    throw new CliError(
      'the certificate has no CN to take the client_id from; pass --client-id',
      'no_client_id',
    );
  }
  return clientId;
}

export async function obtainToken(opts: ObtainTokenOptions): Promise<ObtainedToken> {
  const { credentials, cache, scope, issuer } = opts;
  const cached = cache?.get(credentials.thumbprint, scope, issuer);
  if (cached) return { accessToken: cached.access_token, response: undefined, fromCache: true };
  const response = await requestToken({
    issuer,
    clientId: clientIdFor(credentials, opts.clientId),
    scope,
    agent: opts.agent,
  });
  if (cache && typeof response.expires_in === 'number') {
    const now = (opts.now ?? (() => Date.now() / 1000))();
    cache.put(credentials.thumbprint, scope, {
      access_token: response.access_token,
      token_type: response.token_type,
      scope: response.scope ?? null,
      issuer,
      expires_at: Math.floor(now + response.expires_in),
    });
  }
  return { accessToken: response.access_token, response, fromCache: false };
}
