import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { listAuditEvents } from '../../src/audit/index.ts';
import { loadClientMetadata } from '../../src/authorization-server/client-metadata.ts';
import {
  approveOrganisationRole,
  createApplication,
  createOrganisation,
  getApplication,
  grantApplicationRole,
  liveRoles,
  revokeApplicationRole,
  roleGrants,
  updateCatalogRole,
  updateRegisteredApplication,
  withdrawOrganisationRole,
} from '../../src/directory/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();

// META.now is 2026-03-01T10:00Z; the grant under test ends a day later.
const END = '2026-03-02T10:00:00.000Z';
const BEFORE_END = new Date('2026-03-02T09:59:59.999Z');
const AT_END = new Date(END);
const AFTER_END = new Date('2026-03-03T00:00:00.000Z');

const rejectsWith = (status: number, code: string, field?: string) => (err: unknown) => {
  const e = err as { status: number; code: string; details?: { field?: string } };
  assert.equal(e.status, status);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.details?.field, field);
  return true;
};

/** An organisation approved for `roles` (all when omitted) with an application holding `held`. */
async function setup(
  storage: Storage,
  name: string,
  held: string[],
  roles?: string[],
  registrationType: 'manual' | 'dynamic' = 'manual',
) {
  return storage.transaction(async (tx) => {
    const orgId = await createOrganisation(tx, { name, roles }, META);
    const clientId = await createApplication(
      tx,
      {
        orgId,
        name: `${name} app`,
        roles: held,
        authMethod: 'tls_client_auth',
        registrationType,
        ...(registrationType === 'dynamic' ? { clientId: `cl_${name.replace(/\W/g, '')}` } : {}),
      },
      META,
    );
    return { orgId, clientId };
  });
}

async function auditOf(storage: Storage, prefix: string) {
  return (await listAuditEvents(storage.db, { after: 0, limit: 1000 }))
    .filter((e) => e.action.startsWith(prefix))
    .map((e) => ({ action: e.action, target: e.target_id, details: e.details }));
}

