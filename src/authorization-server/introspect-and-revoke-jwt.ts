import type { JsonWebKey } from 'node:crypto';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { recordAuditEvent } from '../audit/index.ts';
import { directoryStore } from '../directory/index.ts';
import { certificateStore } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import { CHANGE_KINDS, hasChange, publishChange, type Storage } from '../storage/index.ts';

export interface AccessTokenClaims extends JWTPayload {
  client_id?: string;
  scope?: string;
  org_id?: string;
  roles?: string[];
  cnf?: { 'x5t#S256'?: string; jkt?: string };
}

interface Deps {
  storage: Storage;
  clock: Clock;
  issuer: string;
  publicJwks: { keys: JsonWebKey[] };
  algorithms: string[];
}

/** Verifies one of our own access tokens; undefined when it is not one (bad signature, issuer, type, …). */
async function verifyOwnToken(
  deps: Deps,
  token: string,
  requireUnexpired: boolean,
): Promise<AccessTokenClaims | undefined> {
  try {
    const { payload } = await jwtVerify<AccessTokenClaims>(
      token,
      createLocalJWKSet(deps.publicJwks as never),
      {
        issuer: deps.issuer,
        typ: 'at+jwt',
        algorithms: deps.algorithms,
        currentDate: deps.clock(),
        // An expired token can still be revoked (harmless) but never introspects as active.
        ...(requireUnexpired ? {} : { clockTolerance: 10 * 365 * 86_400 }),
      },
    );
    return payload;
  } catch {
    return undefined;
  }
}

async function isRevoked(storage: Storage, jti: string): Promise<boolean> {
  return hasChange(storage.db, CHANGE_KINDS.tokenRevoked, jti);
}

/** Is the whole chain behind a token still live: client, organisation and bound certificate? */
async function isLive(storage: Storage, claims: AccessTokenClaims): Promise<boolean> {
  if (!claims.client_id || !claims.jti) return false;
  const app = await directoryStore(storage.db).applicationWithOrganisation(claims.client_id);
  if (app?.status !== 'active' || app.org_status !== 'active') return false;
  const x5t = claims.cnf?.['x5t#S256'];
  if (x5t) {
    const cert = await certificateStore(storage.db).byThumbprint(x5t);
    if (cert?.status === 'revoked') return false;
  }
  return !(await isRevoked(storage, claims.jti));
}

/**
 * oidc-provider refuses to introspect or revoke structured (JWT) access tokens. Our access tokens are RFC 9068
 * JWTs, so this middleware takes over exactly that case — after oidc-provider has authenticated the client —
 * and answers per RFC 7662 and RFC 7009. Everything else stays oidc-provider's.
 */
export function createIntrospectAndRevokeJwt(deps: Deps) {
  return async function introspectAndRevokeJwt(
    ctx: KoaContextWithOIDC,
    next: () => Promise<void>,
  ): Promise<void> {
    await next();
    const oidc = (ctx as { oidc?: KoaContextWithOIDC['oidc'] }).oidc;
    const route = oidc?.route;
    if (route !== 'revocation' && route !== 'introspection') return;
    const body = ctx.body as { error?: string } | undefined;
    if (ctx.status !== 400 || body?.error !== 'unsupported_token_type' || !oidc?.client) return;
    const token = String(oidc.params?.token ?? '');
    const client = oidc.client;
    ctx.set('cache-control', 'no-store');

    if (route === 'introspection') {
      const claims = await verifyOwnToken(deps, token, true);
      // RFC 7662 §2.2: anything not active, or not this client's, is just { active: false } (no probing).
      const active =
        claims !== undefined && claims.client_id === client.clientId && (await isLive(deps.storage, claims));
      ctx.status = 200;
      ctx.body = active
        ? {
            active: true,
            // RFC 9449 §6.2: a DPoP-bound token introspects as token_type DPoP with its cnf.jkt.
            token_type: claims.cnf?.jkt ? 'DPoP' : 'Bearer',
            iss: claims.iss,
            sub: claims.sub,
            aud: claims.aud,
            client_id: claims.client_id,
            scope: claims.scope,
            exp: claims.exp,
            iat: claims.iat,
            nbf: claims.nbf,
            jti: claims.jti,
            cnf: claims.cnf,
            org_id: claims.org_id,
            roles: claims.roles,
          }
        : { active: false };
      return;
    }

    const claims = await verifyOwnToken(deps, token, false);
    // RFC 7009 §2.2: an invalid or unknown token is not an error.
    if (!claims?.jti) {
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    // RFC 7009 §2.1: the AS verifies the token was issued to the client making the request.
    if (claims.client_id !== client.clientId) {
      ctx.status = 400;
      ctx.body = {
        error: 'unauthorized_client',
        error_description: 'the token was not issued to this client',
      };
      return;
    }
    if (!(await isRevoked(deps.storage, claims.jti))) {
      const now = deps.clock();
      await deps.storage.transaction(async (tx) => {
        await publishChange(
          tx,
          {
            kind: CHANGE_KINDS.tokenRevoked,
            entityId: claims.jti!,
            payload: { jti: claims.jti, exp: claims.exp, client_id: claims.client_id },
          },
          now,
        );
        await recordAuditEvent(
          tx,
          {
            actor: `client:${client.clientId}`,
            action: 'token.revoke',
            targetType: 'access_token',
            targetId: claims.jti!,
            details: { client_id: claims.client_id, exp: claims.exp },
          },
          now,
        );
      });
    }
    ctx.status = 200;
    ctx.body = '';
  };
}
