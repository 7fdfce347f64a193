import type { KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import { EVENTS_JWKS_PATH, type EventSigner } from '../audit/index.ts';
import { decryptPrivateKey, type KeyAlgorithm } from '../pki/index.ts';
import type { Database } from '../storage/index.ts';
import { createSigningKey } from './signing-keys.ts';

/**
 * The platform's event keys: webhook payloads (JWS) and Security Event Tokens are signed with the newest
 * active one; every active or retired one is published at /events/jwks so receivers verify across a rotation.
 */
export interface EventSigningKeys {
  signer(): Promise<EventSigner>;
  publishedJwks(): Promise<{ keys: Array<Record<string, unknown>> }>;
}

/** Creates the first event key when none exists (data directories initialised before events existed). */
export async function ensureEventSigningKey(
  db: Kysely<Database>,
  kek: string,
  alg: KeyAlgorithm,
  now: Date,
): Promise<void> {
  const existing = await db
    .selectFrom('signing_keys')
    .select('kid')
    .where('purpose', '=', 'events')
    .where('status', '=', 'active')
    .executeTakeFirst();
  if (existing) return;
  const key = await createSigningKey('events', alg, kek, now);
  // Two nodes starting at once may both create one: both are published, the newest signs. Harmless.
  await db.insertInto('signing_keys').values(key).execute();
}

function eventSigner(privateKey: KeyObject, kid: string, alg: string): EventSigner {
  return {
    kid,
    alg,
    sign: (payload, typ) =>
      new SignJWT({ ...payload }).setProtectedHeader({ alg, kid, typ }).sign(privateKey),
  };
}

export function createEventSigningKeys(db: Kysely<Database>, kek: string): EventSigningKeys {
  const signers = new Map<string, EventSigner>();
  return {
    async signer() {
      const active = await db
        .selectFrom('signing_keys')
        .select(['kid', 'alg', 'private_key_pem'])
        .where('purpose', '=', 'events')
        .where('status', '=', 'active')
        .orderBy('created_at', 'desc')
        .orderBy('kid')
        .limit(1)
        .executeTakeFirstOrThrow();
      let signer = signers.get(active.kid);
      if (!signer) {
        signer = eventSigner(decryptPrivateKey(active.private_key_pem, kek), active.kid, active.alg);
        signers.set(active.kid, signer);
      }
      return signer;
    },
    async publishedJwks() {
      const rows = await db
        .selectFrom('signing_keys')
        .select(['kid', 'alg', 'public_jwk'])
        .where('purpose', '=', 'events')
        .where('status', 'in', ['active', 'retired'])
        .orderBy('created_at', 'desc')
        .orderBy('kid')
        .execute();
      return {
        keys: rows.map((r) => {
          const { kty, crv, x, y, n, e } = JSON.parse(r.public_jwk) as Record<string, unknown>;
          const pub = Object.fromEntries(
            Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined),
          );
          return { ...pub, kid: r.kid, alg: r.alg, use: 'sig' };
        }),
      };
    },
  };
}

/** Unauthenticated: the keys that verify webhook signatures and Security Event Tokens. */
export function registerEventsJwks(app: FastifyInstance, keys: EventSigningKeys): void {
  app.get(EVENTS_JWKS_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'application/jwk-set+json')
      .header('cache-control', 'public, max-age=300')
      .send(Buffer.from(JSON.stringify(await keys.publishedJwks()))),
  );
}
