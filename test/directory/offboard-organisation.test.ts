import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  createApplication,
  createOrganisation,
  getApplication,
  getOrganisation,
  offboardOrganisation,
} from '../../src/directory/index.ts';
import type { Storage, Tx } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

async function organisationWithTwoApplications(storage: Storage) {
  const orgId = await storage.transaction((tx) =>
    createOrganisation(tx, { name: 'Acme', roles: ['partner_reader'] }, META),
  );
  const clientIds = await storage.transaction(async (tx) => [
    await createApplication(
      tx,
      { orgId, name: 'One', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
      META,
    ),
    await createApplication(
      tx,
      { orgId, name: 'Two', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
      META,
    ),
  ]);
  return { orgId, clientIds };
}

for (const target of targets) {
  describe(`offboardOrganisation: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/offboards, suspends every application and has the PKI revoke in the same transaction', async () => {
      const storage = await seededStorage(target);
      try {
        const { orgId, clientIds } = await organisationWithTwoApplications(storage);
        const calls: { tx: Tx; orgId: string }[] = [];
        let outer: Tx | undefined;
        const result = await storage.transaction((tx) => {
          outer = tx;
          return offboardOrganisation(
            tx,
            orgId,
            async (t, id) => {
              calls.push({ tx: t, orgId: id });
              return 3;
            },
            { ...META, reason: 'contract ended' },
          );
        });
        assert.deepEqual(result, { suspendedApplications: 2, revokedCertificates: 3 });
        assert.equal(calls.length, 1);
        assert.equal(calls[0]?.orgId, orgId);
        assert.equal(calls[0]?.tx, outer);
        assert.equal((await getOrganisation(storage.db, orgId)).status, 'offboarded');
        for (const clientId of clientIds)
          assert.equal((await getApplication(storage.db, clientId)).status, 'suspended');
      } finally {
        await storage.close();
      }
    });

    test('fail/a revocation that fails leaves the organisation and its applications as they were', async () => {
      const storage = await seededStorage(target);
      try {
        const { orgId, clientIds } = await organisationWithTwoApplications(storage);
        await assert.rejects(
          storage.transaction((tx) =>
            offboardOrganisation(
              tx,
              orgId,
              async () => {
                throw new Error('CRL signing failed');
              },
              META,
            ),
          ),
          /CRL signing failed/,
        );
        assert.equal((await getOrganisation(storage.db, orgId)).status, 'active');
        for (const clientId of clientIds)
          assert.equal((await getApplication(storage.db, clientId)).status, 'active');
      } finally {
        await storage.close();
      }
    });
  });
}