for (const target of targets) {
  describe(`role grants: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/a time-bound grant counts until its end, then shows as expired and grants no scope', async () => {
      const storage = await seededStorage(target);
      try {
        const { clientId } = await setup(storage, 'Acme Bank', ['partner_reader']);
        const grant = await storage.transaction((tx) =>
          grantApplicationRole(
            tx,
            { clientId, role: 'partner_analyst', expiresAt: '2026-03-02T12:00:00+02:00' },
            META,
          ),
        );
        // Stored and shown in UTC, whatever offset it was given with.
        assert.deepEqual(grant, { role: 'partner_analyst', expires_at: END, expired: false });

        assert.deepEqual(await liveRoles(storage.db, clientId, META.now), [
          'partner_analyst',
          'partner_reader',
        ]);
        assert.deepEqual(await liveRoles(storage.db, clientId, BEFORE_END), [
          'partner_analyst',
          'partner_reader',
        ]);
        assert.deepEqual(await liveRoles(storage.db, clientId, AT_END), ['partner_reader']);
        assert.deepEqual(await liveRoles(storage.db, clientId, AFTER_END), ['partner_reader']);

        assert.deepEqual(
          (await roleGrants(storage.db, [clientId], AFTER_END)).map((g) => ({ ...g })),
          [
            { client_id: clientId, role: 'partner_analyst', expires_at: END, expired: true },
            { client_id: clientId, role: 'partner_reader', expires_at: null, expired: false },
          ],
        );
        assert.deepEqual(await roleGrants(storage.db, [], AFTER_END), []);
        assert.deepEqual(
          (await roleGrants(storage.db, undefined, BEFORE_END)).map((g) => [g.role, g.expired]),
          [
            ['partner_analyst', false],
            ['partner_reader', false],
          ],
        );

        const live = await getApplication(storage.db, clientId, BEFORE_END);
        assert.deepEqual(live.roles, ['partner_analyst', 'partner_reader']);
        assert.deepEqual(live.scopes, ['accounts:read', 'reports:download']);
        const ended = await getApplication(storage.db, clientId, AFTER_END);
        assert.deepEqual(ended.roles, ['partner_reader']);
        assert.deepEqual(ended.scopes, ['accounts:read']);
        assert.deepEqual(ended.role_grants, [
          { role: 'partner_analyst', expires_at: END, expired: true },
          { role: 'partner_reader', expires_at: null, expired: false },
        ]);

        // What the next token gets: the client's scope as the authorization server loads it.
        const beforeMetadata = await loadClientMetadata(storage, clientId, BEFORE_END);
        assert.equal(beforeMetadata?.scope, 'accounts:read reports:download');
        assert.deepEqual(beforeMetadata?.roles, ['partner_analyst', 'partner_reader']);
        const afterMetadata = await loadClientMetadata(storage, clientId, AFTER_END);
        assert.equal(afterMetadata?.scope, 'accounts:read');
        assert.deepEqual(afterMetadata?.roles, ['partner_reader']);

        // Renewing sets a new end; the audit keeps the old one.
        const renewed = await storage.transaction((tx) =>
          grantApplicationRole(
            tx,
            { clientId, role: 'partner_analyst', expiresAt: '2026-04-01T00:00:00Z' },
            { ...META, now: AFTER_END },
          ),
        );
        assert.equal(renewed.expires_at, '2026-04-01T00:00:00.000Z');
        assert.equal(
          (await loadClientMetadata(storage, clientId, AFTER_END))?.scope,
          'accounts:read reports:download',
        );
        // Granting without an end makes it open-ended.
        await storage.transaction((tx) =>
          grantApplicationRole(tx, { clientId, role: 'partner_analyst' }, META),
        );
        assert.deepEqual(
          (await getApplication(storage.db, clientId, new Date('2030-01-01T00:00:00Z'))).roles,
          ['partner_analyst', 'partner_reader'],
        );
        assert.deepEqual(
          (await auditOf(storage, 'application.role.')).map((e) => [e.action, e.target, e.details]),
          [
            [
              'application.role.grant',
              clientId,
              { role: 'partner_analyst', expires_at: END, previous_expires_at: null, renewed: false },
            ],
            [
              'application.role.grant',
              clientId,
              {
                role: 'partner_analyst',
                expires_at: '2026-04-01T00:00:00.000Z',
                previous_expires_at: END,
                renewed: true,
              },
            ],
            [
              'application.role.grant',
              clientId,
              {
                role: 'partner_analyst',
                expires_at: null,
                previous_expires_at: '2026-04-01T00:00:00.000Z',
                renewed: true,
              },
            ],
          ],
        );
      } finally {
        await storage.close();
      }
    });

    test('fail/grants that are refused write nothing: past, now, malformed, unknown, deprecated, unapproved', async () => {
      const storage = await seededStorage(target);
      try {
        const { clientId } = await setup(
          storage,
          'Acme Bank',
          ['partner_reader'],
          ['partner_reader', 'partner_analyst'],
        );
        const grant = (role: string, expiresAt?: string | null) =>
          storage.transaction((tx) => grantApplicationRole(tx, { clientId, role, expiresAt }, META));
        const cases: Array<[string, () => Promise<unknown>, (err: unknown) => boolean]> = [
          [
            'in the past',
            () => grant('partner_analyst', '2026-02-28T10:00:00Z'),
            rejectsWith(400, 'invalid_input', 'expires_at'),
          ],
          [
            'exactly now',
            () => grant('partner_analyst', META.now.toISOString()),
            rejectsWith(400, 'invalid_input', 'expires_at'),
          ],
          [
            'not a date',
            () => grant('partner_analyst', 'tomorrow'),
            rejectsWith(400, 'invalid_input', 'expires_at'),
          ],
          [
            'a date without a time',
            () => grant('partner_analyst', '2027-03-31'),
            rejectsWith(400, 'invalid_input', 'expires_at'),
          ],
          [
            'no such month',
            () => grant('partner_analyst', '2027-13-01T00:00:00Z'),
            rejectsWith(400, 'invalid_input', 'expires_at'),
          ],
          ['unknown role', () => grant('partner_nobody', END), rejectsWith(400, 'invalid_input', 'roles')],
          [
            'not approved for the organisation',
            () => grant('partner_writer', END),
            rejectsWith(403, 'role_not_approved', 'roles'),
          ],
        ];
        for (const [name, attempt, check] of cases) await assert.rejects(attempt(), check, name);
        await assert.rejects(
          storage.transaction((tx) =>
            grantApplicationRole(tx, { clientId: 'cl_nope', role: 'partner_reader' }, META),
          ),
          rejectsWith(404, 'not_found'),
        );

        await storage.transaction((tx) =>
          updateCatalogRole(tx, 'partner_analyst', { status: 'deprecated' }, META),
        );
        await assert.rejects(grant('partner_analyst', END), rejectsWith(409, 'role_deprecated', 'roles'));
        assert.deepEqual(
          (await roleGrants(storage.db, [clientId], META.now)).map((g) => [g.role, g.expires_at]),
          [['partner_reader', null]],
        );
        assert.deepEqual(await auditOf(storage, 'application.role.'), []);
      } finally {
        await storage.close();
      }
    });

    test('fail/an expired grant of a deprecated role is not renewed (it is not held any more)', async () => {
      const storage = await seededStorage(target);
      try {
        const { clientId } = await setup(storage, 'Acme Bank', ['partner_reader']);
        await storage.transaction((tx) =>
          grantApplicationRole(tx, { clientId, role: 'partner_analyst', expiresAt: END }, META),
        );
        await storage.transaction((tx) =>
          updateCatalogRole(tx, 'partner_analyst', { status: 'deprecated' }, META),
        );
        // Still held before the end: renewing is allowed.
        await storage.transaction((tx) =>
          grantApplicationRole(
            tx,
            { clientId, role: 'partner_analyst', expiresAt: '2026-03-02T11:00:00Z' },
            { ...META, now: BEFORE_END },
          ),
        );
        await assert.rejects(
          storage.transaction((tx) =>
            grantApplicationRole(
              tx,
              { clientId, role: 'partner_analyst', expiresAt: '2026-04-01T00:00:00Z' },
              { ...META, now: AFTER_END },
            ),
          ),
          rejectsWith(409, 'role_deprecated'),
        );
        assert.deepEqual(
          (await roleGrants(storage.db, [clientId], AFTER_END)).map((g) => [g.role, g.expires_at, g.expired]),
          [
            ['partner_analyst', '2026-03-02T11:00:00.000Z', true],
            ['partner_reader', null, false],
          ],
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/a re-registration keeps the end of a time-bound grant', async () => {
      const storage = await seededStorage(target);
      try {
        const { clientId } = await setup(storage, 'Acme Bank', ['partner_reader'], undefined, 'dynamic');
        await storage.transaction((tx) =>
          grantApplicationRole(tx, { clientId, role: 'partner_analyst', expiresAt: END }, META),
        );
        const updated = await storage.transaction((tx) =>
          updateRegisteredApplication(
            tx,
            clientId,
            {
              authMethod: 'tls_client_auth',
              metadata: { client_name: 'renamed' },
              roles: ['partner_reader', 'partner_analyst'],
            },
            META,
          ),
        );
        assert.deepEqual(updated, { changed: true });
        assert.deepEqual(
          (await roleGrants(storage.db, [clientId], AFTER_END)).map((g) => [g.role, g.expires_at, g.expired]),
          [
            ['partner_analyst', END, true],
            ['partner_reader', null, false],
          ],
        );
        assert.equal((await loadClientMetadata(storage, clientId, AFTER_END))?.scope, 'accounts:read');
      } finally {
        await storage.close();
      }
    });

    test('ok/revoke takes the role away; fail/a second revoke is 404', async () => {
      const storage = await seededStorage(target);
      try {
        const { clientId } = await setup(storage, 'Acme Bank', ['partner_reader', 'partner_analyst']);
        await storage.transaction((tx) =>
          revokeApplicationRole(tx, { clientId, role: 'partner_analyst' }, META),
        );
        assert.deepEqual(await liveRoles(storage.db, clientId, META.now), ['partner_reader']);
        assert.equal((await loadClientMetadata(storage, clientId, META.now))?.scope, 'accounts:read');
        await assert.rejects(
          storage.transaction((tx) => revokeApplicationRole(tx, { clientId, role: 'partner_analyst' }, META)),
          rejectsWith(404, 'not_found'),
        );
        await assert.rejects(
          storage.transaction((tx) =>
            revokeApplicationRole(tx, { clientId: 'cl_nope', role: 'partner_reader' }, META),
          ),
          rejectsWith(404, 'not_found'),
        );
        assert.deepEqual(
          (await auditOf(storage, 'application.role.')).map((e) => [e.action, e.target, e.details]),
          [['application.role.revoke', clientId, { role: 'partner_analyst' }]],
        );
      } finally {
        await storage.close();
      }
    });

    test('ok/approve and withdraw an organisation role; fail/withdraw while held (409 role_in_use), ok after the end', async () => {
      const storage = await seededStorage(target);
      try {
        const { orgId, clientId } = await setup(storage, 'Acme Bank', ['partner_reader'], ['partner_reader']);
        const approved = async () =>
          (
            await storage.db
              .selectFrom('organisation_roles')
              .select('role')
              .where('org_id', '=', orgId)
              .orderBy('role')
              .execute()
          ).map((r) => r.role);

        await storage.transaction((tx) =>
          approveOrganisationRole(tx, { orgId, role: 'partner_writer' }, META),
        );
        // Approving again changes nothing (and audits nothing).
        await storage.transaction((tx) =>
          approveOrganisationRole(tx, { orgId, role: 'partner_writer' }, META),
        );
        assert.deepEqual(await approved(), ['partner_reader', 'partner_writer']);
        await storage.transaction((tx) =>
          grantApplicationRole(tx, { clientId, role: 'partner_writer', expiresAt: END }, META),
        );

        await assert.rejects(
          storage.transaction((tx) => withdrawOrganisationRole(tx, { orgId, role: 'partner_writer' }, META)),
          (err: { status: number; code: string; details: { applications: string[] } }) => {
            assert.equal(err.status, 409);
            assert.equal(err.code, 'role_in_use');
            assert.deepEqual(err.details.applications, [clientId]);
            return true;
          },
        );
        await assert.rejects(
          storage.transaction((tx) =>
            withdrawOrganisationRole(tx, { orgId, role: 'partner_writer' }, { ...META, now: BEFORE_END }),
          ),
          rejectsWith(409, 'role_in_use'),
        );
        assert.deepEqual(await approved(), ['partner_reader', 'partner_writer']);
        await storage.transaction((tx) =>
          withdrawOrganisationRole(tx, { orgId, role: 'partner_writer' }, { ...META, now: AFTER_END }),
        );
        assert.deepEqual(await approved(), ['partner_reader']);
        await assert.rejects(
          storage.transaction((tx) =>
            withdrawOrganisationRole(tx, { orgId, role: 'partner_writer' }, { ...META, now: AFTER_END }),
          ),
          rejectsWith(404, 'not_found'),
        );
        // Without the approval, the role cannot be granted again.
        await assert.rejects(
          storage.transaction((tx) =>
            grantApplicationRole(tx, { clientId, role: 'partner_writer' }, { ...META, now: AFTER_END }),
          ),
          rejectsWith(403, 'role_not_approved'),
        );

        await assert.rejects(
          storage.transaction((tx) => approveOrganisationRole(tx, { orgId, role: 'partner_nobody' }, META)),
          rejectsWith(400, 'invalid_input', 'role'),
        );
        await assert.rejects(
          storage.transaction((tx) =>
            approveOrganisationRole(tx, { orgId: 'org-nope', role: 'partner_writer' }, META),
          ),
          rejectsWith(404, 'not_found'),
        );
        await storage.transaction((tx) =>
          updateCatalogRole(tx, 'partner_analyst', { status: 'deprecated' }, META),
        );
        await assert.rejects(
          storage.transaction((tx) => approveOrganisationRole(tx, { orgId, role: 'partner_analyst' }, META)),
          rejectsWith(409, 'role_deprecated', 'role'),
        );
        assert.deepEqual(await approved(), ['partner_reader']);
        assert.deepEqual(
          (await auditOf(storage, 'organisation.role.')).map((e) => [e.action, e.target, e.details]),
          [
            ['organisation.role.approve', orgId, { role: 'partner_writer' }],
            ['organisation.role.withdraw', orgId, { role: 'partner_writer' }],
          ],
        );
      } finally {
        await storage.close();
      }
    });
  });
}
