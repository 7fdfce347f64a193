import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { type Configuration, errors } from 'oidc-provider';
import type { Logger } from 'pino';
import { AUTH_METHODS, directoryIssuer, directoryStore, PUBLIC_AUTH_METHOD } from '../directory/index.ts';
import type { TrustChainResolver, TrustMarkTypeConfig } from '../federation/index.ts';
import type { OcspChecker } from '../pki/index.ts';
import type { ProxyEntry } from '../shared/client-cert-headers/index.ts';
import type { Clock } from '../shared/clock.ts';
import { createFetchFunction, type GuardedFetcher } from '../shared/guarded-fetch/index.ts';
import { createMemoryReplayCache, type ReplayCache } from '../shared/replay-cache/index.ts';
import type { Storage } from '../storage/index.ts';
import { loadAccessTokenKeys } from './access-token-keys.ts';
import {
  type AutomaticRegistration,
  createAutomaticRegistration,
  createClientAssertionPolicy,
  createRequestObjectPolicy,
} from './automatic-registration/index.ts';
import { type CertificateResolver, createCertificateResolver } from './client-certificate.ts';
import { loadClientMetadata } from './client-metadata.ts';
import { CONSOLE_CLIENT_ID, consoleClientMetadata } from './console-client.ts';
import { deriveCookieKeys } from './cookie-keys.ts';
import { readDiscoveryMetadata } from './discovery-metadata.ts';
import { createDpopProofGuard, deriveDpopNonceSecret, withDpopBinding } from './dpop/index.ts';
import { createDynamicRegistration, REGISTRATION_PATH } from './dynamic-registration/index.ts';
import { explainMissingCertificate } from './explain-missing-certificate.ts';
import {
  FAPI_AUTHORIZATION_CODE_TTL_SECONDS,
  type FapiProfile,
  fapiFeature,
  platformRequiresPar,
  requireHolderOfKey,
  rotateRefreshToken,
  withFapiClientAssertionRules,
  withFapiProfile,
  withFapiRequestObjectRules,
} from './fapi/index.ts';
import { createIntrospectAndRevokeJwt } from './introspect-and-revoke-jwt.ts';
import { followCatalogScopes } from './live-catalog-scopes.ts';
import {
  accountStore,
  createInteractions,
  createUpstreamLogin,
  grantStore,
  type UpstreamConfig,
} from './login/index.ts';
import { AS_ROUTES, CLIENT_SIGNING_ALGS } from './routes.ts';
import { StorageAdapter } from './storage-adapter.ts';
import { bindingCertificate } from './token-endpoint/binding-certificate.ts';
import { certificateAuthorized } from './token-endpoint/certificate-authorized.ts';
import { certificateClientOf, certificateStateOf } from './token-endpoint/certificate-state.ts';
import { certificateSubjectMatches } from './token-endpoint/certificate-subject-matches.ts';
import { checkRequestedScope } from './token-endpoint/check-requested-scope.ts';
import { createCertificateLookup } from './token-endpoint/create-certificate-lookup.ts';
import { tokenEndpointCache } from './token-endpoint/directory-cache.ts';

