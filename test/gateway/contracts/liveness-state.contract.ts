import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  createApplication,
  deregisterApplication,
  offboardOrganisation,
  setApplicationStatus,
  setOrganisationStatus,
  updateRegisteredApplication,
} from '../../../src/directory/index.ts';
import type { FeedChange, LivenessState } from '../../../src/gateway/index.ts';
import type { CertificateAuthority } from '../../../src/pki/index.ts';
import { CHANGE_KINDS, publishChange, type Storage } from '../../../src/storage/index.ts';
import { createPartner, type Partner } from '../../support/ca-fixture.ts';
import { csrWithKey, selfSignedCredential } from '../fixture.ts';

/** A LivenessState kept current from the subject's storage by one feeder (in-process, over HTTPS, …). */
export interface FedLivenessState {
  state: LivenessState;
  /** Resolves once the state has applied every change committed before the call. */
  settle(): Promise<void>;
}

/** A seeded directory with an installed CA, and the implementation's way of feeding a LivenessState from it. */
export interface LivenessStateSubject {
  storage: Storage;
  ca: CertificateAuthority;
  /** A new state fed from now on: its snapshot holds everything committed so far. */
  follow(): Promise<FedLivenessState>;
  /** Closes every state it fed, then the storage. */
  close(): Promise<void>;
}

export interface LivenessStateContractOptions {
  /** Names the feeder (and engine) in the test titles. */
  name: string;
  /** A reason to skip, e.g. an engine not reachable here. */
  skip?: string | false;
  create: () => Promise<LivenessStateSubject>;
  /** Runs once after the suite, e.g. to drop the engine's databases. */
  cleanup?: () => Promise<void>;
}

const meta = () => ({ actor: 'operator:test', now: new Date() });
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function withSubject(
  create: LivenessStateContractOptions['create'],
  body: (s: LivenessStateSubject, world: World) => Promise<void>,
): Promise<void> {
  const subject = await create();
  try {
    await body(subject, await world(subject));
  } finally {
    await subject.close();
  }
}

interface World {
  acme: Partner;
  globex: Partner;
  issue(clientId: string): Promise<{ serial: string; x5t_s256: string }>;
  revokeToken(jti: string, exp: number): Promise<void>;
  selfSigned(orgId: string, name: string, registrationType?: 'manual' | 'dynamic'): Promise<SelfSignedApp>;
}

interface SelfSignedApp {
  clientId: string;
  x5tS256: string;
}

async function world({ storage, ca }: LivenessStateSubject): Promise<World> {
  const acme = await createPartner(storage, 'Acme Bank');
  const globex = await createPartner(storage, 'Globex');
  return {
    acme,
    globex,
    async issue(clientId) {
      const { csrPem } = await csrWithKey();
      return storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta()));
    },
    async revokeToken(jti, exp) {
      await storage.transaction((tx) =>
        publishChange(
          tx,
          { kind: CHANGE_KINDS.tokenRevoked, entityId: jti, payload: { jti, exp, client_id: acme.clientId } },
          new Date(),
        ),
      );
    },
    async selfSigned(orgId, name, registrationType = 'manual') {
      const cred = await selfSignedCredential(name);
      const clientId = await storage.transaction((tx) =>
        createApplication(
          tx,
          {
            orgId,
            name,
            roles: ['partner_reader'],
            authMethod: 'self_signed_tls_client_auth',
            metadata: { jwks: { keys: [cred.jwk] } },
            registrationType,
          },
          meta(),
        ),
      );
      return { clientId, x5tS256: cred.x5tS256 };
    },
  };
}

/** Every committed change, as the feed carries it. */
async function committedChanges(storage: Storage): Promise<FeedChange[]> {
  const rows = await storage.db.selectFrom('change_feed').selectAll().orderBy('seq').execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    at: r.at,
    kind: r.kind,
    entityId: r.entity_id,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  }));
}

/** What the gateway can ask the state about these ids, for comparing two moments. */
function observe(
  state: LivenessState,
  ids: { clients: string[]; orgs: string[]; certs: string[]; jtis: string[] },
): unknown {
  return {
    clients: ids.clients.map((id) => state.client(id)),
    orgs: ids.orgs.map((id) => state.orgStatus(id)),
    certs: ids.certs.map((x5t) => ({
      revoked: state.isCertificateRevoked(x5t),
      issuedTo: state.issuedCertificateOwner(x5t),
      selfSignedOwner: state.selfSignedOwner(x5t)?.clientId,
    })),
    jtis: ids.jtis.map((jti) => state.isTokenRevoked(jti)),
  };
}

/**
 * The behaviour every feeder of the gateway's `LivenessState` owes it: the snapshot, then each change kind,
 * so the gateway refuses a suspended, offboarded, deleted or revoked caller on the very next request.
 */
