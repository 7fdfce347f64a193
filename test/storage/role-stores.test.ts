import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  claimSoftwareStatement,
  createApplication,
  createOrganisation,
  directoryStore,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import { certificateStore, createCsr, generateKeyPair } from '../../src/pki/index.ts';
import { CHANGE_KINDS, hasChange, publishChange } from '../../src/storage/index.ts';
import { createPartner, installCa } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

// The stores other roles read the directory, the PKI and the change feed through (issue 10): same answers on both engines.
for (const target of targets) {
  describe(`role stores: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/directoryStore answers about applications, organisations, roles and scopes', async () => {
      const storage = await seededStorage(target);
      try {
        const orgId = await storage.transaction((tx) =>
          createOrganisation(tx, { name: 'Acme Bank', roles: ['partner_reader', 'partner_writer'] }, META),
        );
        const [one, two] = await storage.transaction(async (tx) => [
          await createApplication(
            tx,
            { orgId, name: 'One', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
            META,
          ),
          await createApplication(
            tx,
            { orgId, name: 'Two', roles: ['partner_writer'], authMethod: 'tls_client_auth' },
            META,
          ),
        ]);
        await storage.transaction((tx) => setApplicationStatus(tx, two!, 'suspended', META));
        const store = directoryStore(storage.db);
        const app = await store.applicationWithOrganisation(one!);
        assert.equal(app?.org_id, orgId);
        assert.equal(app?.org_name, 'Acme Bank');
        assert.equal(app?.status, 'active');
        assert.equal(app?.org_status, 'active');
        assert.equal(await store.applicationWithOrganisation('cl_nobody'), undefined);
        assert.deepEqual([...(await store.activeApplicationIds(orgId))], [one]);
        assert.equal(await store.applicationNameTaken(orgId, 'one'), true);
        assert.equal(await store.applicationNameTaken(orgId, 'three'), false);
        assert.deepEqual(await store.applicationRoles(one!, new Date()), ['partner_reader']);
        assert.deepEqual((await store.organisationRoles(orgId)).sort(), ['partner_reader', 'partner_writer']);
        assert.equal(await store.organisationStatus(orgId), 'active');
        assert.equal(await store.organisationStatus('00000000-0000-0000-0000-000000000000'), undefined);
        assert.ok((await store.roleNames()).includes('partner_reader'));
        const scopes = await store.scopeNames();
        assert.deepEqual(scopes, [...scopes].sort());
        const byRole = await store.scopesByRole(['partner_reader', 'nobody']);
        assert.ok((byRole.get('partner_reader') ?? []).length > 0);
        assert.deepEqual(byRole.get('nobody'), []);
        assert.deepEqual(await store.scopesByRole([]), new Map());
        assert.ok((await store.organisationStatuses()).some((o) => o.id === orgId && o.status === 'active'));
        const apps = await store.applicationsForEnforcement();
        assert.equal(apps.find((a) => a.client_id === two)?.status, 'suspended');
        const active = await storage.db
          .selectFrom(store.activeOrganisationIds().as('active'))
          .select('id')
          .execute();
        assert.deepEqual(
          active.map((r) => r.id),
          [orgId],
        );
      } finally {
        await storage.close();
      }
    });

    test('fail/a suspended organisation has no active applications nor is among the active ones', async () => {
      const storage = await seededStorage(target);
      try {
        const orgId = await storage.transaction((tx) =>
          createOrganisation(tx, { name: 'Acme', roles: ['partner_reader'] }, META),
        );
        await storage.transaction((tx) =>
          createApplication(
            tx,
            { orgId, name: 'One', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
            META,
          ),
        );
        await storage.transaction((tx) => setOrganisationStatus(tx, orgId, 'suspended', META));
        const store = directoryStore(storage.db);
        assert.equal((await store.activeApplicationIds(orgId)).size, 0);
        const active = await storage.db
          .selectFrom(store.activeOrganisationIds().as('a'))
          .select('id')
          .execute();
        assert.deepEqual(active, []);
      } finally {
        await storage.close();
      }
    });

    test('fail/a software statement is claimed once; an unknown one not at all', async () => {
      const storage = await seededStorage(target);
      try {
        const claimed = await storage.transaction((tx) =>
          claimSoftwareStatement(tx, 'no-such-jti', META.now),
        );
        assert.equal(claimed, false);
        assert.equal(await directoryStore(storage.db).softwareStatement('no-such-jti'), undefined);
      } finally {
        await storage.close();
      }
    });

    test('ok/certificateStore answers about issued and revoked certificates and the CAs', async () => {
      const storage = await seededStorage(target);
      try {
        const store = certificateStore(storage.db);
        assert.equal(await store.hasAuthorities(), false);
        assert.deepEqual(await store.authoritySubjects(), { root: undefined, issuing: undefined });
        const ca = await installCa(storage);
        assert.equal(await store.hasAuthorities(), true);
        const subjects = await store.authoritySubjects();
        assert.match(subjects.root ?? '', /Accredit Root CA/);
        assert.match(subjects.issuing ?? '', /Accredit Issuing CA 1/);
        const partner = await createPartner(storage, 'Acme Bank');
        const issue = async () =>
          storage.transaction(async (tx) =>
            ca.issue(
              tx,
              { clientId: partner.clientId, csrPem: await createCsr(generateKeyPair('ES256')) },
              META,
            ),
          );
        const first = await issue();
        const second = await issue();
        assert.equal(await store.newestActiveSubject('cl_nobody'), undefined);
        assert.equal(await store.newestActiveSubject(partner.clientId), second.subject);
        const byThumbprint = await store.byThumbprint(first.x5t_s256);
        assert.deepEqual(
          { ...byThumbprint },
          {
            serial: first.serial,
            client_id: partner.clientId,
            org_id: partner.orgId,
            subject: first.subject,
            status: 'active',
            first_used_at: null,
            not_before: first.not_before,
            not_after: first.not_after,
          },
        );
        await storage.transaction((tx) => ca.revoke(tx, first.serial, 'keyCompromise', META));
        assert.equal((await store.byThumbprint(first.x5t_s256))?.status, 'revoked');
        assert.equal(await store.byThumbprint('no-such-thumbprint'), undefined);
        const active = await store.activeOfOrganisation(partner.orgId, META.now);
        assert.deepEqual(
          active.map((c) => c.subject),
          [second.subject],
        );
        assert.deepEqual(await store.activeOfOrganisation(partner.orgId, new Date(second.not_after)), []);
        const unexpired = await store.unexpired(META.now);
        assert.deepEqual(unexpired.map((c) => c.status).sort(), ['active', 'revoked']);
        assert.deepEqual(await store.unexpired(new Date(second.not_after)), []);
      } finally {
        await storage.close();
      }
    });

    test('ok/hasChange finds a published change by kind and entity only', async () => {
      const storage = await seededStorage(target);
      try {
        await storage.transaction((tx) =>
          publishChange(tx, { kind: CHANGE_KINDS.tokenRevoked, entityId: 'jti-1', payload: {} }, META.now),
        );
        assert.equal(await hasChange(storage.db, CHANGE_KINDS.tokenRevoked, 'jti-1'), true);
        assert.equal(await hasChange(storage.db, CHANGE_KINDS.tokenRevoked, 'jti-2'), false);
        assert.equal(await hasChange(storage.db, CHANGE_KINDS.orgStatus, 'jti-1'), false);
      } finally {
        await storage.close();
      }
    });
  });
}
