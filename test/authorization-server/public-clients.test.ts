import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  type AuthorizationServer,
  accountStore,
  createAuthorizationServer,
} from '../../src/authorization-server/index.ts';
import { createApplication, createOrganisation, issueSoftwareStatement } from '../../src/directory/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createSigningKey } from '../../src/platform/signing-keys.ts';
import type { Storage } from '../../src/storage/index.ts';
import { capturingLogger, serverTlsFrom } from '../gateway/fixture.ts';
import { installCa, KEK } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';
import { obtainAuthorizationCode } from './support/obtain-authorization-code.ts';

// Public clients (auth method `none`) with DPoP-bound refresh tokens (RFC 9449 §5), over real TLS, on both
// engines (refresh tokens and grants live in storage), with oauth4webapi as the client: PAR + PKCE + DPoP, the
// end user signing in on the real pages, refresh rotation (RFC 9700 §4.14.2) and every refusal.

const targets = await engineTargets();
const ISSUER = 'https://as.accredit.test';
const AUDIENCE = 'https://api.accredit.test';
const CALLBACK = 'https://app.acme.example/cb';
const USER = { username: 'alice@acme.example', password: 'correct horse battery staple' };

type KeyPair = webcrypto.CryptoKeyPair;
const ecKeys = async (): Promise<KeyPair> =>
  (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as KeyPair;
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

/** Runs an oauth4webapi call, once more when the server asked for a DPoP nonce (RFC 9449 §8). */
async function withNonceRetry<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return call();
  }
}

/** The OAuth error an oauth4webapi call was refused with. */
async function refusal(call: () => Promise<unknown>): Promise<{ error: string; description?: string }> {
  try {
    await call();
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError)
      return { error: err.error, description: err.error_description };
    throw err;
  }
  assert.fail('the request was not refused');
}