export interface AuthorizationServerOptions {
  storage: Storage;
  kek: string;
  clock: Clock;
  logger: Logger;
  /** Issuer identifier = public base URL (RFC 8414 §2). */
  issuer: string;
  /** Base URL of the mTLS listener, advertised as mtls_endpoint_aliases (RFC 8705 §5). */
  mtlsUrl: string;
  /** The protected API: the only resource, and the `aud` of every access token (RFC 9068 §3). */
  audience: string;
  accessTokenTtlSeconds: number;
  /** PEM certificates of the platform CAs (issuing, root). */
  trustedCas: readonly string[] | (() => readonly string[]);
  trustedProxies: string[];
  /** TLS-terminating proxies and the header form each forwards the client certificate in (`proxies`). */
  proxies?: ProxyEntry[];
  /**
   * The platform's partner fetcher: every client jwks_uri is fetched through it (connect-time address policy,
   * https only, limits), and registrations refuse a URL it would not fetch.
   */
  fetcher: GuardedFetcher;
  /**
   * OpenID Federation 1.0 §12.1 Automatic Registration, offered when the issuer is the platform's Entity
   * Identifier: RPs unknown here register at the authorization and PAR endpoints through their Trust Chain.
   */
  federation?: { resolver: TrustChainResolver; trustMarkTypes: readonly TrustMarkTypeConfig[] };
  /**
   * Dynamic Client Registration (RFC 7591) with the directory's software statements: the oldest statement
   * accepted, in seconds since its `iat` (config `registration.softwareStatementMaxAgeSeconds`); default 300.
   * `allowInitialAccessTokens` (config `registration.allowInitialAccessTokens`, default false): an operator's
   * initial access token (RFC 7591 §3) may stand in for a statement.
   */
  registration?: { softwareStatementMaxAgeSeconds?: number; allowInitialAccessTokens?: boolean };
  /**
   * Bring your own CA: consults the OCSP responder an organisation configured for its CA (RFC 6960), through
   * the guarded fetcher. Without it, a CA with an OCSP URL vouches for nobody (fail closed).
   */
  checkOcsp?: OcspChecker;
  /**
   * FAPI 2.0 Security Profile for every authorization code client (config `fapi.profile`, default `2.0`) or
   * none (`off`); a client's own `fapi_profile` metadata overrides it (docs/fapi.md).
   */
  fapi?: { profile: FapiProfile };
  /**
   * DPoP (RFC 9449) at the token and PAR endpoints: whether a proof must carry a server nonce (§8; config
   * `dpop.requireNonce`, default always), and the replay cache that remembers proof `jti`s across nodes (§11.1;
   * the platform's is Redis or the database; default: this process only).
   */
  dpop?: { requireNonce?: 'always' | 'never'; replayCache?: ReplayCache };
  /** Sign in with the provider's existing identity provider (config `login.upstream.*`), besides local accounts. */
  upstreamLogin?: UpstreamConfig;
}

export interface AuthorizationServer {
  provider: Provider;
  /** Node request handler for the public and mTLS listeners. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  discoveryPaths: readonly string[];
  /** The discovery document exactly as served (RFC 8414 §3): the one source of every copy of this metadata. */
  discoveryMetadata: () => Promise<Record<string, unknown>>;
}

/** RFC 7591 §2.3: a software statement is used within minutes of being issued. */
const DEFAULT_SSA_MAX_AGE_SECONDS = 300;

// oidc-provider's default leeway, used for Request Objects and client assertions alike.
const CLOCK_SKEW_SECONDS = 15;

/**
 * oidc-provider configured as Accredit's authorization server: client credentials, and the authorization code
 * grant with PKCE (S256), Pushed Authorization Requests and signed Request Objects; mTLS client
 * authentication and certificate-bound RFC 9068 JWT access tokens, introspection and revocation, clients read
 * live from the directory (federation RPs registered on their first request), state in our storage, keys
 * from our key store. There is no end-user login yet: interactions land on a route that says so.
 */
