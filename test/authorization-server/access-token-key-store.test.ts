import { createDatabaseAccessTokenKeyStore } from '../../src/authorization-server/access-token-keys.ts';
import { openStorage } from '../../src/storage/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { insertSigningKey } from '../support/signing-key-seed.ts';
import { runAccessTokenKeyStoreContract } from './contracts/access-token-key-store.contract.ts';

for (const target of await engineTargets()) {
  runAccessTokenKeyStoreContract({
    name: `database, ${target.name}`,
    skip: target.skip,
    cleanup: () => target.cleanup(),
    create: async () => {
      const storage = await openStorage(target.freshOptions());
      // Keys of the other purposes share the table: the store must never pick them up.
      await insertSigningKey(storage, 'federation', {
        alg: 'ES256',
        created: new Date('2027-01-01T00:00:00Z'),
      });
      await insertSigningKey(storage, 'software_statement', {
        alg: 'ES256',
        created: new Date('2027-01-01T00:00:00Z'),
      });
      return {
        store: createDatabaseAccessTokenKeyStore(storage.db, KEK),
        addKey: (seed) => insertSigningKey(storage, 'access_token', seed),
        close: () => storage.close(),
      };
    },
  });
}
