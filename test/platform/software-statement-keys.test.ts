import { createSoftwareStatementKeys } from '../../src/platform/software-statement-keys.ts';
import { openStorage } from '../../src/storage/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { insertSigningKey } from '../support/signing-key-seed.ts';
import { runSoftwareStatementKeysContract } from './contracts/software-statement-keys.contract.ts';

for (const target of await engineTargets()) {
  runSoftwareStatementKeysContract({
    name: `database, ${target.name}`,
    skip: target.skip,
    cleanup: () => target.cleanup(),
    create: async () => {
      const storage = await openStorage(target.freshOptions());
      // Keys of the other purposes share the table: the store must never sign with or publish them.
      const later = new Date('2027-01-01T00:00:00Z');
      await insertSigningKey(storage, 'access_token', { alg: 'ES256', created: later });
      await insertSigningKey(storage, 'federation', { alg: 'ES256', created: later });
      return {
        keys: createSoftwareStatementKeys(storage.db, KEK),
        addKey: (seed) => insertSigningKey(storage, 'software_statement', seed),
        close: () => storage.close(),
      };
    },
  });
}
