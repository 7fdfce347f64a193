import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
} from 'fastify';
import { ENTITY_CONFIGURATION_PATH } from '../../constants.ts';
import { FederationError, federationErrorBody } from '../../federation-error.ts';
import type { FederationAuthority } from '../authority.ts';
import { FEDERATION_ENDPOINT_PATHS, federationRoutePrefix } from '../endpoint-urls.ts';
import { createEntityConfigurationHandler } from './entity-configuration.ts';
import { createFetchHandler } from './fetch.ts';
import { createHistoricalKeysHandler } from './historical-keys.ts';
import { createListHandler } from './list.ts';
import type { Params } from './request-params.ts';
import { createResolveHandler } from './resolve.ts';
import { createTrustMarkHandler } from './trust-mark.ts';
import { createTrustMarkListHandler } from './trust-mark-list.ts';
import { createTrustMarkStatusHandler } from './trust-mark-status.ts';

const FORM = 'application/x-www-form-urlencoded';
const OTHER_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

function parseForm(body: string): Params {
  const params: Params = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const seen = params[name];
    params[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return params;
}

/** Everything that goes wrong at a federation endpoint, as the §8.9 error: a code, never a stack trace. */
export function toFederationError(err: unknown): FederationError {
  if (err instanceof FederationError) return err;
  const fe = err as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors (malformed body, wrong content type, too large): safe generic messages.
    const message =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body is too large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? `unsupported content type; use ${FORM}`
          : 'malformed request';
    return new FederationError('invalid_request', fe.statusCode === 413 ? 413 : 400, message);
  }
  return new FederationError('server_error', 500, 'internal error');
}

export function sendFederationError(reply: FastifyReply, err: FederationError): FastifyReply {
  return reply
    .code(err.status)
    .header('content-type', 'application/json')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(federationErrorBody(err)));
}

function methodNotAllowed(allowed: string): RouteHandlerMethod {
  return async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', allowed);
    // §8.8: client authentication (the only reason for POST at these endpoints) is not offered here.
    return sendFederationError(
      reply,
      new FederationError(
        'invalid_request',
        405,
        `use ${allowed}; client authentication is not supported here`,
      ),
    );
  };
}

/**
 * Registers the Entity Configuration and the federation endpoints (§8, §9) under the path of the platform's
 * Entity Identifier. They answer §8.9 JSON errors, not the admin API's problem details.
 */
export async function registerFederationEndpoints(
  app: FastifyInstance,
  authority: FederationAuthority,
): Promise<void> {
  await app.register(
    async (fed) => {
      fed.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
        done(null, parseForm(body as string));
      });
      fed.setErrorHandler((err, request, reply) => {
        const mapped = toFederationError(err);
        if (mapped.status >= 500) request.log.error({ err }, 'federation endpoint failed');
        return sendFederationError(reply, mapped);
      });
      const get = (path: string, handler: RouteHandlerMethod) => {
        fed.get(path, { schema: { hide: true } }, handler);
        fed.route({
          method: [...OTHER_METHODS],
          url: path,
          schema: { hide: true },
          handler: methodNotAllowed('GET'),
        });
      };
      get(ENTITY_CONFIGURATION_PATH, createEntityConfigurationHandler(authority));
      get(FEDERATION_ENDPOINT_PATHS.fetch, createFetchHandler(authority));
      get(FEDERATION_ENDPOINT_PATHS.list, createListHandler(authority));
      if (authority.resolver)
        get(FEDERATION_ENDPOINT_PATHS.resolve, createResolveHandler(authority, authority.resolver));
      get(FEDERATION_ENDPOINT_PATHS.trustMark, createTrustMarkHandler(authority));
      get(FEDERATION_ENDPOINT_PATHS.trustMarkList, createTrustMarkListHandler(authority));
      get(FEDERATION_ENDPOINT_PATHS.historicalKeys, createHistoricalKeysHandler(authority));
      // §8.4.1: the status request is a POST with a form body.
      fed.post(
        FEDERATION_ENDPOINT_PATHS.trustMarkStatus,
        { schema: { hide: true } },
        createTrustMarkStatusHandler(authority),
      );
      fed.route({
        method: ['GET', 'PUT', 'PATCH', 'DELETE'],
        url: FEDERATION_ENDPOINT_PATHS.trustMarkStatus,
        schema: { hide: true },
        handler: methodNotAllowed('POST'),
      });
    },
    { prefix: federationRoutePrefix(authority.entityId) },
  );
}
