import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SharedAddressThrottle } from '../../../src/authorization-server/login/lockout.ts';
import { openStorage } from '../../../src/storage/index.ts';
import { engineTargets } from '../../support/engines.ts';

const policy = { freeAttempts: 3, baseSeconds: 30, maxSeconds: 900 };

for (const target of await engineTargets()) {
  describe(`the per-address sign-in throttle is shared by every node (issue 16): ${target.name}`, {
    skip: target.skip,
  }, () => {
    after(() => target.cleanup());

    test('ok/failures counted on one node lock the address on the other; a success clears it', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        // Two nodes: two throttles over the one database.
        const one = new SharedAddressThrottle(storage.db, policy);
        const two = new SharedAddressThrottle(storage.db, policy);
        const now = new Date('2026-12-02T08:00:00Z');
        await one.fail('203.0.113.7', now);
        await two.fail('203.0.113.7', now);
        assert.equal(await one.locked('203.0.113.7', now), false, 'attempts still free');
        await one.fail('203.0.113.7', now);
        assert.equal(
          await two.locked('203.0.113.7', now),
          true,
          'the third failure, on node 1, locks it on node 2',
        );
        assert.equal(await two.locked('198.51.100.1', now), false, 'only that address');
        assert.equal(await two.locked('203.0.113.7', new Date(now.getTime() + 31_000)), false, 'for 30 s');
        await two.succeed('203.0.113.7');
        assert.equal(await one.locked('203.0.113.7', now), false);
      } finally {
        await storage.close();
      }
    });

    test('ok/concurrent failures on both nodes are all counted', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        const nodes = [
          new SharedAddressThrottle(storage.db, policy),
          new SharedAddressThrottle(storage.db, policy),
        ];
        const now = new Date('2026-12-02T08:00:00Z');
        await Promise.all(Array.from({ length: 10 }, (_, i) => nodes[i % 2]!.fail('192.0.2.9', now)));
        const row = await storage.db
          .selectFrom('login_address_throttle')
          .selectAll()
          .where('address', '=', '192.0.2.9')
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.failures), 10);
        // Old entries are forgotten after four times the longest lock.
        await nodes[0]!.fail('192.0.2.10', new Date(now.getTime() + 3_700_000));
        const left = await storage.db.selectFrom('login_address_throttle').select('address').execute();
        assert.deepEqual(
          left.map((r) => r.address),
          ['192.0.2.10'],
        );
      } finally {
        await storage.close();
      }
    });
  });
}
