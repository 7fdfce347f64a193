import {
  DatabaseFederationKeyStore,
  MemoryFederationKeyStore,
  revokeFederationKey,
  rotateFederationKey,
} from '../../src/federation/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { KEK } from '../support/ca-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { runFederationKeyStoreContract } from './contracts/federation-key-store.contract.ts';

const actor = 'operator:test';

runFederationKeyStoreContract({
  name: 'memory',
  create: async (lifetime) => {
    const store = new MemoryFederationKeyStore(lifetime);
    return {
      store,
      rotate: (now, alg) => store.rotate(now, alg),
      revoke: async (kid, reason, now) => store.revoke(kid, reason, now),
      close: async () => {},
    };
  },
});

for (const target of await engineTargets()) {
  runFederationKeyStoreContract({
    name: `database, ${target.name}`,
    skip: target.skip,
    cleanup: () => target.cleanup(),
    create: async (lifetime) => {
      const storage = await openStorage(target.freshOptions());
      return {
        store: new DatabaseFederationKeyStore(storage.db, KEK, lifetime),
        rotate: async (now, alg) =>
          (
            await storage.transaction((tx) =>
              rotateFederationKey(tx, { kek: KEK, alg, statementLifetimeSeconds: lifetime }, { actor, now }),
            )
          ).active.kid,
        revoke: async (kid, reason, now) => {
          await storage.transaction((tx) =>
            revokeFederationKey(tx, kid, reason, { statementLifetimeSeconds: lifetime }, { actor, now }),
          );
        },
        close: () => storage.close(),
      };
    },
  });
}
