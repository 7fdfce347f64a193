import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import { tokenEndpointCache } from '../../src/authorization-server/token-endpoint/directory-cache.ts';
import {
  applyCatalog,
  approveOrganisationRole,
  createApplication,
  createOrganisation,
  grantApplicationRole,
  readCatalog,
  revokeApplicationRole,
  setApplicationStatus,
  setOrganisationStatus,
} from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { csrWithKey, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
const silent = pino({ level: 'silent' });

interface Partner {
  orgId: string;
  clientId: string;
  serial: string;
  agent: Agent;
}

interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  scopes: string[];
}

/**
 * Issue 16: the token endpoint keeps what it reads about a client and its certificate between requests, and
 * every access-affecting change (suspension, revocation, role grants, catalog edits) is honoured by the very
 * next token request: each test changes one thing through the directory or the CA and asks for a token at once.
 */
for (const target of await engineTargets()) {
  describe(`token endpoint cache (${target.name})`, { skip: target.skip, timeout: 60_000 }, () => {
    let storage: Storage;
    let ca: CertificateAuthority;
    let server: Server;
    let tokenUrl: string;
    const agents: Agent[] = [];
    const fetcher = testPartnerFetcher();
    let now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const meta = () => ({ actor: 'operator:test', now });

    async function partner(name: string, roles: string[]): Promise<Partner> {
      const orgId = await storage.transaction((tx) => createOrganisation(tx, { name }, meta()));
      for (const role of ['partner_reader', 'partner_writer', 'partner_analyst']) {
        await storage.transaction((tx) => approveOrganisationRole(tx, { orgId, role }, meta()));
      }
      const clientId = await storage.transaction((tx) =>
        createApplication(tx, { orgId, name, roles, authMethod: 'tls_client_auth' }, meta()),
      );
      const { csrPem, keyPem } = await csrWithKey();
      const view = await storage.transaction((tx) => ca.issue(tx, { clientId, csrPem }, meta()));
      const agent = new Agent({ connect: { ca: ca.chainPem, cert: view.certificate_pem, key: keyPem } });
      agents.push(agent);
      return { orgId, clientId, serial: view.serial, agent };
    }

    async function token(p: Partner): Promise<TokenAnswer> {
      const response = await undiciFetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: p.clientId }).toString(),
        dispatcher: p.agent,
      });
      const body = (await response.json()) as Record<string, unknown>;
      const scopes =
        typeof body.access_token === 'string'
          ? String(decodeJwt(body.access_token).scope ?? '')
              .split(' ')
              .filter(Boolean)
              .sort()
          : [];
      return { status: response.status, body, scopes };
    }

    async function ok(p: Partner): Promise<TokenAnswer> {
      const answer = await token(p);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer;
    }

    async function refused(p: Partner, description: RegExp | undefined = undefined): Promise<void> {
      const answer = await token(p);
      assert.equal(answer.status, 401, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'invalid_client');
      assert.equal(answer.body.access_token, undefined);
      if (description) assert.match(String(answer.body.error_description), description);
    }

    before(async () => {
      storage = await seededStorage(target);
      ca = await installCa(storage);
      await storage.db
        .insertInto('signing_keys')
        .values(await createSigningKey('access_token', 'ES256', KEK, now))
        .execute();
      const tls = await serverTlsFrom(ca);
      server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false, ca: ca.chainPem });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
      tokenUrl = `${baseUrl}/token`;
      const as = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => now,
        logger: silent,
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: AUDIENCE,
        accessTokenTtlSeconds: 300,
        trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
        trustedProxies: [],
        fetcher,
      });
      server.on('request', as.handle);
      // As the platform does: the authorization server's process follows the change feed.
      await storage.feed.start();
    });

    after(async () => {
      for (const agent of agents) await agent.close();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await storage?.close();
      await fetcher.close();
      await target.cleanup();
    });

    test('ok/the cache keeps what it read: a row changed behind the change feed’s back is not seen', async () => {
      // Proves the entries are really kept (so the tests below test invalidation, not a database read).
      const p = await partner('Kept Ltd', ['partner_reader']);
      assert.equal(tokenEndpointCache(storage).active, true);
      assert.deepEqual((await ok(p)).scopes, ['accounts:read']);
      await storage.db
        .updateTable('applications')
        .set({ status: 'suspended' })
        .where('client_id', '=', p.clientId)
        .execute();
      await ok(p);
      // Any change on the feed drops every entry (here: another organisation created): now the suspension is seen.
      await storage.transaction((tx) => createOrganisation(tx, { name: 'Unrelated Ltd' }, meta()));
      await refused(p);
    });

    test('fail/an application suspended is refused on the very next token request, and admitted when resumed', async () => {
      const p = await partner('Suspended App Ltd', ['partner_reader']);
      await ok(p);
      await ok(p);
      await storage.transaction((tx) => setApplicationStatus(tx, p.clientId, 'suspended', meta()));
      await refused(p);
      await storage.transaction((tx) => setApplicationStatus(tx, p.clientId, 'active', meta()));
      await ok(p);
    });

    test('fail/an organisation suspended is refused on the very next token request', async () => {
      const p = await partner('Suspended Org Ltd', ['partner_reader']);
      await ok(p);
      await storage.transaction((tx) => setOrganisationStatus(tx, p.orgId, 'suspended', meta()));
      await refused(p);
      await storage.transaction((tx) => setOrganisationStatus(tx, p.orgId, 'active', meta()));
      await ok(p);
    });

    test('fail/a certificate revoked authenticates nothing from the very next token request', async () => {
      const p = await partner('Revoked Ltd', ['partner_reader']);
      await ok(p);
      await ok(p);
      await storage.transaction((tx) => ca.revoke(tx, p.serial, 'keyCompromise', meta()));
      await refused(p, /revoked/);
    });

    test('ok/a role removed or granted changes the scopes of the very next token', async () => {
      const p = await partner('Roles Ltd', ['partner_reader', 'partner_analyst']);
      assert.deepEqual((await ok(p)).scopes, ['accounts:read', 'reports:download']);
      await storage.transaction((tx) =>
        revokeApplicationRole(tx, { clientId: p.clientId, role: 'partner_analyst' }, meta()),
      );
      assert.deepEqual((await ok(p)).scopes, ['accounts:read']);
      // Asking for a scope of the removed role is refused (RFC 6749 §5.2 invalid_scope).
      const asked = await undiciFetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: p.clientId,
          scope: 'reports:download',
        }).toString(),
        dispatcher: p.agent,
      });
      assert.equal(asked.status, 400);
      assert.equal(((await asked.json()) as { error?: string }).error, 'invalid_scope');
      await storage.transaction((tx) =>
        grantApplicationRole(tx, { clientId: p.clientId, role: 'partner_writer' }, meta()),
      );
      assert.deepEqual((await ok(p)).scopes, ['accounts:read', 'accounts:write', 'payments:submit']);
    });

    test('ok/a time-bound role grant stops granting at its end, with no change published', async () => {
      const p = await partner('Time Bound Ltd', ['partner_reader']);
      const end = new Date(now.getTime() + 60_000).toISOString();
      await storage.transaction((tx) =>
        grantApplicationRole(tx, { clientId: p.clientId, role: 'partner_analyst', expiresAt: end }, meta()),
      );
      assert.deepEqual((await ok(p)).scopes, ['accounts:read', 'reports:download']);
      const before = now;
      try {
        now = new Date(now.getTime() + 61_000);
        assert.deepEqual((await ok(p)).scopes, ['accounts:read']);
      } finally {
        now = before;
      }
    });

    test('ok/a role’s scopes edited in the catalog change the very next token', async () => {
      const p = await partner('Catalog Ltd', ['partner_reader']);
      assert.deepEqual((await ok(p)).scopes, ['accounts:read']);
      await storage.transaction(async (tx) => {
        const doc = await readCatalog(tx.db);
        const role = doc.roles.find((r) => r.name === 'partner_reader');
        assert.ok(role);
        role.scopes = [...role.scopes, 'reports:download'];
        await applyCatalog(
          tx,
          doc,
          { ...meta(), source: 'manual' },
          { action: 'catalog.test', targetType: 'catalog', targetId: 'token-cache' },
        );
      });
      assert.deepEqual((await ok(p)).scopes, ['accounts:read', 'reports:download']);
    });
  });
}
