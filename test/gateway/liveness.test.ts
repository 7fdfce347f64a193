import assert from 'node:assert/strict';
import { after, describe, type TestContext, test } from 'node:test';
import { setApplicationStatus, setOrganisationStatus } from '../../src/directory/index.ts';
import { createLivenessState } from '../../src/platform/enforcement-feed/index.ts';
import {
  CHANGE_KINDS,
  type ChangeInput,
  openStorage,
  publishChange,
  type Storage,
} from '../../src/storage/index.ts';
import { createPartner, installCa } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { csrWithKey } from './fixture.ts';

const targets = await engineTargets();
const meta = () => ({ actor: 'operator:test', now: new Date() });
const nowSeconds = () => Math.floor(Date.now() / 1000);

function publish(storage: Storage, change: ChangeInput) {
  return storage.transaction((tx) => publishChange(tx, change, new Date()));
}

for (const target of targets) {
  describe(`liveness state on ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    async function fresh(t: TestContext) {
      const storage = await seededStorage(target);
      t.after(() => storage.close());
      const ca = await installCa(storage);
      const acme = await createPartner(storage, 'Acme Bank');
      const globex = await createPartner(storage, 'Globex');
      const issue = async (clientId: string) => {
        const { csrPem } = await csrWithKey();
        return storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta()));
      };
      return { storage, ca, acme, globex, issue };
    }

    test('ok/changes apply before the publishing transaction returns', async (t) => {
      const { storage, ca, acme, globex, issue } = await fresh(t);
      const cert = await issue(acme.clientId);
      const state = await createLivenessState(storage);
      t.after(() => state.close());

      await storage.transaction((tx) => setApplicationStatus(tx, acme.clientId, 'suspended', meta()));
      assert.equal(state.client(acme.clientId)?.status, 'suspended');
      await storage.transaction((tx) => setOrganisationStatus(tx, globex.orgId, 'offboarded', meta()));
      assert.equal(state.orgStatus(globex.orgId), 'offboarded');
      await storage.transaction((tx) => ca.revoke(tx, cert.serial, 'superseded', meta()));
      assert.equal(state.isCertificateRevoked(cert.x5t_s256), true);
      await publish(storage, {
        kind: CHANGE_KINDS.tokenRevoked,
        entityId: 'j1',
        payload: { jti: 'j1', exp: nowSeconds() + 60, client_id: acme.clientId },
      });
      assert.equal(state.isTokenRevoked('j1'), true);
    });

    test('ok/app.registered adds a client and replaces its self-signed certificates', async (t) => {
      const { storage, acme } = await fresh(t);
      const state = await createLivenessState(storage);
      t.after(() => state.close());
      const registered = (x5ts: string[]) =>
        publish(storage, {
          kind: CHANGE_KINDS.appRegistered,
          entityId: 'cl_new',
          payload: {
            org_id: acme.orgId,
            status: 'active',
            auth_method: 'self_signed_tls_client_auth',
            self_signed_x5t: x5ts,
          },
        });
      await registered(['old']);
      assert.equal(state.client('cl_new')?.orgId, acme.orgId);
      assert.equal(state.selfSignedOwner('old')?.clientId, 'cl_new');
      await registered(['new']);
      assert.equal(state.selfSignedOwner('old'), undefined, 'a rotated-out certificate is no longer trusted');
      assert.equal(state.selfSignedOwner('new')?.clientId, 'cl_new');
      await publish(storage, {
        kind: CHANGE_KINDS.appStatus,
        entityId: 'cl_new',
        payload: { status: 'suspended', org_id: acme.orgId },
      });
      assert.equal(state.selfSignedOwner('new')?.status, 'suspended');
    });

    test('ok/joins a feed the platform already follows', async (t) => {
      const { storage, acme } = await fresh(t);
      await storage.feed.start();
      const state = await createLivenessState(storage);
      t.after(() => state.close());
      await storage.transaction((tx) => setApplicationStatus(tx, acme.clientId, 'suspended', meta()));
      assert.equal(state.client(acme.clientId)?.status, 'suspended');
    });

    test('ok/a change committed by another process is applied on the next feed read', async (t) => {
      const options = target.freshOptions();
      const storage = await openStorage(options);
      t.after(() => storage.close());
      const other = await openStorage(options);
      t.after(() => other.close());
      const state = await createLivenessState(storage);
      t.after(() => state.close());
      await publish(other, {
        kind: CHANGE_KINDS.certRevoked,
        entityId: 'serial',
        payload: { x5t_s256: 'abc', client_id: 'cl_x', org_id: 'org_x', reason: 'keyCompromise' },
      });
      await storage.feed.sync();
      assert.equal(state.isCertificateRevoked('abc'), true);
    });

    test('ok/revoked jtis are pruned well after their exp; close() stops following', async (t) => {
      const { storage, acme } = await fresh(t);
      const state = await createLivenessState(storage);
      const exp = nowSeconds() + 60;
      await publish(storage, {
        kind: CHANGE_KINDS.tokenRevoked,
        entityId: 'j2',
        payload: { jti: 'j2', exp, client_id: acme.clientId },
      });
      state.prune(new Date(exp * 1000 + 60_000));
      assert.equal(state.isTokenRevoked('j2'), true, 'kept past exp for the clock tolerance');
      state.prune(new Date(exp * 1000 + 3_600_000));
      assert.equal(state.isTokenRevoked('j2'), false);
      state.close();
      await storage.transaction((tx) => setApplicationStatus(tx, acme.clientId, 'suspended', meta()));
      assert.equal(state.client(acme.clientId)?.status, 'active');
    });
  });
}
