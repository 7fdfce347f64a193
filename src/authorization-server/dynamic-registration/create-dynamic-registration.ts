import type { KoaContextWithOIDC } from 'oidc-provider';
import { isCodedError } from '../../shared/app-error.ts';
import { redactPath } from '../../shared/redact-url.ts';
import {
  authenticateInitialAccessToken,
  type InitialAccessTokenGrant,
} from './check-initial-access-token.ts';
import { REGISTRATION_PATH } from './client-information.ts';
import { deleteClient } from './delete-client.ts';
import type { DynamicRegistrationOptions } from './options.ts';
import { readClient } from './read-client.ts';
import { readJsonObject } from './read-json-body.ts';
import { registerClient } from './register-client.ts';
import {
  invalidRequest,
  invalidToken,
  REGISTRATION_ERRORS,
  RegistrationError,
  sendRegistrationError,
} from './registration-error.ts';
import { bearerToken } from './registration-token.ts';
import { updateClient } from './update-client.ts';

type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

const CONFIGURATION_PATH = new RegExp(`^${REGISTRATION_PATH}/([^/]+)$`);

function methodNotAllowed(ctx: KoaContextWithOIDC, allow: string): void {
  ctx.status = 405;
  ctx.set('allow', allow);
  ctx.set('cache-control', 'no-store');
  ctx.type = 'application/json';
  ctx.body = {
    error: REGISTRATION_ERRORS.invalidRequest,
    error_description: `use ${allow.replace(/, /g, ' or ')}`,
  };
}

function send(ctx: KoaContextWithOIDC, result: { status: number; body?: Record<string, unknown> }): void {
  ctx.status = result.status;
  // RFC 7591 §3.2.1: client information carries a bearer credential; never cached.
  ctx.set('cache-control', 'no-store');
  ctx.set('pragma', 'no-cache');
  if (result.body) {
    ctx.type = 'application/json';
    ctx.body = result.body;
  } else {
    ctx.body = null;
  }
}

function clientIdOf(match: RegExpExecArray): string {
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    throw invalidRequest('the client_id in the path is not valid percent-encoding');
  }
}

/**
 * RFC 7591 §3: where the operator allows initial access tokens, a Bearer token at the registration endpoint
 * must be a valid one (401 invalid_token otherwise), checked before the body is read. Where it does not, the
 * Authorization header is ignored and the request needs its software statement as always.
 */
async function initialAccessToken(
  options: DynamicRegistrationOptions,
  authorization: string,
): Promise<InitialAccessTokenGrant | undefined> {
  if (!options.allowInitialAccessTokens || authorization === '') return undefined;
  const token = bearerToken(authorization);
  if (token === undefined) throw invalidToken('the initial access token is malformed (RFC 6750 §2.1)');
  return authenticateInitialAccessToken(options.storage.db, token, options.clock());
}

/**
 * Dynamic Client Registration (RFC 7591) and its management (RFC 7592) as our own middleware in front of
 * oidc-provider, rather than its `registration` feature: that feature writes clients through the Client
 * adapter (ours is the directory, read-only to oidc-provider), keeps registration access tokens as
 * plaintext models, and has no notion of software statements issued and consumed by our directory or of the
 * organisation a client must belong to. Here a registration is one directory transaction (statement used or
 * a use of an initial access token counted, application, roles, registration record with the token's hash,
 * audit), and the policy reports every finding.
 * Advertised on the mTLS listener (registration_endpoint and its mtls_endpoint_aliases entry); like the token
 * endpoint the path answers on every listener the authorization server serves.
 */
export function createDynamicRegistration(options: DynamicRegistrationOptions): Middleware {
  return async function dynamicRegistration(ctx, next) {
    const configuration = CONFIGURATION_PATH.exec(ctx.path);
    if (ctx.path !== REGISTRATION_PATH && !configuration) return next();
    const authorization = ctx.get('authorization');
    try {
      if (!configuration) {
        if (ctx.method !== 'POST') return methodNotAllowed(ctx, 'POST');
        const grant = await initialAccessToken(options, authorization);
        return send(ctx, await registerClient(options, await readJsonObject(ctx.req), grant));
      }
      const clientId = clientIdOf(configuration);
      const token = bearerToken(authorization);
      if (token === undefined && authorization !== '')
        throw invalidToken('the registration access token is malformed');
      switch (ctx.method) {
        case 'GET':
          return send(ctx, await readClient(options, clientId, token));
        case 'PUT': {
          // Authenticate before reading the body: an anonymous caller gets 401, not a body parsing error.
          if (token === undefined)
            throw invalidToken('a registration access token is required (RFC 7592 §2)');
          return send(ctx, await updateClient(options, clientId, token, await readJsonObject(ctx.req)));
        }
        case 'DELETE':
          return send(ctx, await deleteClient(options, clientId, token));
        default:
          return methodNotAllowed(ctx, 'GET, PUT, DELETE');
      }
    } catch (err) {
      let mapped = err;
      // The application behind an active registration is gone: for the token holder, the client no longer exists.
      if (isCodedError(err) && err.code === 'not_found') mapped = invalidToken('the client no longer exists');
      if (mapped instanceof RegistrationError) {
        options.logger.info(
          {
            method: ctx.method,
            path: redactPath(ctx.path),
            error: mapped.code,
            findings: mapped.findings?.length,
          },
          'registration request refused',
        );
        return sendRegistrationError(ctx, mapped, options.issuer, authorization !== '');
      }
      options.logger.error({ err }, 'dynamic registration failed');
      return sendRegistrationError(
        ctx,
        new RegistrationError(
          REGISTRATION_ERRORS.serverError,
          500,
          'the registration could not be completed',
        ),
        options.issuer,
        false,
      );
    }
  };
}
