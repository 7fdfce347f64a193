import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import {
  type ChainFinding,
  decodeFederationJwt,
  type EntityStatementClaims,
  FederationError,
  type FederationSigner,
  JWT_TYPES,
  MEDIA_TYPES,
  type ResolveResult,
  StatementError,
  sendFederationError,
  type TrustChainResolver,
  type TrustMarkTypeConfig,
  toFederationError,
  verifyEntityStatement,
} from '../../federation/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';
import { federatedClientFrom } from './federated-client.ts';
import { registerFederationClient } from './register-federation-client.ts';

export interface ExplicitRegistrationOptions {
  storage: Storage;
  resolver: TrustChainResolver;
  /** The platform's Entity Identifier: the OP the request must be addressed to (`aud`, §12.2.1). */
  entityId: string;
  signer: () => Promise<FederationSigner>;
  trustMarkTypes: readonly TrustMarkTypeConfig[];
  /** The partner fetcher's address policy: an RP's jwks_uri must be a URL the platform would fetch. */
  urlGuard: UrlGuard;
  clock: Clock;
  /** Path of the federation_registration_endpoint on the public listener. */
  path: string;
}

const RP = 'openid_relying_party';
const MAX_BODY_BYTES = 256 * 1024;
const MAX_CHAIN_LENGTH = 16;

const invalidRequest = (message: string) => new FederationError('invalid_request', 400, message);

/** §8.9 error body, plus every finding of a refused chain with the specification step it failed. */
function chainRefused(findings: ChainFinding[]): FederationError {
  const first = findings[0];
  return new FederationError(
    'invalid_trust_chain',
    403,
    first ? `no valid trust chain: ${first.message} (${first.step})` : 'no valid trust chain',
    { findings },
  );
}

interface RegistrationRequest {
  configuration: string;
  claims: EntityStatementClaims;
  /** The Trust Chain the RP supplied (application/trust-chain+json), its Entity Configuration first. */
  chain: string[] | undefined;
}

/** §12.2.2 steps 1–2: what was posted, and the request claims every explicit registration must carry. */
function parseRequest(contentType: string, body: unknown, entityId: string): RegistrationRequest {
  if (typeof body !== 'string' || body.length === 0) throw invalidRequest('the request body is empty');
  let configuration: string;
  let chain: string[] | undefined;
  if (contentType === MEDIA_TYPES.entityStatement) {
    configuration = body.trim();
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw invalidRequest('the trust chain is not JSON');
    }
    // §4: a Trust Chain is a JSON array of Entity Statements, the subject's Entity Configuration first.
    if (
      !Array.isArray(parsed) ||
      parsed.length < 2 ||
      parsed.length > MAX_CHAIN_LENGTH ||
      !parsed.every((s) => typeof s === 'string' && s.length > 0)
    ) {
      throw invalidRequest(`the trust chain must be an array of 2 to ${MAX_CHAIN_LENGTH} Entity Statements`);
    }
    chain = parsed as string[];
    configuration = chain[0]!;
  }
  let claims: EntityStatementClaims;
  try {
    claims = decodeFederationJwt<EntityStatementClaims>(configuration, JWT_TYPES.entityStatement).payload;
  } catch (err) {
    throw invalidRequest(
      err instanceof StatementError
        ? `the Entity Configuration is not acceptable: ${err.message}`
        : 'malformed Entity Configuration',
    );
  }
  // §12.2.1: iss and sub are both the RP's Entity Identifier: an Entity Configuration.
  if (typeof claims.iss !== 'string' || claims.iss !== claims.sub) {
    throw invalidRequest('the request must be the RP’s Entity Configuration (iss equal to sub)');
  }
  // §12.2.2 step 2: aud MUST be the OP's Entity Identifier and nothing else (§3.1.4).
  const aud = (claims as { aud?: unknown }).aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (audiences.length !== 1 || audiences[0] !== entityId) {
    throw invalidRequest(`aud must be this OP’s Entity Identifier, ${entityId}, and no other value`);
  }
  // §12.2.1: authority_hints REQUIRED; metadata REQUIRED with openid_relying_party.
  if (!Array.isArray(claims.authority_hints) || claims.authority_hints.length === 0) {
    throw invalidRequest('authority_hints is required in an explicit registration request');
  }
  if (typeof claims.metadata?.[RP] !== 'object' || claims.metadata[RP] === null) {
    throw new FederationError('invalid_metadata', 400, `metadata must contain ${RP} (§12.2.1)`);
  }
  return { configuration, claims, chain };
}

/**
 * §12.2.2 steps 3–5: a Trust Chain whose first statement is the posted Entity Configuration. Discovery
 * starts from the RP's authority hints (resolution); the posted configuration then takes the fetched one's
 * place, so its signature is verified by the keys its Immediate Superior vouches for, and its (possibly
 * tailored) metadata is what the chain's policies are applied to.
 */
