import { hkdfSync, type JsonWebKey } from 'node:crypto';
import type { Kysely } from 'kysely';
import { decryptPrivateKey, KEY_ALGORITHMS, type KeyAlgorithm } from '../pki/index.ts';
import type { Database } from '../storage/index.ts';

export interface AccessTokenKeys {
  /** Private JWKs for oidc-provider's keystore; only their public halves are ever published. */
  jwks: { keys: JsonWebKey[] };
  alg: KeyAlgorithm;
  /** Public JWKs, for verifying our own tokens at introspection and revocation. */
  publicJwks: { keys: JsonWebKey[] };
}

export async function loadAccessTokenKeys(db: Kysely<Database>, kek: string): Promise<AccessTokenKeys> {
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
  const publicJwks = rows.map((r) => JSON.parse(r.public_jwk) as JsonWebKey);
  const alg = active[0]!.alg;
  // A key of an algorithm the platform never creates was not made by `accredit init`: refuse to sign with it.
  if (!isKeyAlgorithm(alg))
    throw new Error(`access-token signing key ${active[0]!.kid} has unsupported alg ${alg}`);
  return { jwks: { keys }, alg, publicJwks: { keys: publicJwks } };
}

function isKeyAlgorithm(alg: string): alg is KeyAlgorithm {
  return (KEY_ALGORITHMS as readonly string[]).includes(alg);
}

/** Cookie signing keys derived from the KEK: the same in every process, never written anywhere. */
export function deriveCookieKeys(kek: string): string[] {
  const key = Buffer.from(hkdfSync('sha256', kek, 'accredit', 'oidc-provider cookie keys v1', 32));
  return [key.toString('base64url')];
}
