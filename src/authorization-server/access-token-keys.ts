import type { JsonWebKey } from 'node:crypto';
import type { Kysely } from 'kysely';
import { decryptPrivateKey, KEY_ALGORITHMS, type KeyAlgorithm } from '../pki/index.ts';
import type { Database } from '../storage/index.ts';

export interface AccessTokenKeys {
  /** Private JWKs for oidc-provider's keystore; only their public halves are ever published. */
  jwks: { keys: JsonWebKey[] };
  alg: KeyAlgorithm;
  /** Public JWKs of active and retired keys (never revoked), for verifying our own tokens at introspection and revocation. */
  publicJwks: { keys: JsonWebKey[] };
}

/**
 * Where the authorization server's access-token signing keys come from, read once at start. Every
 * implementation passes `test/authorization-server/contracts/access-token-key-store.contract.ts`.
 */
export interface AccessTokenKeyStore {
  /** Throws when no key is active: the server must not start without one to sign with. */
  load(): Promise<AccessTokenKeys>;
}

/** The `access_token` keys of the `signing_keys` table, private halves decrypted under `kek`. */
export function createDatabaseAccessTokenKeyStore(db: Kysely<Database>, kek: string): AccessTokenKeyStore {
  return {
    async load() {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where('purpose', '=', 'access_token')
        .orderBy('created_at', 'desc')
        .execute();
      const active = rows.filter((r) => r.status === 'active');
      if (active.length === 0) throw new Error('no active access-token signing key: run `accredit init`');
      const keys = active.map((row) => {
        const jwk = decryptPrivateKey(row.private_key_pem, kek).export({ format: 'jwk' });
        return { ...jwk, kid: row.kid, alg: row.alg, use: 'sig' } as JsonWebKey;
      });
      // A revoked key's tokens must not pass introspection; a retired key's still may until they expire.
      const publicJwks = rows
        .filter((r) => r.status !== 'revoked')
        .map((r) => JSON.parse(r.public_jwk) as JsonWebKey);
      const alg = active[0]!.alg;
      // A key of an algorithm the platform never creates was not made by `accredit init`: refuse to sign with it.
      if (!isKeyAlgorithm(alg))
        throw new Error(`access-token signing key ${active[0]!.kid} has unsupported alg ${alg}`);
      return { jwks: { keys }, alg, publicJwks: { keys: publicJwks } };
    },
  };
}

function isKeyAlgorithm(alg: string): alg is KeyAlgorithm {
  return (KEY_ALGORITHMS as readonly string[]).includes(alg);
}

export function loadAccessTokenKeys(db: Kysely<Database>, kek: string): Promise<AccessTokenKeys> {
  return createDatabaseAccessTokenKeyStore(db, kek).load();
}