export async function createAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<AuthorizationServer> {
  const { storage, clock, issuer, audience } = options;
  const fapiProfile = options.fapi?.profile ?? '2.0';
  const accounts = accountStore(storage.db, options.kek);
  const grants = grantStore(storage);
  const keys = await loadAccessTokenKeys(storage.db, options.kek);
  const catalogScopes = await directoryStore(storage.db).scopeNames();
  const resolveCertificate: CertificateResolver = createCertificateResolver({
    trustedProxies: options.trustedProxies,
    proxies: options.proxies ?? [],
    trustedCas: options.trustedCas,
  });
  const automatic: AutomaticRegistration | undefined = options.federation
    ? createAutomaticRegistration({
        storage,
        resolver: options.federation.resolver,
        entityId: issuer,
        trustMarkTypes: options.federation.trustMarkTypes,
        clock,
        logger: options.logger,
        algorithms: CLIENT_SIGNING_ALGS,
        skewSeconds: CLOCK_SKEW_SECONDS,
        presentedCertificate: (ctx) => certificateStateOf(ctx)?.presented?.x5t,
        urlGuard: options.fetcher,
      })
    : undefined;

  const configuration: Configuration = {
    adapter: (name: string) =>
      name === 'Client'
        ? {
            find: async (id: string) => {
              const client = withDpopBinding(
                await (automatic ? automatic.findClient(id) : loadClientMetadata(storage, id, clock())),
              );
              return client && withFapiProfile(client, fapiProfile);
            },
            upsert: async () => {},
            destroy: async () => {},
            consume: async () => {},
            findByUid: async () => undefined,
            findByUserCode: async () => undefined,
            revokeByGrantId: async () => {},
          }
        : new StorageAdapter(name, storage, clock),
    // Issue 15: the web console, a first-party client configured here (never in the directory): see
    // console-client.ts. Static clients are found before the adapter, so no directory client can shadow it.
    clients: [consoleClientMetadata(issuer, options.kek) as NonNullable<Configuration['clients']>[number]],
    // A client's jwks_uri is a partner's word: fetched only through the guarded fetcher, never a bare fetch().
    fetch: createFetchFunction(options.fetcher),
    routes: { ...AS_ROUTES },
    jwks: keys.jwks as Configuration['jwks'],
    cookies: { keys: deriveCookieKeys(options.kek) },
    // Issue 14: end users sign in and consent on the platform's own pages (login/interactions.ts).
    findAccount: async (_ctx, id) => {
      const account = await accounts.find(id);
      // A disabled or removed account has no session any more: the next authorization asks to sign in.
      if (account?.id !== id || account.status !== 'active') return undefined;
      return {
        accountId: account.id,
        claims: async () => ({
          sub: account.id,
          ...(account.name !== null && { name: account.name }),
          ...(account.email !== null && { email: account.email }),
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The session's grant, else the consent this account gave this client before (remembered, revocable).
    loadExistingGrant: async (ctx) => {
      const clientId = ctx.oidc.client?.clientId;
      const accountId = ctx.oidc.session?.accountId;
      if (!clientId || !accountId) return undefined;
      // Issue 15: the platform's own console needs no consent (first party, `openid` only); login still does.
      if (clientId === CONSOLE_CLIENT_ID) {
        const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
        grant.addOIDCScope('openid');
        await grant.save();
        return grant;
      }
      const candidates = [
        ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(clientId),
        await grants.latest(accountId, clientId, clock()),
      ];
      for (const grantId of candidates) {
        const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
        if (grant?.accountId === accountId && grant.clientId === clientId) return grant;
      }
      return undefined;
    },
    // Refresh tokens for clients registered with the refresh_token grant (no offline_access: not an OIDC RP).
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.kind === 'AuthorizationCode',
    scopes: catalogScopes,
    claims: { openid: ['sub'] },
    responseTypes: ['code'],
    // RFC 9700 §2.1.1: PKCE for every authorization code request, S256 being the only method offered.
    pkce: { required: () => true },
    clockTolerance: CLOCK_SKEW_SECONDS,
    // The directory's methods, at every endpoint that authenticates a client: no shared secrets. Public clients
    // (`none`, operator-registered, code flow only, DPoP-bound: docs/dpop.md) identify themselves by client_id.
    clientAuthMethods: [...AUTH_METHODS, PUBLIC_AUTH_METHOD],
    enabledJWA: {
      clientAuthSigningAlgValues: [...CLIENT_SIGNING_ALGS],
      // RFC 9101 §10.2: no `none`, no MACs; a Request Object proves possession of a client's private key.
      requestObjectSigningAlgValues: [...CLIENT_SIGNING_ALGS],
      idTokenSigningAlgValues: [keys.alg],
      // JARM responses are signed with the platform's access token key.
      authorizationSigningAlgValues: [keys.alg],
      // RFC 9449 §4.3 step 5: asymmetric algorithms only (no `none`, no MACs).
      dPoPSigningAlgValues: [...CLIENT_SIGNING_ALGS],
    },
    clientDefaults: {
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'tls_client_auth',
      id_token_signed_response_alg: keys.alg,
      authorization_signed_response_alg: keys.alg,
    },
    extraClientMetadata: {
      properties: [
        'org_id',
        'roles',
        'registration_type',
        'certificate_apps',
        'tls_client_auth_ca_id',
        'fapi_profile',
      ],
    },
    assertJwtClientAuthClaimsAndHeader: withFapiClientAssertionRules(
      createClientAssertionPolicy({ issuer }),
      issuer,
    ),
    // FAPI 2.0 SP: a sender-constrained refresh token of a FAPI client is never rotated.
    rotateRefreshToken,
    ttl: {
      // FAPI 2.0 SP: authorization codes live at most 60 s (and are single use, RFC 6749 §4.1.2).
      AuthorizationCode: FAPI_AUTHORIZATION_CODE_TTL_SECONDS,
      ClientCredentials: options.accessTokenTtlSeconds,
      AccessToken: options.accessTokenTtlSeconds,
      Interaction: 600,
      Session: 3600,
      // A consent is remembered for 30 days unless revoked (accredit grant revoke).
      Grant: 30 * 86_400,
      // Refresh tokens of the code flow (clients registered with refresh_token); never beyond their grant.
      RefreshToken: 14 * 86_400,
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 9449: DPoP-bound tokens (cnf.jkt) at the token endpoint, dpop_jkt at PAR and authorization (§10).
      // Server nonces (§8, §9) are stateless and rotate every minute under a KEK-derived secret every node shares;
      // jti replay is refused across nodes by createDpopProofGuard through the shared replay cache (§11.1).
      dPoP: {
        enabled: true,
        nonceSecret: deriveDpopNonceSecret(options.kek),
        requireNonce: () => (options.dpop?.requireNonce ?? 'always') === 'always',
        // Replay is the guard's (atomic, every node, invalid_dpop_proof); oidc-provider's own check is a
        // find-then-save per node that answers invalid_grant.
        allowReplay: true,
      },
      // No end-user login exists yet, so there is no session to end and no account to describe: both endpoints
      // are off (oidc-provider enables them by default) rather than advertised and failing.
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // FAPI 2.0 Security Profile for the clients held to it (fapi/); oidc-provider's own 2.0 checks included.
      fapi: fapiFeature(),
      // FAPI 2.0 Message Signing: JWT Secured Authorization Response Mode (JARM) for clients that ask for it.
      jwtResponseModes: { enabled: true },
      // RFC 9126: served on both listeners, advertised on the mTLS one like the token endpoint.
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: false,
        allowUnregisteredRedirectUris: false,
      },
      // RFC 9101 (JAR) by value; request_uri only for pushed requests.
      requestObjects: {
        enabled: true,
        requireSignedRequestObject: false,
        assertJwtClaimsAndHeader: withFapiRequestObjectRules(
          createRequestObjectPolicy({
            issuer,
            algorithms: CLIENT_SIGNING_ALGS,
            clock,
            skewSeconds: CLOCK_SKEW_SECONDS,
          }),
          { clock, skewSeconds: CLOCK_SKEW_SECONDS },
        ),
      },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx) => bindingCertificate(certificateStateOf(ctx), certificateClientOf(ctx)),
        certificateAuthorized: (ctx) => certificateAuthorized(certificateStateOf(ctx)),
        certificateSubjectMatches: (ctx, property, expected) =>
          certificateSubjectMatches(certificateStateOf(ctx), certificateClientOf(ctx), property, expected),
      },
      resourceIndicators: {
        enabled: true,
        // Issue 15: the console reads only the ID token; it gets no access token for the protected API.
        defaultResource: async (_ctx, client) =>
          client.clientId === CONSOLE_CLIENT_ID ? undefined : audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resourceIndicator, client) => {
          if (resourceIndicator !== audience) throw new errors.InvalidTarget();
          const defaultScope = checkRequestedScope(
            client.scope,
            ctx.oidc.params?.scope as string | undefined,
          );
          if (defaultScope !== undefined && ctx.oidc.params) ctx.oidc.params.scope = defaultScope;
          return {
            scope: liveScopes.text(),
            audience,
            accessTokenTTL: options.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: keys.alg } },
          };
        },
      },
    },
    // The client oidc-provider just loaded and authenticated carries org_id and roles (extra metadata kept
    // under its own name): no second directory read per token.
    extraTokenClaims: async (ctx) => {
      const client = ctx.oidc.client as { org_id?: unknown; roles?: unknown } | undefined;
      return client ? { org_id: client.org_id, roles: client.roles } : undefined;
    },
    discovery: {
      // RFC 8414 §2: without these a client assumes client_secret_basic, which no client here has. Introspection
      // and revocation authenticate a client exactly as the token endpoint does.
      // A public client introspects (and revokes, RFC 7009 §2.1) its own tokens only (oidc-provider's policy).
      introspection_endpoint_auth_methods_supported: [...AUTH_METHODS, PUBLIC_AUTH_METHOD],
      introspection_endpoint_auth_signing_alg_values_supported: [...CLIENT_SIGNING_ALGS],
      revocation_endpoint_auth_methods_supported: [...AUTH_METHODS, PUBLIC_AUTH_METHOD],
      revocation_endpoint_auth_signing_alg_values_supported: [...CLIENT_SIGNING_ALGS],
      // RFC 7591 §3: registration is served on the mTLS listener, like every other client-facing endpoint.
      registration_endpoint: `${options.mtlsUrl}${REGISTRATION_PATH}`,
      // RFC 9126 §5: with the profile on, every authorization code client of the directory must push its
      // requests (a client opted out, or a federation RP, may still not: pushing always works).
      require_pushed_authorization_requests: platformRequiresPar(fapiProfile) ? true : undefined,
      mtls_endpoint_aliases: {
        registration_endpoint: `${options.mtlsUrl}${REGISTRATION_PATH}`,
        token_endpoint: `${options.mtlsUrl}${AS_ROUTES.token}`,
        introspection_endpoint: `${options.mtlsUrl}${AS_ROUTES.introspection}`,
        revocation_endpoint: `${options.mtlsUrl}${AS_ROUTES.revocation}`,
        pushed_authorization_request_endpoint: `${options.mtlsUrl}${AS_ROUTES.pushed_authorization_request}`,
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };

  const provider = new Provider(issuer, configuration);
  const liveScopes = followCatalogScopes(storage, provider, catalogScopes);
  provider.proxy = false;

  provider.use(
    createDpopProofGuard({
      replayCache: options.dpop?.replayCache ?? createMemoryReplayCache(),
      clock: () => clock(),
      paths: { token: AS_ROUTES.token, par: AS_ROUTES.pushed_authorization_request },
      algorithms: CLIENT_SIGNING_ALGS,
      skewSeconds: CLOCK_SKEW_SECONDS,
      logger: options.logger,
    }),
  );
  provider.use(
    createCertificateLookup({
      resolveCertificate,
      db: storage.db,
      clock,
      checkOcsp: options.checkOcsp,
      cache: tokenEndpointCache(storage),
    }),
  );
  // Issue 14: the login, consent and abort pages (/interaction/…).
  provider.use(
    createInteractions(provider, {
      storage,
      kek: options.kek,
      clock,
      logger: options.logger,
      accounts,
      grants,
      audience,
      ...(options.upstreamLogin && {
        upstream: createUpstreamLogin(options.upstreamLogin, { storage, clock, accounts, issuer }),
      }),
    }),
  );
  // RFC 7591 / RFC 7592: the registration and client configuration endpoints, before oidc-provider's routes.
  provider.use(
    createDynamicRegistration({
      storage,
      clock,
      logger: options.logger,
      issuer,
      statementIssuer: directoryIssuer(issuer),
      mtlsUrl: options.mtlsUrl,
      softwareStatementMaxAgeSeconds:
        options.registration?.softwareStatementMaxAgeSeconds ?? DEFAULT_SSA_MAX_AGE_SECONDS,
      allowInitialAccessTokens: options.registration?.allowInitialAccessTokens ?? false,
      skewSeconds: CLOCK_SKEW_SECONDS,
      urlGuard: options.fetcher,
    }),
  );
  // §12.1: automatic registration at the authorization and PAR endpoints only (never the token endpoint).
  if (automatic) provider.use(automatic.middleware);
  provider.use(
    createIntrospectAndRevokeJwt({
      storage,
      clock,
      issuer,
      publicJwks: keys.publicJwks,
      algorithms: [keys.alg],
    }),
  );
  // FAPI 2.0 SP: a FAPI client's token request without proof of possession is refused.
  requireHolderOfKey(provider);
  provider.on('server_error', (_ctx, err) => options.logger.error({ err }, 'authorization server error'));
  provider.on('grant.error', explainMissingCertificate);

  const callback = provider.callback();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // RFC 8414 §3: the OAuth metadata document is the same document under its own well-known name.
    if (req.url === '/.well-known/oauth-authorization-server') req.url = '/.well-known/openid-configuration';
    callback(req, res);
  };
  return {
    provider,
    discoveryPaths: ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'],
    handle,
    discoveryMetadata: () => readDiscoveryMetadata(handle, issuer),
  };
}
