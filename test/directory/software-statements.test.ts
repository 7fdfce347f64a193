import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { verifyAuditChain } from '../../src/audit/index.ts';
import {
  createApplication,
  createOrganisation,
  DIRECTORY_JWKS_PATH,
  directoryIssuer,
  getSoftwareStatement,
  issueSoftwareStatement,
  listSoftwareStatements,
  publishedSoftwareStatementJwks,
  revokeSoftwareStatement,
  type SoftwareStatementSigner,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import {
  type CertificateAuthority,
  certificateStore,
  createCsr,
  generateKeyPair,
} from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import { loadSoftwareStatementKeys } from '../../src/platform/software-statement-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();
const ISSUER = directoryIssuer('https://platform.example:8443/');
const IAT = Math.floor(META.now.getTime() / 1000);
const clientJwk = {
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid: 'partner-1',
};

interface World {
  storage: Storage;
  ca: CertificateAuthority;
  signer: SoftwareStatementSigner;
  jwks: Awaited<ReturnType<typeof publishedSoftwareStatementJwks>>;
  orgId: string;
}

/** A seeded directory with the platform CA, one software-statement key (as `accredit init` makes) and an org. */
async function world(target: Parameters<typeof seededStorage>[0], alg: 'ES256' | 'PS256' = 'ES256') {
  const storage = await seededStorage(target);
  const ca = await installCa(storage);
  const key = await createSigningKey('software_statement', alg, KEK, META.now);
  await storage.db.insertInto('signing_keys').values(key).execute();
  const { signer, jwks } = await loadSoftwareStatementKeys(storage.db, KEK, META.now);
  const orgId = await storage.transaction((tx) =>
    createOrganisation(tx, { name: 'Acme Bank', roles: ['partner_reader', 'partner_writer'] }, META),
  );
  return { storage, ca, signer, jwks, orgId } satisfies World;
}

async function app(
  w: World,
  input: { name?: string; roles?: string[]; authMethod: string; metadata?: Record<string, unknown> },
  registrationType: 'manual' | 'dynamic' = 'manual',
) {
  return w.storage.transaction((tx) =>
    createApplication(
      tx,
      {
        orgId: w.orgId,
        name: input.name ?? 'Payments Hub',
        roles: input.roles ?? ['partner_reader', 'partner_writer'],
        authMethod: input.authMethod,
        metadata: input.metadata,
        registrationType,
      },
      META,
    ),
  );
}

/** An application stored before manual registration checked redirect URIs: its metadata written as it was. */
async function legacyApp(w: World, redirectUri: string) {
  const softwareId = await app(w, {
    authMethod: 'private_key_jwt',
    metadata: { jwks: { keys: [clientJwk] } },
  });
  const row = await w.storage.db
    .selectFrom('applications')
    .select('metadata')
    .where('client_id', '=', softwareId)
    .executeTakeFirstOrThrow();
  const metadata = { ...(JSON.parse(row.metadata) as Record<string, unknown>), redirect_uris: [redirectUri] };
  await w.storage.db
    .updateTable('applications')
    .set({ metadata: JSON.stringify(metadata) })
    .where('client_id', '=', softwareId)
    .execute();
  return softwareId;
}

async function issueCertificate(w: World, clientId: string) {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const csrPem = await createCsr({ privateKey, publicKey });
  return w.storage.transaction((tx) => w.ca.issue(tx, { clientId, csrPem }, META));
}

const issue = (w: World, softwareId: string, lifetimeSeconds?: number, meta = META) =>
  w.storage.transaction((tx) =>
    issueSoftwareStatement(
      tx,
      {
        softwareId,
        issuer: ISSUER,
        signer: w.signer,
        lifetimeSeconds,
        certificateSubject: (clientId) => certificateStore(tx.db).newestActiveSubject(clientId),
      },
      meta,
    ),
  );

const verify = (w: World, jwt: string) =>
  jwtVerify(jwt, createLocalJWKSet(w.jwks as Parameters<typeof createLocalJWKSet>[0]), {
    issuer: ISSUER,
    typ: 'JWT',
    currentDate: META.now,
  });

const issueAudits = (storage: Storage) =>
  storage.db
    .selectFrom('audit_log')
    .selectAll()
    .where('action', '=', 'software_statement.issue')
    .orderBy('seq')
    .execute();

for (const target of targets) {
  describe(`software statements (RFC 7591 §2.3): ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/tls_client_auth software: exact claims and header, verified against the published JWK Set', async () => {
      const w = await world(target);
      try {
        const clientId = await app(w, { authMethod: 'tls_client_auth' });
        const cert = await issueCertificate(w, clientId);
        const issued = await issue(w, clientId);
        assert.match(issued.jti, /^[0-9a-f]{32}$/);
        assert.equal(issued.software_id, clientId);
        assert.equal(issued.org_id, w.orgId);
        assert.equal(issued.expires_at, new Date((IAT + 300) * 1000).toISOString());

        assert.deepEqual(decodeProtectedHeader(issued.software_statement), {
          alg: 'ES256',
          kid: w.signer.kid,
          typ: 'JWT',
        });
        const { payload } = await verify(w, issued.software_statement);
        assert.deepEqual(payload, {
          iss: 'https://platform.example:8443/directory',
          iat: IAT,
          exp: IAT + 300,
          jti: issued.jti,
          software_id: clientId,
          org_id: w.orgId,
          roles: ['partner_reader', 'partner_writer'],
          scope: 'accounts:read accounts:write payments:submit',
          client_name: 'Payments Hub',
          token_endpoint_auth_method: 'tls_client_auth',
          grant_types: ['client_credentials'],
          tls_client_auth_subject_dn: cert.subject,
        });
        assert.match(cert.subject, new RegExp(`CN=${clientId}`));

        const record = await getSoftwareStatement(w.storage.db, issued.jti);
        assert.deepEqual(record, {
          jti: issued.jti,
          software_id: clientId,
          org_id: w.orgId,
          issued_at: META.now.toISOString(),
          expires_at: issued.expires_at,
          status: 'issued',
          used_at: null,
          used_by_client_id: null,
        });
        const [audit, ...more] = await issueAudits(w.storage);
        assert.equal(more.length, 0);
        assert.equal(audit?.target_type, 'software_statement');
        assert.equal(audit?.target_id, issued.jti);
        assert.equal(audit?.actor, META.actor);
        const details = JSON.parse(audit?.details ?? '{}') as Record<string, unknown>;
        assert.equal(details.software_id, clientId);
        assert.equal(details.kid, w.signer.kid);
        // The statement is a bearer credential for one registration: never in the audit log.
        assert.ok(!JSON.stringify(audit).includes(issued.software_statement.split('.')[2]!));
        assert.ok(!JSON.stringify(audit).includes(issued.software_statement.split('.')[1]!));
        assert.equal((await verifyAuditChain(w.storage.db)).ok, true);
      } finally {
        await w.storage.close();
      }
    });

    test('ok/private_key_jwt software with jwks and https redirect URIs: authorization_code, no subject DN', async () => {
      const w = await world(target);
      try {
        const redirectUris = ['https://app.acme.example/cb', 'https://app.acme.example/cb2'];
        const clientId = await app(w, {
          authMethod: 'private_key_jwt',
          roles: ['partner_reader'],
          metadata: { jwks: { keys: [clientJwk] }, redirect_uris: redirectUris, logo_uri: 'https://x' },
        });
        const issued = await issue(w, clientId, 3600);
        const { payload } = await verify(w, issued.software_statement);
        assert.deepEqual(payload, {
          iss: ISSUER,
          iat: IAT,
          exp: IAT + 3600,
          jti: issued.jti,
          software_id: clientId,
          org_id: w.orgId,
          roles: ['partner_reader'],
          scope: 'accounts:read',
          client_name: 'Payments Hub',
          token_endpoint_auth_method: 'private_key_jwt',
          grant_types: ['client_credentials', 'authorization_code'],
          redirect_uris: redirectUris,
          jwks: { keys: [clientJwk] },
        });
      } finally {
        await w.storage.close();
      }
    });

    test('ok/jwks_uri is carried as is; PS256 directory key', async () => {
      const w = await world(target, 'PS256');
      try {
        const clientId = await app(w, {
          authMethod: 'private_key_jwt',
          metadata: { jwks_uri: 'https://app.acme.example/jwks.json' },
        });
        const issued = await issue(w, clientId, 60);
        assert.equal(decodeProtectedHeader(issued.software_statement).alg, 'PS256');
        const { payload } = await verify(w, issued.software_statement);
        assert.equal(payload.jwks_uri, 'https://app.acme.example/jwks.json');
        assert.equal(payload.jwks, undefined);
        assert.equal(payload.redirect_uris, undefined);
        assert.equal(payload.exp, IAT + 60);
        assert.deepEqual(payload.grant_types, ['client_credentials']);
      } finally {
        await w.storage.close();
      }
    });

    test("ok/the software's fapi_profile is carried for its clients (docs/fapi.md); none: no claim", async () => {
      const w = await world(target);
      try {
        for (const profile of ['off', '2.0', undefined]) {
          const clientId = await app(w, {
            name: `FAPI ${String(profile)}`,
            authMethod: 'private_key_jwt',
            metadata: { jwks: { keys: [clientJwk] }, ...(profile ? { fapi_profile: profile } : {}) },
          });
          const { payload } = await verify(w, (await issue(w, clientId)).software_statement);
          assert.equal(payload.fapi_profile, profile);
        }
      } finally {
        await w.storage.close();
      }
    });

    test('ok/every statement has its own jti and record', async () => {
      const w = await world(target);
      try {
        const clientId = await app(w, {
          authMethod: 'private_key_jwt',
          metadata: { jwks: { keys: [clientJwk] } },
        });
        const other = await app(w, {
          name: 'Reports',
          authMethod: 'private_key_jwt',
          metadata: { jwks: { keys: [clientJwk] } },
        });
        const a = await issue(w, clientId);
        const b = await issue(w, clientId, undefined, { ...META, now: new Date(META.now.getTime() + 1000) });
        const c = await issue(w, other);
        assert.notEqual(a.jti, b.jti);
        const all = await listSoftwareStatements(w.storage.db);
        assert.equal(all.length, 3);
        const mine = await listSoftwareStatements(w.storage.db, { softwareId: clientId });
        assert.deepEqual(
          mine.map((s) => s.jti),
          [b.jti, a.jti],
        );
        assert.ok(all.some((s) => s.jti === c.jti));
        // Listings carry the record, never the JWT (which is not stored at all).
        assert.ok(all.every((s) => !('software_statement' in s)));
        const stored = JSON.stringify(
          await w.storage.db.selectFrom('software_statements').selectAll().execute(),
        );
        assert.ok(!stored.includes(a.software_statement.split('.')[2]!));
      } finally {
        await w.storage.close();
      }
    });

    const refusals: Array<
      [string, (w: World) => Promise<string>, { code: string; status: number; message?: RegExp }, number?]
    > = [
      [
        'fail/tls_client_auth software without a certificate',
        (w) => app(w, { authMethod: 'tls_client_auth' }),
        {
          code: 'no_client_certificate',
          status: 409,
          message: /no active certificate issued by the platform/,
        },
      ],
      [
        'fail/tls_client_auth software whose only certificate is revoked',
        async (w) => {
          const clientId = await app(w, { authMethod: 'tls_client_auth' });
          const cert = await issueCertificate(w, clientId);
          await w.storage.transaction((tx) => w.ca.revoke(tx, cert.serial, 'keyCompromise', META));
          return clientId;
        },
        { code: 'no_client_certificate', status: 409 },
      ],
      [
        'fail/suspended organisation',
        async (w) => {
          const clientId = await app(w, {
            authMethod: 'private_key_jwt',
            metadata: { jwks: { keys: [clientJwk] } },
          });
          await w.storage.transaction((tx) => setOrganisationStatus(tx, w.orgId, 'suspended', META));
          return clientId;
        },
        { code: 'organisation_not_active', status: 409 },
      ],
      [
        'fail/suspended application',
        async (w) => {
          const clientId = await app(w, {
            authMethod: 'private_key_jwt',
            metadata: { jwks: { keys: [clientJwk] } },
          });
          await w.storage.transaction((tx) => setApplicationStatus(tx, clientId, 'suspended', META));
          return clientId;
        },
        { code: 'application_not_active', status: 409 },
      ],
      ['fail/unknown application', async () => 'cl_unknown', { code: 'not_found', status: 404 }],
      [
        'fail/a dynamically registered client is not software',
        (w) =>
          app(w, { authMethod: 'private_key_jwt', metadata: { jwks: { keys: [clientJwk] } } }, 'dynamic'),
        { code: 'not_software', status: 409 },
      ],
      [
        'fail/http redirect URI could never register',
        (w) => legacyApp(w, 'http://app.acme.example/cb'),
        { code: 'unusable_software_metadata', status: 409, message: /http:\/\/app\.acme\.example\/cb/ },
      ],
      [
        'fail/redirect URI with a fragment (RFC 6749 §3.1.2)',
        (w) => legacyApp(w, 'https://app.acme.example/cb#x'),
        { code: 'unusable_software_metadata', status: 409 },
      ],
      [
        'fail/lifetime below 60 s',
        (w) => app(w, { authMethod: 'private_key_jwt', metadata: { jwks: { keys: [clientJwk] } } }),
        { code: 'invalid_input', status: 400 },
        59,
      ],
      [
        'fail/lifetime above 3600 s',
        (w) => app(w, { authMethod: 'private_key_jwt', metadata: { jwks: { keys: [clientJwk] } } }),
        { code: 'invalid_input', status: 400 },
        3601,
      ],
    ];
    for (const [name, setup, expected, lifetime] of refusals) {
      test(name, async () => {
        const w = await world(target);
        try {
          const softwareId = await setup(w);
          await assert.rejects(
            issue(w, softwareId, lifetime),
            (err: Error & { code?: string; status?: number }) => {
              assert.equal(err.code, expected.code);
              assert.equal(err.status, expected.status);
              if (expected.message) assert.match(err.message, expected.message);
              return true;
            },
          );
          // Nothing recorded, nothing audited.
          assert.deepEqual(await listSoftwareStatements(w.storage.db), []);
          assert.deepEqual(await issueAudits(w.storage), []);
        } finally {
          await w.storage.close();
        }
      });
    }

    test('ok/revoke: recorded and audited once; a used statement cannot be revoked', async () => {
      const w = await world(target);
      try {
        const clientId = await app(w, {
          authMethod: 'private_key_jwt',
          metadata: { jwks: { keys: [clientJwk] } },
        });
        const issued = await issue(w, clientId);
        const revoked = await w.storage.transaction((tx) =>
          revokeSoftwareStatement(tx, issued.jti, { ...META, reason: 'sent to the wrong partner' }),
        );
        assert.equal(revoked.changed, true);
        assert.equal(revoked.statement.status, 'revoked');
        assert.equal((await getSoftwareStatement(w.storage.db, issued.jti)).status, 'revoked');
        const again = await w.storage.transaction((tx) => revokeSoftwareStatement(tx, issued.jti, META));
        assert.equal(again.changed, false);
        const audits = await w.storage.db
          .selectFrom('audit_log')
          .selectAll()
          .where('action', '=', 'software_statement.revoke')
          .execute();
        assert.equal(audits.length, 1);
        assert.equal(audits[0]?.target_id, issued.jti);
        assert.equal(JSON.parse(audits[0]?.details ?? '{}').reason, 'sent to the wrong partner');

        const used = await issue(w, clientId);
        await w.storage.db
          .updateTable('software_statements')
          .set({ status: 'used', used_at: META.now.toISOString(), used_by_client_id: 'cl_registered' })
          .where('jti', '=', used.jti)
          .execute();
        await assert.rejects(
          w.storage.transaction((tx) => revokeSoftwareStatement(tx, used.jti, META)),
          { code: 'statement_used', status: 409 },
        );
        await assert.rejects(
          w.storage.transaction((tx) => revokeSoftwareStatement(tx, 'no-such-jti', META)),
          { code: 'not_found', status: 404 },
        );
        assert.equal((await verifyAuditChain(w.storage.db)).ok, true);
      } finally {
        await w.storage.close();
      }
    });

    test('ok/published JWK Set: public halves of active and recently retired keys, never revoked ones', async () => {
      const w = await world(target);
      try {
        const [active] = w.jwks.keys;
        assert.deepEqual(Object.keys(active ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
        assert.equal(active?.kid, w.signer.kid);
        assert.equal(active?.use, 'sig');
        assert.equal(DIRECTORY_JWKS_PATH, '/directory/jwks');

        // A newer key signs; the previous one, retired now, still verifies what it signed within the max lifetime.
        const later = new Date(META.now.getTime() + 60_000);
        const newer = await createSigningKey('software_statement', 'ES256', KEK, later);
        const revoked = await createSigningKey('software_statement', 'ES256', KEK, META.now);
        const oldRetired = await createSigningKey('software_statement', 'ES256', KEK, new Date(0));
        await w.storage.db
          .insertInto('signing_keys')
          .values([
            newer,
            { ...revoked, status: 'revoked', revoked_at: META.now.toISOString() },
            { ...oldRetired, status: 'retired', retired_at: new Date(0).toISOString() },
          ])
          .execute();
        await w.storage.db
          .updateTable('signing_keys')
          .set({ status: 'retired', retired_at: later.toISOString() })
          .where('kid', '=', w.signer.kid)
          .execute();
        const { signer, jwks } = await loadSoftwareStatementKeys(w.storage.db, KEK, later);
        assert.equal(signer.kid, newer.kid);
        assert.deepEqual(
          jwks.keys.map((k) => k.kid),
          [newer.kid, w.signer.kid],
        );
        const afterOverlap = new Date(later.getTime() + 3600_000 + 1000);
        assert.deepEqual(
          (await publishedSoftwareStatementJwks(w.storage.db, afterOverlap)).keys.map((k) => k.kid),
          [newer.kid],
        );
        // Access-token and federation keys are never in the directory's set.
        const other = await createSigningKey('access_token', 'ES256', KEK, META.now);
        await w.storage.db.insertInto('signing_keys').values(other).execute();
        assert.ok(
          !(await publishedSoftwareStatementJwks(w.storage.db, later)).keys.some((k) => k.kid === other.kid),
        );
      } finally {
        await w.storage.close();
      }
    });
  });
}
