import { AsyncLocalStorage } from 'node:async_hooks';
import type Provider from 'oidc-provider';
import type { AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import { directoryStore } from '../../directory/index.ts';
import {
  FederationError,
  isEntityIdentifier,
  type ResolveResult,
  type TrustChainResolver,
  type TrustMarkTypeConfig,
} from '../../federation/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';
import { loadClientMetadata } from '../client-metadata.ts';
import { federatedClientFrom, registerFederationClient } from '../federation-registration/index.ts';
import { AS_ROUTES } from '../routes.ts';
import { oauthError } from './oauth-error.ts';
import { checkClientAssertionClaims, checkRequestObjectClaims, type DecodedProof } from './proof-claims.ts';
import { certificateInJwks, inlineJwks, signedWithOneOf } from './rp-keys.ts';

export interface AutomaticRegistrationOptions {
  storage: Storage;
  resolver: TrustChainResolver;
  /** The OP's Entity Identifier, which is also its issuer identifier. */
  entityId: string;
  trustMarkTypes: readonly TrustMarkTypeConfig[];
  clock: Clock;
  logger: Logger;
  /** Signature algorithms accepted for Request Objects and client assertions. */
  algorithms: readonly string[];
  /** Leeway for exp, nbf and iat, in seconds. */
  skewSeconds: number;
  /** x5t#S256 of the TLS client certificate of the request, if any (self-signed ones included). */
  presentedCertificate: (ctx: KoaContextWithOIDC) => string | undefined;
  /** The partner fetcher's address policy: an RP's jwks_uri must be a URL the platform would fetch. */
  urlGuard: UrlGuard;
}

export interface AutomaticRegistration {
  /** provider.use: opens automatic registration for the authorization and PAR endpoints, and only those. */
  middleware: Parameters<Provider['use']>[0];
  /** The Client adapter's find: the directory's client, registered first when the request calls for it. */
  findClient(clientId: string): Promise<AdapterPayload | undefined>;
}

const RP = 'openid_relying_party';
const AUTHORIZATION = 'authorization';
const PAR = 'pushed_authorization_request';
const MAX_TRUST_CHAIN_LENGTH = 16;

type RegistrationState =
  /** Never registered, or its registration ended (chain broken, subordinate removed): may register anew. */
  | { is: 'unregistered'; ended: boolean }
  | { is: 'current'; kind: 'explicit' | 'automatic' }
  /** §12.1.1.1.2: a registration whose chain has expired is resolved again. */
  | { is: 'expired' }
  /** Not automatic registration's to touch: manual or DCR clients, or suspended or removed by an operator. */
  | { is: 'managed' };

interface RequestScope {
  ctx: KoaContextWithOIDC;
  /** One registration attempt per client and request: oidc-provider may look the client up more than once. */
  attempts: Map<string, Promise<void>>;
}

interface Proofs {
  requestObject: DecodedProof | undefined;
  clientAssertion: DecodedProof | undefined;
  certificate: string | undefined;
  redirectUri: unknown;
}

async function registrationState(storage: Storage, clientId: string, now: Date): Promise<RegistrationState> {
  const app = await directoryStore(storage.db).applicationWithOrganisation(clientId);
  const registration =
    app &&
    (await storage.db
      .selectFrom('federation_registrations')
      .select(['status', 'kind', 'expires_at'])
      .where('client_id', '=', clientId)
      .executeTakeFirst());
  const row = app && {
    registration_type: app.registration_type,
    status: app.status,
    registration_status: registration?.status,
    kind: registration?.kind,
    expires_at: registration?.expires_at,
  };
  if (!row) return { is: 'unregistered', ended: false };
  if (row.registration_type !== 'federation' || !row.registration_status || !row.kind)
    return { is: 'managed' };
  if (row.registration_status === 'ended') {
    // Deregistered with its registration: it may come back through a valid chain. Suspended: an operator's call.
    return row.status === 'deleted' ? { is: 'unregistered', ended: true } : { is: 'managed' };
  }
  if (row.status !== 'active') return { is: 'managed' };
  if (!row.expires_at || row.expires_at <= now.toISOString()) return { is: 'expired' };
  return { is: 'current', kind: row.kind };
}

const single = (value: unknown, name: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw oauthError('invalid_request', `${name} must be given once`);
  return value;
};

/**
 * Automatic Registration (OpenID Federation 1.0 §12.1). A request to the authorization or PAR endpoint whose
 * client_id is an Entity Identifier this OP has no current registration for is answered by resolving the
 * RP's Trust Chain, checking that the request proves possession of a key of the RP's resolved metadata, and
 * registering the client (linked to the organisation of the platform subordinate the chain passes through)
 * before oidc-provider looks at it. oidc-provider then authenticates the client and verifies the request
 * with the registered keys as for any other client. The token endpoint never registers (no window opens).
 */
export function createAutomaticRegistration(options: AutomaticRegistrationOptions): AutomaticRegistration {
  const { storage, resolver, entityId, clock, logger, algorithms } = options;
  const scopes = new AsyncLocalStorage<RequestScope>();
  const expected = (clientId: string) => ({
    clientId,
    audience: entityId,
    algorithms,
    now: clock(),
    skewSeconds: options.skewSeconds,
  });

  /** What the request offers as proof, checked for form before any network request is made (§12.1.1). */
  function proofsOf(ctx: KoaContextWithOIDC, clientId: string): Proofs {
    const route = ctx.oidc.route;
    // At PAR the client is looked up during client authentication, before the parameters are assembled.
    const params = (route === PAR ? ctx.oidc.body : ctx.oidc.params) ?? {};
    const request = single(params.request, 'request');
    const requestObject =
      request === undefined ? undefined : checkRequestObjectClaims(request, expected(clientId));
    const assertion = route === PAR ? single(params.client_assertion, 'client_assertion') : undefined;
    const clientAssertion =
      assertion === undefined
        ? undefined
        : checkClientAssertionClaims(assertion, params.client_assertion_type, expected(clientId));
    const certificate = route === PAR ? options.presentedCertificate(ctx) : undefined;
    // RFC 9101 §5: with a Request Object, only its parameters count (the outer ones are ignored).
    const redirectUri = requestObject
      ? (requestObject.payload as { redirect_uri?: unknown }).redirect_uri
      : params.redirect_uri;
    if (route === AUTHORIZATION && !requestObject) {
      // §12.1.1.1: at the authorization endpoint the signed Request Object is the only proof there can be.
      throw oauthError(
        'invalid_request',
        'automatic registration needs a signed Request Object (OpenID Federation 1.0 §12.1.1.1)',
      );
    }
    if (route === PAR && !requestObject && !clientAssertion && !certificate) {
      // §12.1.1.2: a Request Object, or client authentication that proves possession of an RP key.
      throw oauthError(
        'invalid_client',
        'automatic registration at the PAR endpoint needs a signed Request Object, a private_key_jwt client assertion or a self-signed client certificate (OpenID Federation 1.0 §12.1.1.2)',
      );
    }
    return { requestObject, clientAssertion, certificate, redirectUri };
  }

  /** §12.1.1.1.2: a Trust Chain the RP supplied (trust_chain header, §4.3) is used when it validates; else resolution. */
  async function resolve(clientId: string, proofs: Proofs, forceRefresh: boolean): Promise<ResolveResult> {
    const supplied = proofs.requestObject?.header.trust_chain;
    if (
      Array.isArray(supplied) &&
      supplied.length >= 2 &&
      supplied.length <= MAX_TRUST_CHAIN_LENGTH &&
      supplied.every((s) => typeof s === 'string' && s.length > 0)
    ) {
      const result = await resolver.validateChain(supplied as string[], { entityType: RP });
      // §12.1.1.1.2: every statement is verified; a chain about someone else is no hint at all.
      if (result.ok && result.entity.entityId === clientId) return result;
    }
    return resolver.resolve(clientId, { entityType: RP, forceRefresh });
  }

  /** §12.1.1.1.2, §12.1.1.2.1: the request proves possession of keys the RP published for openid_relying_party. */
  async function verifyProofs(rp: Record<string, unknown>, proofs: Proofs): Promise<void> {
    const jwks = inlineJwks(rp);
    if (!jwks) {
      throw oauthError(
        'invalid_client_metadata',
        'automatic registration needs the RP’s public keys inline (jwks) in its resolved openid_relying_party metadata',
      );
    }
    if (proofs.requestObject && !(await signedWithOneOf(proofs.requestObject.jwt, jwks, algorithms))) {
      throw oauthError(
        'invalid_request_object',
        'the Request Object is not signed with a key of the RP’s resolved metadata (OpenID Federation 1.0 §12.1.1.1.2)',
      );
    }
    const method = rp.token_endpoint_auth_method;
    if (proofs.clientAssertion) {
      // oidc-provider accepts the registered method only: refuse here rather than register and then fail.
      if (method !== 'private_key_jwt') {
        throw oauthError(
          'invalid_client',
          `the RP’s metadata registers token_endpoint_auth_method ${String(method)}`,
        );
      }
      if (!(await signedWithOneOf(proofs.clientAssertion.jwt, jwks, algorithms))) {
        throw oauthError(
          'invalid_client',
          'the client assertion is not signed with a key of the RP’s resolved metadata (OpenID Federation 1.0 §12.1.1.2.1)',
        );
      }
    } else if (proofs.certificate && method === 'self_signed_tls_client_auth') {
      if (!certificateInJwks(proofs.certificate, jwks)) {
        throw oauthError(
          'invalid_client',
          'the client certificate is not the x5c of a key in the RP’s resolved metadata (OpenID Federation 1.0 §12.1.1.2.1)',
        );
      }
    } else if (!proofs.requestObject) {
      throw oauthError(
        'invalid_client',
        'the client certificate does not prove possession of an RP key: the RP’s metadata registers another authentication method',
      );
    }
  }

  /** RFC 6749 §3.1.2.3 / §4.1.2.1: the redirection URI is one of the resolved metadata's, else no redirect at all. */
  function checkRedirect(ctx: KoaContextWithOIDC, clientId: string, rp: unknown, redirectUri: unknown): void {
    let client: ReturnType<typeof federatedClientFrom>;
    try {
      client = federatedClientFrom(clientId, rp);
    } catch (err) {
      if (err instanceof FederationError) throw oauthError(err.code, err.message);
      throw err;
    }
    if (!client.grantTypes.includes('authorization_code')) {
      throw oauthError(
        'unauthorized_client',
        'the RP’s resolved metadata has no authorization_code grant with an https redirect_uri',
      );
    }
    if (redirectUri === undefined && client.redirectUris.length === 1) return;
    if (typeof redirectUri !== 'string' || !client.redirectUris.includes(redirectUri)) {
      // RFC 9126 §2.3: at PAR an unacceptable redirect_uri is invalid_request.
      throw oauthError(
        ctx.oidc.route === PAR ? 'invalid_request' : 'invalid_redirect_uri',
        'redirect_uri is not one of the redirect_uris of the RP’s resolved metadata',
      );
    }
  }

  async function register(
    ctx: KoaContextWithOIDC,
    clientId: string,
    state: RegistrationState,
  ): Promise<void> {
    const proofs = proofsOf(ctx, clientId);
    // An expired or ended registration is judged on a fresh chain, never on one cached before it broke.
    const result = await resolve(
      clientId,
      proofs,
      state.is === 'expired' || (state.is === 'unregistered' && state.ended),
    );
    if (!result.ok) {
      const first = result.findings[0];
      throw oauthError(
        'invalid_trust_chain',
        first ? `no valid trust chain: ${first.message} (${first.step})` : 'no valid trust chain',
      );
    }
    const { entity } = result;
    const rp = entity.metadata[RP];
    if (!rp) throw oauthError('invalid_metadata', `the resolved metadata has no ${RP} entry`);
    await verifyProofs(rp, proofs);
    checkRedirect(ctx, clientId, rp, proofs.redirectUri);
    try {
      const registration = await registerFederationClient(
        storage,
        {
          entity,
          rpMetadata: rp,
          kind: 'automatic',
          platformEntityId: entityId,
          trustMarkTypes: options.trustMarkTypes,
          urlGuard: options.urlGuard,
        },
        { actor: `federation:${clientId}`, now: clock() },
      );
      logger.info(
        {
          client_id: clientId,
          org_id: registration.orgId,
          trust_anchor: registration.trustAnchor,
          created: registration.created,
          route: ctx.oidc.route,
        },
        'federation client registered automatically',
      );
    } catch (err) {
      if (err instanceof FederationError && err.status < 500) {
        throw oauthError(err.code, err.message);
      }
      // Two first requests of one RP at once: the other one registered it, which is all this one needed.
      if ((await registrationState(storage, clientId, clock())).is === 'current') return;
      throw err;
    }
  }

  async function findClient(clientId: string): Promise<AdapterPayload | undefined> {
    const scope = scopes.getStore();
    const route = scope?.ctx.oidc?.route;
    if (!scope || (route !== AUTHORIZATION && route !== PAR) || !isEntityIdentifier(clientId)) {
      return loadClientMetadata(storage, clientId, clock());
    }
    const { ctx } = scope;
    let attempt = scope.attempts.get(clientId);
    if (!attempt) {
      attempt = (async () => {
        const state = await registrationState(storage, clientId, clock());
        if (state.is === 'managed') return;
        if (state.is === 'current') {
          // §12.1.1: every authorization request of an automatically registered RP proves its keys.
          const params = ctx.oidc.params ?? {};
          if (
            route === AUTHORIZATION &&
            state.kind === 'automatic' &&
            params.request === undefined &&
            params.request_uri === undefined
          ) {
            throw oauthError(
              'invalid_request',
              'this client is registered automatically: its authorization requests must be signed Request Objects (OpenID Federation 1.0 §12.1.1.1)',
            );
          }
          return;
        }
        // A pushed request names a registration made at the PAR endpoint; there is nothing here to register with.
        if (route === AUTHORIZATION && ctx.oidc.params?.request_uri !== undefined) return;
        await register(ctx, clientId, state).catch((err: unknown) => {
          const error = err as { error?: string; error_description?: string; expose?: boolean };
          if (error.expose) {
            logger.info(
              { client_id: clientId, error: error.error, reason: error.error_description, route },
              'automatic registration refused',
            );
          }
          throw err;
        });
      })();
      scope.attempts.set(clientId, attempt);
    }
    await attempt;
    return loadClientMetadata(storage, clientId, clock());
  }

  const paths = new Map<string, readonly string[]>([
    [AS_ROUTES.authorization, ['GET', 'POST']],
    [AS_ROUTES.pushed_authorization_request, ['POST']],
  ]);

  return {
    findClient,
    middleware: (ctx, next) => {
      if (!paths.get(ctx.path)?.includes(ctx.method)) return next();
      return scopes.run({ ctx: ctx as KoaContextWithOIDC, attempts: new Map() }, next);
    },
  };
}