async function chainFor(
  request: RegistrationRequest,
  resolver: TrustChainResolver,
  now: Date,
  fresh: boolean,
): Promise<ResolveResult> {
  // §12.2.2 step 2: the request is a valid Entity Statement before anything is fetched on its behalf, so an
  // unsigned or garbled request costs no outbound request (the chain then checks the key is vouched for).
  try {
    await verifyEntityStatement(request.configuration, request.claims.jwks as JSONWebKeySet, { now });
  } catch (err) {
    throw invalidRequest(
      err instanceof StatementError
        ? `the Entity Configuration is not valid: ${err.message}`
        : 'invalid Entity Configuration',
    );
  }
  if (request.chain) return resolver.validateChain(request.chain, { entityType: RP });
  // Superiors' statements come from the resolver's cache while valid: a registration request cannot make
  // the platform refetch a federation on demand. The posted configuration itself is always the fresh one.
  const attempt = async (forceRefresh: boolean): Promise<ResolveResult> => {
    const discovered = await resolver.resolve(request.claims.sub, { entityType: RP, forceRefresh });
    if (!discovered.ok) return discovered;
    return resolver.validateChain([request.configuration, ...discovered.entity.trustChain.slice(1)], {
      entityType: RP,
      trustAnchor: discovered.entity.trustAnchor,
      // §12.2.1: the request may carry a trust_chain header (used only as a hint; the path is resolved here).
      subjectIsRegistrationRequest: true,
    });
  };
  // A registration that ended (its chain broke) is judged on a fresh chain, never on one cached before.
  if (fresh) return attempt(true);
  const cached = await attempt(false);
  // A superior may have vouched for new keys since the chain was cached: one fresh look before refusing.
  return cached.ok ? cached : attempt(true);
}

/** The federation_registration_endpoint (OpenID Federation 1.0 §12.2): explicit registration by the RP. */
export function registerExplicitRegistration(
  app: FastifyInstance,
  options: ExplicitRegistrationOptions,
): void {
  app.register(async (scope) => {
    // Only this route reads these media types, as text (§12.2.1: entity-statement+jwt or trust-chain+json).
    scope.addContentTypeParser(
      [MEDIA_TYPES.entityStatement, MEDIA_TYPES.trustChain],
      { parseAs: 'string', bodyLimit: MAX_BODY_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler(async (err, request, reply) => {
      const mapped = toFederationError(err);
      if (mapped.status >= 500) request.log.error({ err }, 'federation registration failed');
      return sendFederationError(reply, mapped);
    });
    scope.post(
      options.path,
      { schema: { hide: true } },
      async (request: FastifyRequest, reply: FastifyReply) => {
        const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const parsed = parseRequest(contentType, request.body, options.entityId);
        const ended = await options.storage.db
          .selectFrom('federation_registrations')
          .select('status')
          .where('client_id', '=', parsed.claims.sub)
          .executeTakeFirst();
        const result = await chainFor(parsed, options.resolver, options.clock(), ended?.status === 'ended');
        if (!result.ok) return sendFederationError(reply, chainRefused(result.findings));
        const entity = result.entity;
        const registration = await registerFederationClient(
          options.storage,
          {
            entity,
            rpMetadata: entity.metadata[RP],
            kind: 'explicit',
            platformEntityId: options.entityId,
            trustMarkTypes: options.trustMarkTypes,
            urlGuard: options.urlGuard,
          },
          { actor: `federation:${entity.entityId}`, now: options.clock() },
        );
        const rp = entity.metadata[RP] as Record<string, unknown>;
        // §12.2.3: the metadata as registered, i.e. what of the RP's this server kept (grants, redirect URIs).
        const client = federatedClientFrom(registration.clientId, rp);
        const registered: Record<string, unknown> = {
          client_id: registration.clientId,
          token_endpoint_auth_method: registration.authMethod,
          grant_types: client.grantTypes,
          ...(client.redirectUris.length > 0
            ? { redirect_uris: client.redirectUris, response_types: ['code'] }
            : {}),
          scope: registration.scopes.join(' '),
          // RFC 8705 §3: every access token is bound to the client's certificate.
          tls_client_certificate_bound_access_tokens: true,
        };
        for (const name of ['client_name', 'jwks', 'jwks_uri', 'contacts'] as const) {
          if (rp[name] !== undefined) registered[name] = rp[name];
        }
        const iat = Math.floor(options.clock().getTime() / 1000);
        // §12.2.3: an Entity Statement about the RP, addressed to it, no longer valid than its registration.
        const signer = await options.signer();
        const jwt = await signer.sign(
          {
            iss: options.entityId,
            sub: registration.clientId,
            aud: registration.clientId,
            iat,
            exp: registration.expiresAt,
            jwks: parsed.claims.jwks,
            trust_anchor: registration.trustAnchor,
            authority_hints: [registration.authorityHint],
            metadata: { [RP]: registered },
          },
          JWT_TYPES.explicitRegistrationResponse,
        );
        return reply
          .code(200)
          .header('content-type', MEDIA_TYPES.explicitRegistrationResponse)
          .header('cache-control', 'no-store')
          .send(jwt);
      },
    );
  });
}