for (const target of targets) {
  describe(`public clients with DPoP-bound refresh tokens: ${target.name}`, {
    skip: target.skip,
    timeout: 120_000,
  }, () => {
    let storage: Storage;
    const partnerFetcher = testPartnerFetcher();
    let ca: CertificateAuthority;
    let server: Server;
    let baseUrl: string;
    let anonymous: Agent;
    let orgId: string;
    let clientId: string;
    let as: oauth.AuthorizationServer;
    let authorizationServer: AuthorizationServer;
    const meta = { actor: 'operator:test', now: new Date() };

    const customFetch = (url: string, init?: RequestInit): Promise<Response> =>
      undiciFetch(url, { ...init, dispatcher: anonymous } as Parameters<
        typeof undiciFetch
      >[1]) as unknown as Promise<Response>;
    const client = (): oauth.Client => ({ client_id: clientId, use_mtls_endpoint_aliases: true });
    const auth = oauth.None();

    const register = (metadata: Record<string, unknown>, name: string, registrationType?: 'dynamic') =>
      storage.transaction((tx) =>
        createApplication(
          tx,
          {
            orgId,
            name,
            roles: ['partner_reader'],
            authMethod: 'none',
            ...(registrationType && { registrationType }),
            metadata,
          },
          meta,
        ),
      );

    before(async () => {
      storage = await seededStorage(target);
      ca = await installCa(storage);
      await storage.db
        .insertInto('signing_keys')
        .values([await createSigningKey('access_token', 'ES256', KEK, meta.now)])
        .execute();
      orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
      await accountStore(storage.db, KEK).add(USER, meta.now);
      clientId = await register(
        { grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [CALLBACK] },
        'Mobile app',
      );
      const tls = await serverTlsFrom(ca);
      server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false, ca: ca.chainPem });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `https://localhost:${(server.address() as AddressInfo).port}`;
      anonymous = new Agent({ connect: { ca: ca.chainPem } });
      authorizationServer = await createAuthorizationServer({
        storage,
        kek: KEK,
        clock: () => new Date(),
        logger: capturingLogger().logger,
        issuer: ISSUER,
        mtlsUrl: baseUrl,
        audience: AUDIENCE,
        accessTokenTtlSeconds: 300,
        trustedCas: ca.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
        trustedProxies: [],
        fetcher: partnerFetcher,
        // The platform's profile is on: the public client is exempt by rule, not by its own metadata.
        fapi: { profile: '2.0' },
      });
      server.on('request', authorizationServer.handle);
      as = await oauth.processDiscoveryResponse(
        new URL(ISSUER),
        await customFetch(`${baseUrl}/.well-known/oauth-authorization-server`),
      );
    });

    after(async () => {
      await anonymous?.close();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await partnerFetcher.close();
      await storage?.close();
      await target.cleanup();
    });

    /** PAR (+ DPoP when given) → sign-in and consent on the real pages → the code's callback parameters. */
    async function authorize(DPoP?: oauth.DPoPHandle) {
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const params = new URLSearchParams({
        response_type: 'code',
        redirect_uri: CALLBACK,
        scope: 'accounts:read',
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const pushed = await withNonceRetry(async () =>
        oauth.processPushedAuthorizationResponse(
          as,
          client(),
          await oauth.pushedAuthorizationRequest(as, client(), auth, params, {
            ...(DPoP && { DPoP }),
            [oauth.customFetch]: customFetch,
          }),
        ),
      );
      const { params: redirect } = await obtainAuthorizationCode({
        baseUrl,
        clientId,
        requestUri: pushed.request_uri,
        dispatcher: anonymous,
        ...USER,
      });
      return { verifier, callback: oauth.validateAuthResponse(as, client(), redirect, state) };
    }

    /** The whole code flow with one DPoP key: the token response. */
    async function codeFlow(keys: KeyPair) {
      const DPoP = oauth.DPoP(client(), keys);
      const { verifier, callback } = await authorize(DPoP);
      const tokens = await withNonceRetry(async () =>
        oauth.processAuthorizationCodeResponse(
          as,
          client(),
          await oauth.authorizationCodeGrantRequest(as, client(), auth, callback, CALLBACK, verifier, {
            DPoP,
            [oauth.customFetch]: customFetch,
          }),
        ),
      );
      return { DPoP, tokens };
    }

    const refresh = (refreshToken: string, DPoP?: oauth.DPoPHandle) =>
      withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(
          as,
          client(),
          await oauth.refreshTokenGrantRequest(as, client(), auth, refreshToken, {
            ...(DPoP && { DPoP }),
            [oauth.customFetch]: customFetch,
          }),
        ),
      );

    test('ok/discovery offers none; the client loads DPoP-bound and outside FAPI 2.0 although the platform is on', async () => {
      assert.ok(as.token_endpoint_auth_methods_supported?.includes('none'));
      assert.ok(as.revocation_endpoint_auth_methods_supported?.includes('none'));
      const loaded = await authorizationServer.provider.Client.find(clientId);
      assert.ok(loaded);
      assert.equal(loaded.clientAuthMethod, 'none');
      assert.equal(loaded.dpopBoundAccessTokens, true);
      assert.equal(loaded.tlsClientCertificateBoundAccessTokens, false);
      assert.deepEqual(loaded.grantTypes, ['authorization_code', 'refresh_token']);
      const metadata = loaded.metadata() as Record<string, unknown>;
      assert.equal(metadata.fapi_profile, 'off');
      assert.notEqual(metadata.require_pushed_authorization_requests, true);
    });

    test('ok/code flow with PAR + PKCE + DPoP → DPoP-bound tokens; refresh with the same key rotates; reuse revokes', async () => {
      const keys = await ecKeys();
      const jkt = await calculateJwkThumbprint(await exportJWK(keys.publicKey));
      const { DPoP, tokens } = await codeFlow(keys);
      assert.equal(tokens.token_type, 'dpop');
      assert.deepEqual(claimsOf(tokens.access_token).cnf, { jkt });
      assert.equal(claimsOf(tokens.access_token).client_id, clientId);
      assert.ok(tokens.refresh_token);

      // RFC 9449 §5: the refresh token is bound to the same key (introspection by its own client shows cnf.jkt).
      const introspected = await oauth.processIntrospectionResponse(
        as,
        client(),
        await oauth.introspectionRequest(as, client(), auth, tokens.refresh_token, {
          [oauth.customFetch]: customFetch,
        }),
      );
      assert.equal(introspected.active, true);
      assert.deepEqual(introspected.cnf, { jkt });

      const refreshed = await refresh(tokens.refresh_token, DPoP);
      assert.equal(refreshed.token_type, 'dpop');
      assert.deepEqual(claimsOf(refreshed.access_token).cnf, { jkt });
      // RFC 9700 §4.14.2: rotated on use.
      assert.ok(refreshed.refresh_token);
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

      // The old refresh token is refused; its reuse revokes the grant, so the new one is refused too.
      assert.deepEqual(await refusal(() => refresh(tokens.refresh_token!, DPoP)), {
        error: 'invalid_grant',
        description: 'grant request is invalid',
      });
      assert.deepEqual(await refusal(() => refresh(refreshed.refresh_token!, DPoP)), {
        error: 'invalid_grant',
        description: 'grant request is invalid',
      });
    });

    test('fail/refresh with another DPoP key, or without a proof → invalid_grant; the right key still works', async () => {
      const { DPoP, tokens } = await codeFlow(await ecKeys());
      const stranger = oauth.DPoP(client(), await ecKeys());
      // RFC 9449 §5: the refresh token is bound to the key of the original request ("failed jkt verification").
      assert.deepEqual(await refusal(() => refresh(tokens.refresh_token!, stranger)), {
        error: 'invalid_grant',
        description: 'grant request is invalid',
      });
      // No proof at all: the client is dpop_bound_access_tokens (RFC 9449 §5.2), "DPoP proof JWT not provided".
      assert.deepEqual(await refusal(() => refresh(tokens.refresh_token!)), {
        error: 'invalid_grant',
        description:
          'a DPoP proof is required: this client is registered with dpop_bound_access_tokens (RFC 9449 §5.2)',
      });
      // Neither refusal consumed it: the holder of the key refreshes.
      const refreshed = await refresh(tokens.refresh_token!, DPoP);
      assert.equal(refreshed.token_type, 'dpop');
    });

    test('fail/a public client without DPoP at the token endpoint → refused', async () => {
      const keys = await ecKeys();
      const { verifier, callback } = await authorize();
      const redeem = (DPoP?: oauth.DPoPHandle) =>
        withNonceRetry(async () =>
          oauth.processAuthorizationCodeResponse(
            as,
            client(),
            await oauth.authorizationCodeGrantRequest(as, client(), auth, callback, CALLBACK, verifier, {
              ...(DPoP && { DPoP }),
              [oauth.customFetch]: customFetch,
            }),
          ),
        );
      assert.deepEqual(await refusal(() => redeem()), {
        error: 'invalid_grant',
        description:
          'a DPoP proof is required: this client is registered with dpop_bound_access_tokens (RFC 9449 §5.2)',
      });
      // The refusal did not spend the code: redeemed with a proof, it yields a DPoP-bound token.
      const tokens = await redeem(oauth.DPoP(client(), keys));
      assert.equal(tokens.token_type, 'dpop');
    });

    test('fail/registration: none is for the code flow only, DPoP-bound, outside FAPI 2.0, operator-registered', async () => {
      const base = { grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [CALLBACK] };
      const cases: Array<[string, Record<string, unknown>, RegExp, 'dynamic'?]> = [
        [
          'client credentials (RFC 6749 §4.4)',
          { ...base, grant_types: ['authorization_code', 'client_credentials'] },
          /cannot use client_credentials/,
        ],
        [
          'no authorization code grant',
          { grant_types: ['client_credentials'] },
          /needs the authorization_code/,
        ],
        ['no grant types (client credentials by default)', {}, /needs the authorization_code/],
        ['FAPI 2.0', { ...base, fapi_profile: '2.0' }, /FAPI 2.0 admits confidential clients only/],
        ['not DPoP-bound', { ...base, dpop_bound_access_tokens: false }, /always has DPoP-bound tokens/],
        ['keys', { ...base, jwks: { keys: [] } }, /has no jwks/],
        ['dynamic registration', base, /auth method must be one of/, 'dynamic'],
      ];
      for (const [name, metadata, message, type] of cases) {
        await assert.rejects(register(metadata, `Refused ${name}`, type), message, name);
      }
      // Nor may a public client's application vouch for software at dynamic registration.
      await assert.rejects(
        storage.transaction((tx) =>
          issueSoftwareStatement(
            tx,
            {
              softwareId: clientId,
              issuer: 'https://as.accredit.test/directory',
              signer: undefined as never,
              certificateSubject: async () => undefined,
            },
            meta,
          ),
        ),
        /public client/,
      );
      // The operator's fapi_profile "off" is accepted (and changes nothing: the rule already exempts it).
      assert.ok(await register({ ...base, fapi_profile: 'off' }, 'Opted out'));
    });
  });
}
