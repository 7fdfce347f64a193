import * as client from 'openid-client';
import { type Agent, fetch as undiciFetch } from 'undici';
import { CliError } from '../cli-error.ts';
import { transportError } from './mtls-agent.ts';

export interface TokenRequest {
  issuer: string;
  clientId: string;
  scope: string | undefined;
  /** Presents the partner certificate (tls_client_auth, RFC 8705 §2.1) and trusts the platform CA. */
  agent: Agent;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  [parameter: string]: unknown;
}

/** The fields of an RFC 6749 §5.2 error, whichever way openid-client reports it. */
function oauthError(
  err: unknown,
): { error: string; description: string | undefined; status: number } | undefined {
  if (err instanceof client.ResponseBodyError) {
    return { error: err.error, description: err.error_description, status: err.status };
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const params = err.cause[0]?.parameters;
    if (params?.error)
      return { error: params.error, description: params.error_description, status: err.status };
  }
  return undefined;
}

/** openid-client reports a failed RFC 8414 §3.3 issuer comparison with the metadata somewhere in its causes. */
function issuerMismatch(err: unknown): { issuer: unknown } | undefined {
  let e = err as
    | { code?: string; attribute?: string; body?: { issuer?: unknown }; cause?: unknown }
    | undefined;
  if (e?.code !== 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') return undefined;
  for (let depth = 0; e && depth < 3; depth++) {
    if (e.attribute === 'issuer') return { issuer: e.body?.issuer };
    e = e.cause as typeof e;
  }
  return undefined;
}

function explain(err: unknown, url: string, issuer: string, step: 'discovery' | 'token'): CliError {
  const oauth = oauthError(err);
  if (oauth) {
    return new CliError(
      `token request refused: ${oauth.error}${oauth.description ? `: ${oauth.description}` : ''} (HTTP ${oauth.status})`,
      oauth.error,
    );
  }
  const transport = transportError(err, url);
  if (transport) return transport;
  // RFC 8414 §3.3: the metadata's issuer MUST be identical to the issuer identifier it was fetched for.
  const mismatch = issuerMismatch(err);
  if (mismatch) return issuerError(mismatch.issuer, issuer);
  const e = err as { code?: string; message?: string };
  const where = step === 'discovery' ? `discovery at ${url}` : `token request to ${url}`;
  return new CliError(
    `${where} failed: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`,
    e.code ?? 'oauth_failure',
  );
}

const issuerError = (named: unknown, issuer: string) =>
  new CliError(
    `authorization server metadata names issuer ${JSON.stringify(named)}, not ${issuer} (RFC 8414 §3.3); check --issuer`,
    'issuer_mismatch',
  );

/**
 * Client credentials grant (RFC 6749 §4.4) with tls_client_auth over the AS's mTLS endpoint alias
 * (RFC 8705 §2.1, §5), by openid-client: RFC 8414 discovery, then the grant; the token comes back bound
 * to the certificate the agent presents.
 */
export async function requestToken(req: TokenRequest): Promise<TokenResponse> {
  const fetchOverMtls: client.CustomFetch = (url, options) =>
    undiciFetch(url, { ...options, dispatcher: req.agent } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>;
  let config: client.Configuration;
  try {
    config = await client.discovery(
      new URL(req.issuer),
      req.clientId,
      { use_mtls_endpoint_aliases: true },
      client.TlsClientAuth(),
      { algorithm: 'oauth2', [client.customFetch]: fetchOverMtls, timeout: 15 },
    );
  } catch (err) {
    throw explain(err, req.issuer, req.issuer, 'discovery');
  }
  const metadata = config.serverMetadata();
  // openid-client compares normalised URLs; the issuer must also be the exact string (RFC 8414 §3.3).
  if (metadata.issuer !== req.issuer && metadata.issuer !== `${req.issuer}/`) {
    throw issuerError(metadata.issuer, req.issuer);
  }
  // Without the alias the grant would go to the public listener, which never asks for a certificate.
  const tokenEndpoint = metadata.mtls_endpoint_aliases?.token_endpoint;
  if (typeof tokenEndpoint !== 'string') {
    throw new CliError(
      `the authorization server at ${req.issuer} advertises no mtls_endpoint_aliases.token_endpoint (RFC 8705 §5)`,
      'no_mtls_endpoint',
    );
  }
  try {
    const response = await client.clientCredentialsGrant(
      config,
      req.scope === undefined ? {} : { scope: req.scope },
    );
    return { ...response } as TokenResponse;
  } catch (err) {
    throw explain(err, tokenEndpoint, req.issuer, 'token');
  }
}
