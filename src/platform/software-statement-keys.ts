import type { KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import type { Kysely } from 'kysely';
import {
  DIRECTORY_JWKS_PATH,
  publishedSoftwareStatementJwks,
  type SoftwareStatementSigner,
} from '../directory/index.ts';
import { decryptPrivateKey } from '../pki/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import type { Database, Storage } from '../storage/index.ts';

type JwkSet = Awaited<ReturnType<typeof publishedSoftwareStatementJwks>>;

/** RFC 7591 §2.3: a statement is a JWT; `kid` names the directory key that verifies it. */
export function createSoftwareStatementSigner(
  privateKey: KeyObject,
  kid: string,
  alg: string,
): SoftwareStatementSigner {
  return {
    kid,
    alg,
    sign: (claims) =>
      new SignJWT({ ...claims }).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey),
  };
}

/**
 * The directory's software-statement keys as issuance and the JWKS endpoint use them. Every implementation passes
 * `test/platform/contracts/software-statement-keys.contract.ts`.
 */
export interface SoftwareStatementKeys {
  /** The newest active software-statement key; statements are signed with it and nothing else. */
  signer(): Promise<SoftwareStatementSigner>;
  /** The public JWK Set served at /directory/jwks. */
  publishedJwks(now: Date): Promise<JwkSet>;
}

/**
 * The directory's software-statement keys. Rows are read on every call, so a key rotated by another process is
 * used at once; decrypted private keys are cached by kid.
 */
export function createSoftwareStatementKeys(db: Kysely<Database>, kek: string): SoftwareStatementKeys {
  const signers = new Map<string, SoftwareStatementSigner>();
  return {
    async signer() {
      const active = await db
        .selectFrom('signing_keys')
        .select(['kid', 'alg', 'private_key_pem'])
        .where('purpose', '=', 'software_statement')
        .where('status', '=', 'active')
        .orderBy('created_at', 'desc')
        .orderBy('kid')
        .limit(1)
        .executeTakeFirst();
      if (!active) {
        throw new AppError(
          'no_software_statement_key',
          500,
          'no active software-statement signing key: run `accredit init`',
        );
      }
      let signer = signers.get(active.kid);
      if (!signer) {
        signer = createSoftwareStatementSigner(
          decryptPrivateKey(active.private_key_pem, kek),
          active.kid,
          active.alg,
        );
        signers.set(active.kid, signer);
      }
      return signer;
    },
    publishedJwks: (now) => publishedSoftwareStatementJwks(db, now),
  };
}

/** One-shot: the signer and the public JWK Set, e.g. for a command or a test. */
export async function loadSoftwareStatementKeys(
  db: Kysely<Database>,
  kek: string,
  now: Date,
): Promise<{ signer: SoftwareStatementSigner; jwks: JwkSet }> {
  const keys = createSoftwareStatementKeys(db, kek);
  return { signer: await keys.signer(), jwks: await keys.publishedJwks(now) };
}

// Verifiers may cache the set for a few minutes, no longer than the default statement lifetime.
const JWKS_MAX_AGE_SECONDS = 300;

/** Unauthenticated: the directory's JWK Set registration verifies software statements against (RFC 7517 §5). */
export function registerDirectoryJwks(app: FastifyInstance, deps: { storage: Storage; clock: Clock }): void {
  app.get(DIRECTORY_JWKS_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', 'application/jwk-set+json')
      .header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
      // A Buffer, so that no charset parameter is appended: the media type defines none (RFC 8259 §11).
      .send(Buffer.from(JSON.stringify(await publishedSoftwareStatementJwks(deps.storage.db, deps.clock())))),
  );
}
