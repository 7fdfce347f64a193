import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { createAuthorizationServer } from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { GuardedFetcher } from '../../src/shared/guarded-fetch/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { type CountingServer, startCountingServer } from '../support/counting-server.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();
const ISSUER = 'https://as.accredit.test';
const silent = pino({ level: 'silent' });

// A client's jwks_uri is fetched by the authorization server when the client authenticates with private_key_jwt
// (RFC 7523 §2.2). It is a partner's word: a stored one pointing inside the network (registered before the
// registration-time check, or by DNS rebinding since) is never connected to without the operator's allow switch.
for (const target of targets) {
  describe(`the authorization server fetches a client's jwks_uri only through the guarded fetcher: ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    let storage: Storage;
    let ca: CertificateAuthority;
    let keys: CountingServer;
    const servers: Server[] = [];
    const fetchers: GuardedFetcher[] = [];
    let anonymous: Agent;
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const meta = { actor: 'operator:test', now };
    const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let clientId: string;

    /** An authorization server with its own partner fetcher, listening on 127.0.0.1; returns its base URL. */
    async function listen(fetcher: GuardedFetcher): Promise<string> {
      fetchers.push(fetcher);
      const server = createServer({
        ...(await serverTlsFrom(ca)),
        requestCert: true,
        rejectUnauthorized: false,
        ca: ca.chainPem,
        minVersion: 'TLSv1.2',
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
      const as = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => now,
        logger: silent,
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: 'https://api.accredit.test',
        accessTokenTtlSeconds: 300,
        trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
        trustedProxies: [],
        fetcher,
      });
      server.on('request', as.handle);
      return baseUrl;
    }

    before(async () => {
      storage = await seededStorage(target);
      ca = await installCa(storage);
      await storage.db
        .insertInto('signing_keys')
        .values(await createSigningKey('access_token', 'ES256', KEK, now))
        .execute();
      keys = await startCountingServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [{ ...clientKey.publicKey.export({ format: 'jwk' }), kid: 'k1' }] }));
      });
      const orgId = await storage.transaction((tx) =>
        createOrganisation(tx, { name: 'Acme', roles: ['partner_reader'] }, meta),
      );
      // Stored directly, as a registration from before the registration-time check could have left it.
      clientId = await storage.transaction((tx) =>
        createApplication(
          tx,
          {
            orgId,
            name: 'Keys by reference',
            roles: ['partner_reader'],
            authMethod: 'private_key_jwt',
            metadata: { jwks_uri: `${keys.url}/jwks` },
          },
          meta,
        ),
      );
      anonymous = new Agent({ connect: { ca: ca.chainPem } });
    });

    after(async () => {
      await anonymous?.close();
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      for (const fetcher of fetchers) await fetcher.close();
      await keys?.close();
      await storage?.close();
      await target.cleanup();
    });

    /** client_credentials with a private_key_jwt client assertion (RFC 7523 §2.2), no client certificate. */
    async function token(baseUrl: string): Promise<{ status: number; body: Record<string, unknown> }> {
      const iat = Math.floor(now.getTime() / 1000);
      const assertion = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(ISSUER)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 60)
        .sign(clientKey.privateKey);
      const response = await undiciFetch(`${baseUrl}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }).toString(),
        dispatcher: anonymous,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }

    test('ok/with allowLoopback (development) the keys are fetched and the client authenticates', async () => {
      const baseUrl = await listen(testPartnerFetcher({ allowLoopback: true, ca: keys.caPem }));
      const before = keys.connections();
      const r = await token(baseUrl);
      assert.ok(keys.connections() > before, 'the jwks_uri server was reached');
      // Authenticated with the fetched key: what stops it now is the certificate binding (RFC 8705 §3).
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error, 'invalid_grant');
    });

    test('fail/without allowLoopback a loopback jwks_uri is never connected to: 401 invalid_client', async () => {
      const baseUrl = await listen(testPartnerFetcher({ ca: keys.caPem }));
      const before = keys.connections();
      const r = await token(baseUrl);
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.equal(r.body.error, 'invalid_client');
      assert.equal(keys.connections(), before, 'no connection reached the loopback server');
    });
  });
}