export function runLivenessStateContract({
  name,
  skip = false,
  create,
  cleanup,
}: LivenessStateContractOptions): void {
  describe(`LivenessState contract: ${name}`, { skip }, () => {
    if (cleanup) after(cleanup);

    test('ok/snapshot: organisations, applications, issued and revoked certificates, live revoked tokens', () =>
      withSubject(create, async ({ storage, ca, follow }, w) => {
        const selfSigned = await w.selfSigned(w.acme.orgId, 'Self-signed');
        const dynamicId = await storage.transaction((tx) =>
          createApplication(
            tx,
            {
              orgId: w.acme.orgId,
              name: 'Registered by software',
              roles: ['partner_reader'],
              authMethod: 'tls_client_auth',
              metadata: { software_id: w.acme.clientId },
              registrationType: 'dynamic',
            },
            meta(),
          ),
        );
        const revoked = await w.issue(w.acme.clientId);
        const active = await w.issue(w.globex.clientId);
        await storage.transaction((tx) => ca.revoke(tx, revoked.serial, 'keyCompromise', meta()));
        await storage.transaction((tx) => setOrganisationStatus(tx, w.globex.orgId, 'suspended', meta()));
        await w.revokeToken('live', nowSeconds() + 300);
        await w.revokeToken('long-gone', nowSeconds() - 3600);

        const { state } = await follow();
        assert.equal(state.orgStatus(w.acme.orgId), 'active');
        assert.equal(state.orgStatus(w.globex.orgId), 'suspended');
        assert.deepEqual(state.client(w.acme.clientId), {
          clientId: w.acme.clientId,
          orgId: w.acme.orgId,
          status: 'active',
          authMethod: 'tls_client_auth',
          selfSignedX5t: [],
          certificateApps: [],
          // Issue 15: clients registered by operators are production applications.
          environment: 'production',
        });
        assert.deepEqual(state.client(selfSigned.clientId)?.selfSignedX5t, [selfSigned.x5tS256]);
        assert.equal(state.client(selfSigned.clientId)?.authMethod, 'self_signed_tls_client_auth');
        assert.equal(state.selfSignedOwner(selfSigned.x5tS256)?.clientId, selfSigned.clientId);
        assert.deepEqual(state.client(dynamicId)?.certificateApps, [w.acme.clientId]);
        assert.equal(state.issuedCertificateOwner(active.x5t_s256), w.globex.clientId);
        assert.equal(state.isCertificateRevoked(active.x5t_s256), false);
        assert.equal(state.issuedCertificateOwner(revoked.x5t_s256), w.acme.clientId, 'revoked, still known');
        assert.equal(state.isCertificateRevoked(revoked.x5t_s256), true);
        assert.equal(state.isTokenRevoked('live'), true);
        assert.equal(state.isTokenRevoked('long-gone'), false, 'long expired: dropped');
      }));

    test('fail/an unknown client, organisation, certificate or token stays unknown through every change', () =>
      withSubject(create, async ({ storage, ca, follow }, w) => {
        const { state, settle } = await follow();
        const cert = await w.issue(w.acme.clientId);
        await storage.transaction((tx) => ca.revoke(tx, cert.serial, 'superseded', meta()));
        await w.selfSigned(w.globex.orgId, 'Other');
        await w.revokeToken('j-known', nowSeconds() + 60);
        await storage.transaction((tx) => setOrganisationStatus(tx, w.globex.orgId, 'suspended', meta()));
        await settle();
        assert.equal(state.client('cl_nobody'), undefined);
        assert.equal(state.orgStatus('org_nobody'), undefined);
        assert.equal(state.selfSignedOwner('x5t-nobody'), undefined);
        assert.equal(state.issuedCertificateOwner('x5t-nobody'), undefined);
        assert.equal(state.isCertificateRevoked('x5t-nobody'), false);
        assert.equal(state.isTokenRevoked('j-nobody'), false);
        assert.equal(state.client(cert.x5t_s256), undefined, 'a certificate is not a client');
      }));

    test('ok/org.status: suspended, then offboarded with its clients suspended and certificates revoked', () =>
      withSubject(create, async ({ storage, ca, follow }, w) => {
        const cert = await w.issue(w.globex.clientId);
        const { state, settle } = await follow();
        await storage.transaction((tx) => setOrganisationStatus(tx, w.globex.orgId, 'suspended', meta()));
        await settle();
        assert.equal(state.orgStatus(w.globex.orgId), 'suspended');
        await storage.transaction((tx) =>
          offboardOrganisation(
            tx,
            w.globex.orgId,
            (t, orgId) => ca.revokeAllOfOrganisation(t, orgId, 'cessationOfOperation', meta()),
            meta(),
          ),
        );
        await settle();
        assert.equal(state.orgStatus(w.globex.orgId), 'offboarded');
        assert.equal(state.client(w.globex.clientId)?.status, 'suspended');
        assert.equal(state.isCertificateRevoked(cert.x5t_s256), true);
        assert.equal(state.orgStatus(w.acme.orgId), 'active', 'another organisation is untouched');
        assert.equal(state.client(w.acme.clientId)?.status, 'active');
      }));

    test('ok/app.status: suspended; deleted releases its self-signed certificate, live and in a new snapshot', () =>
      withSubject(create, async ({ storage, follow }, w) => {
        const gone = await w.selfSigned(w.acme.orgId, 'Gone soon');
        const { state, settle } = await follow();
        await storage.transaction((tx) => setApplicationStatus(tx, w.acme.clientId, 'suspended', meta()));
        await settle();
        assert.equal(state.client(w.acme.clientId)?.status, 'suspended');
        assert.equal(state.client(w.acme.clientId)?.authMethod, 'tls_client_auth', 'the rest is kept');
        assert.equal(state.selfSignedOwner(gone.x5tS256)?.clientId, gone.clientId);
        await storage.transaction((tx) =>
          deregisterApplication(tx, gone.clientId, { ...meta(), reason: 'test' }),
        );
        await settle();
        assert.equal(state.client(gone.clientId)?.status, 'deleted');
        assert.equal(state.selfSignedOwner(gone.x5tS256), undefined, 'from the change');
        const restarted = await follow();
        assert.equal(restarted.state.client(gone.clientId)?.status, 'deleted');
        assert.equal(restarted.state.selfSignedOwner(gone.x5tS256), undefined, 'from the snapshot');
      }));

    test('ok/app.registered adds a client, and a key change replaces its self-signed certificates', () =>
      withSubject(create, async ({ storage, follow }, w) => {
        const { state, settle } = await follow();
        const app = await w.selfSigned(w.acme.orgId, 'Registered', 'dynamic');
        await settle();
        assert.deepEqual(state.client(app.clientId), {
          clientId: app.clientId,
          orgId: w.acme.orgId,
          status: 'active',
          authMethod: 'self_signed_tls_client_auth',
          selfSignedX5t: [app.x5tS256],
          certificateApps: [],
          environment: 'production',
        });
        assert.equal(state.selfSignedOwner(app.x5tS256)?.clientId, app.clientId);
        const rotated = await selfSignedCredential('rotated');
        await storage.transaction((tx) =>
          updateRegisteredApplication(
            tx,
            app.clientId,
            {
              authMethod: 'self_signed_tls_client_auth',
              metadata: { jwks: { keys: [rotated.jwk] }, software_id: w.acme.clientId },
              roles: ['partner_reader'],
            },
            meta(),
          ),
        );
        await settle();
        assert.equal(state.selfSignedOwner(app.x5tS256), undefined, 'a rotated-out certificate is released');
        assert.equal(state.selfSignedOwner(rotated.x5tS256)?.clientId, app.clientId);
        assert.deepEqual(state.client(app.clientId)?.certificateApps, [w.acme.clientId]);
      }));

    test('ok/cert.issued names its application; cert.revoked revokes it', () =>
      withSubject(create, async ({ storage, ca, follow }, w) => {
        const { state, settle } = await follow();
        const cert = await w.issue(w.acme.clientId);
        await settle();
        assert.equal(state.issuedCertificateOwner(cert.x5t_s256), w.acme.clientId);
        assert.equal(state.isCertificateRevoked(cert.x5t_s256), false);
        await storage.transaction((tx) => ca.revoke(tx, cert.serial, 'keyCompromise', meta()));
        await settle();
        assert.equal(state.isCertificateRevoked(cert.x5t_s256), true);
        assert.equal(state.issuedCertificateOwner(cert.x5t_s256), w.acme.clientId);
      }));

    test('ok/token.revoked: the jti is refused from then on', () =>
      withSubject(create, async ({ follow }, w) => {
        const { state, settle } = await follow();
        assert.equal(state.isTokenRevoked('j1'), false);
        await w.revokeToken('j1', nowSeconds() + 60);
        await settle();
        assert.equal(state.isTokenRevoked('j1'), true);
      }));

    test('ok/applying a change twice is harmless: every committed change again, each twice, changes nothing', () =>
      withSubject(create, async ({ storage, ca, follow }, w) => {
        const { state, settle } = await follow();
        const gone = await w.selfSigned(w.acme.orgId, 'Gone', 'dynamic');
        const kept = await w.selfSigned(w.globex.orgId, 'Kept', 'dynamic');
        const cert = await w.issue(w.acme.clientId);
        const other = await w.issue(w.globex.clientId);
        await storage.transaction((tx) => ca.revoke(tx, cert.serial, 'superseded', meta()));
        await storage.transaction((tx) => setApplicationStatus(tx, w.acme.clientId, 'suspended', meta()));
        await storage.transaction((tx) =>
          deregisterApplication(tx, gone.clientId, { ...meta(), reason: 'test' }),
        );
        await storage.transaction((tx) => setOrganisationStatus(tx, w.globex.orgId, 'suspended', meta()));
        await w.revokeToken('j2', nowSeconds() + 60);
        await settle();
        const ids = {
          clients: [w.acme.clientId, w.globex.clientId, gone.clientId, kept.clientId],
          orgs: [w.acme.orgId, w.globex.orgId],
          certs: [cert.x5t_s256, other.x5t_s256, gone.x5tS256, kept.x5tS256],
          jtis: ['j2'],
        };
        const once = observe(state, ids);
        const changes = await committedChanges(storage);
        assert.ok(changes.length >= 9);
        for (const change of changes) {
          state.apply(change);
          state.apply(change);
        }
        assert.deepEqual(observe(state, ids), once);
      }));
  });
}
