import type { KeyAlgorithm } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Database, Storage } from '../../src/storage/index.ts';
import { KEK } from './ca-fixture.ts';

/** A key a contract suite asks a key store to hold, in the state the test needs. */
export interface SigningKeySeed {
  alg: KeyAlgorithm;
  created: Date;
  status?: 'active' | 'retired' | 'revoked';
  /** When it stopped signing (retired or revoked); default `created`. */
  until?: Date;
}

/** Writes one `signing_keys` row of `purpose` in the seed's state, under the test KEK; resolves to its kid. */
export async function insertSigningKey(
  storage: Storage,
  purpose: Database['signing_keys']['purpose'],
  seed: SigningKeySeed,
): Promise<string> {
  const row = await createSigningKey(purpose, seed.alg, KEK, seed.created);
  const until = (seed.until ?? seed.created).toISOString();
  const status = seed.status ?? 'active';
  await storage.db
    .insertInto('signing_keys')
    .values({
      ...row,
      status,
      ...(status === 'active' ? {} : { retired_at: until }),
      ...(status === 'revoked' ? { revoked_at: until, revocation_reason: 'compromised' } : {}),
    })
    .execute();
  return row.kid;
}
