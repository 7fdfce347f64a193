import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { JWT_TYPES, MEDIA_TYPES } from '../../src/federation/index.ts';
import type { TestEntity, Topology } from '../federation/support/topology.ts';
import { startFederatedPlatform } from '../support/federated-platform.ts';
import {
  opensslKeyAndRequest,
  type PlatformProcess,
  type RunResult,
  run,
} from '../support/platform-process.ts';

// OpenID Federation 1.0 §12.2 end to end: Trust Anchor (a live test entity) → Intermediate (the platform) →
// leaf (a partner's relying party). The leaf registers explicitly, gets a token, calls the gateway, and is
// refused the moment the platform removes its subordinate statement.
describe('federation registration end to end', { timeout: 240_000 }, () => {
  let topology: Topology;
  let platform: PlatformProcess;
  let ta: TestEntity;
  const f = (name: string) => join(platform.dir, name);
  const json = <T = Record<string, unknown>>(text: string) => JSON.parse(text) as T;
  const ids: Record<string, string> = {};
  let trustMarkType: string;

  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return json(r.stdout);
  };

  async function curl(args: string[]): Promise<RunResult & { status: number; body: string }> {
    const r = await run('curl', ['-sS', '--cacert', platform.caBundle, '-w', '\n%{http_code}', ...args]);
    const lines = r.stdout.trimEnd().split('\n');
    const status = Number(lines.pop());
    return { ...r, status, body: lines.join('\n') };
  }

  /** A partner relying party: a live entity under the platform, its self-signed client certificate in its RP metadata. */
  async function partner(name: string, options: { subordinate?: boolean; trustMark?: boolean } = {}) {
    const entity = await topology.addEntity(name);
    await opensslKeyAndRequest({
      key: f(`${name}.key`),
      out: f(`${name}.crt`),
      subject: `/CN=${name}`,
      selfSignedDays: 30,
    });
    const cert = new X509Certificate(readFileSync(f(`${name}.crt`)));
    entity.authorityHints.push(platform.url);
    entity.metadata.openid_relying_party = {
      client_name: `Federated ${name}`,
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      grant_types: ['client_credentials'],
      jwks: { keys: [{ ...cert.publicKey.export({ format: 'jwk' }), x5c: [cert.raw.toString('base64')] }] },
    };
    if (options.subordinate !== false) {
      writeFileSync(f(`${name}.fedjwks`), JSON.stringify(entity.jwks()));
      await cli([
        'federation',
        'subordinate',
        'add',
        '--entity-id',
        entity.entityId,
        '--org',
        ids.org!,
        '--jwks',
        f(`${name}.fedjwks`),
        '--entity-types',
        'openid_relying_party',
      ]);
    }
    if (options.trustMark !== false && options.subordinate !== false) {
      const issued = await cli([
        'federation',
        'trust-mark',
        'issue',
        '--type',
        trustMarkType,
        '--sub',
        entity.entityId,
      ]);
      ids[`mark:${name}`] = issued.id as string;
      const mark = await curl([
        `${platform.url}/federation/trust-mark?trust_mark_type=${encodeURIComponent(trustMarkType)}&sub=${encodeURIComponent(entity.entityId)}`,
      ]);
      assert.equal(mark.status, 200, mark.body);
      entity.addTrustMark(trustMarkType, mark.body);
    }
    return entity;
  }

  /** §12.2.1: the RP's Entity Configuration addressed to the OP. */
  async function registrationRequest(
    entity: TestEntity,
    extra: Record<string, unknown> = {},
    header?: Record<string, unknown>,
  ) {
    const now = topology.clock.seconds();
    return entity.sign(
      {
        iss: entity.entityId,
        sub: entity.entityId,
        iat: now - 10,
        exp: now + 3600,
        aud: platform.url,
        jwks: entity.jwks(),
        authority_hints: entity.authorityHints,
        metadata: entity.metadata,
        ...(entity.configuration.trust_marks ? { trust_marks: entity.configuration.trust_marks } : {}),
        ...extra,
      },
      JWT_TYPES.entityStatement,
      header ? { header } : undefined,
    );
  }

  const register = (body: string, contentType: string = MEDIA_TYPES.entityStatement) =>
    curl([
      '-X',
      'POST',
      '-H',
      `content-type: ${contentType}`,
      '--data-binary',
      body,
      `${platform.url}/federation/registration`,
    ]);

  const as = (name: string) => ['--cert', f(`${name}.crt`), '--key', f(`${name}.key`)];
  const tokenFor = (name: string, clientId: string) =>
    curl([
      ...as(name),
      `${platform.mtlsUrl}/token`,
      '-d',
      'grant_type=client_credentials',
      '-d',
      `client_id=${clientId}`,
    ]);
  const api = (name: string, token: string, path: string) =>
    curl([...as(name), '-H', `authorization: Bearer ${token}`, `${platform.gatewayUrl}${path}`]);

  before(async () => {
    ({ topology, ta, platform, trustMarkType } = await startFederatedPlatform());
    ids.org = (await cli(['org', 'create', '--name', 'Federated Bank'])).id as string;
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    await topology?.close();
  });

  test('ok/the platform publishes itself as an OP that accepts explicit registration', async () => {
    const ec = await curl([`${platform.url}/.well-known/openid-federation`]);
    const claims = json<{ metadata: Record<string, Record<string, unknown>>; authority_hints: string[] }>(
      Buffer.from(ec.body.split('.')[1]!, 'base64url').toString(),
    );
    assert.deepEqual(claims.authority_hints, [ta.entityId]);
    const op = claims.metadata.openid_provider!;
    assert.equal(op.issuer, platform.url);
    assert.deepEqual(op.client_registration_types_supported, ['automatic', 'explicit']);
    assert.equal(op.federation_registration_endpoint, `${platform.url}/federation/registration`);
  });

  test('ok/the Entity Configuration’s openid_provider is the discovery document, member for member (issue 9 item 14)', async () => {
    const ec = await curl([`${platform.url}/.well-known/openid-federation`]);
    const op = json<{ metadata: { openid_provider: Record<string, unknown> } }>(
      Buffer.from(ec.body.split('.')[1]!, 'base64url').toString(),
    ).metadata.openid_provider;
    const discovery = await curl([`${platform.url}/.well-known/openid-configuration`]);
    assert.equal(discovery.status, 200, discovery.body);
    // OpenID Connect Discovery 1.0 §3: REQUIRED, and missing from the hand-built copy this replaced.
    for (const member of ['subject_types_supported', 'id_token_signing_alg_values_supported']) {
      assert.notEqual(op[member], undefined, member);
    }
    const {
      client_registration_types_supported: _types,
      federation_registration_endpoint: _endpoint,
      ...rest
    } = op;
    assert.deepEqual(rest, json(discovery.body));
    // RFC 9449 §5.1: DPoP is advertised, asymmetric algorithms only (issue 14).
    assert.deepEqual(op.dpop_signing_alg_values_supported, ['ES256', 'ES384', 'PS256', 'EdDSA']);
  });

  test('ok/a leaf registers explicitly, gets a certificate-bound token and calls the gateway; removal stops it at once', async () => {
    const rp = await partner('rp');
    const response = await register(await registrationRequest(rp));
    assert.equal(response.status, 200, response.body);
    // §12.2.3: an explicit-registration-response+jwt signed with a current federation key of the OP.
    assert.equal(decodeProtectedHeader(response.body).typ, JWT_TYPES.explicitRegistrationResponse);
    const ec = await curl([`${platform.url}/.well-known/openid-federation`]);
    const keys = json<{ jwks: { keys: [] } }>(
      Buffer.from(ec.body.split('.')[1]!, 'base64url').toString(),
    ).jwks;
    const { payload } = await jwtVerify(response.body, createLocalJWKSet(keys), {
      issuer: platform.url,
      audience: rp.entityId,
      typ: JWT_TYPES.explicitRegistrationResponse,
    });
    assert.equal(payload.sub, rp.entityId);
    assert.equal(payload.trust_anchor, ta.entityId);
    assert.deepEqual(payload.authority_hints, [platform.url]);
    const registered = (payload.metadata as Record<string, Record<string, unknown>>).openid_relying_party!;
    assert.equal(registered.client_id, rp.entityId);
    assert.equal(registered.token_endpoint_auth_method, 'self_signed_tls_client_auth');
    assert.match(String(registered.scope), /accounts:read/);

    const app = await cli(['app', 'show', rp.entityId]);
    assert.equal(app.org_id, ids.org);
    assert.equal(app.registration_type, 'federation');

    const token = await tokenFor('rp', rp.entityId);
    assert.equal(token.status, 200, token.body);
    const accessToken = json<{ access_token: string }>(token.body).access_token;
    const ok = await api('rp', accessToken, '/v1/accounts');
    assert.equal(ok.status, 200, ok.body);
    assert.equal(json(ok.body).org_id, ids.org);

    await cli(['federation', 'subordinate', 'remove', rp.entityId]);
    const refused = await api('rp', accessToken, '/v1/accounts');
    assert.ok(refused.status === 401 || refused.status === 403, refused.body);
    // Step 1 already refuses: the self-signed certificate belongs to no active client any more.
    assert.ok(
      ['certificate_untrusted', 'client_deleted'].includes(String(json(refused.body).code)),
      refused.body,
    );
    const again = await tokenFor('rp', rp.entityId);
    assert.equal(json(again.body).error, 'invalid_client');
  });

  test('ok/revoking the Trust Mark that granted the roles ends the registration at once', async () => {
    const rp = await partner('rp-marked');
    assert.equal((await register(await registrationRequest(rp))).status, 200);
    const token = json<{ access_token: string }>(
      (await tokenFor('rp-marked', rp.entityId)).body,
    ).access_token;
    assert.equal((await api('rp-marked', token, '/v1/accounts')).status, 200);
    await cli(['federation', 'trust-mark', 'revoke', ids['mark:rp-marked']!]);
    const refused = await api('rp-marked', token, '/v1/accounts');
    assert.ok(refused.status === 401 || refused.status === 403, refused.body);
  });

  test('ok/a Trust Chain posted as application/trust-chain+json registers the leaf', async () => {
    const rp = await partner('rp-chain');
    const statement = await curl([`${platform.url}/federation/fetch?sub=${encodeURIComponent(rp.entityId)}`]);
    assert.equal(statement.status, 200, statement.body);
    const superior = await (
      await fetchInsecure(`${ta.fetchEndpoint}?sub=${encodeURIComponent(platform.url)}`)
    ).text();
    const anchor = await (await fetchInsecure(`${ta.entityId}/.well-known/openid-federation`)).text();
    const chain = [await registrationRequest(rp), statement.body, superior, anchor];
    const response = await register(JSON.stringify(chain), MEDIA_TYPES.trustChain);
    assert.equal(response.status, 200, response.body);
  });

  test('ok/a registration request carrying a trust_chain header (§12.2.1 step 8) registers the leaf', async () => {
    const rp = await partner('rp-header');
    const statement = await curl([`${platform.url}/federation/fetch?sub=${encodeURIComponent(rp.entityId)}`]);
    const hint = [await registrationRequest(rp), statement.body];
    const response = await register(await registrationRequest(rp, {}, { trust_chain: hint }));
    assert.equal(response.status, 200, response.body);
  });

  test('fail/registration requests that are not acceptable', async () => {
    const rp = await partner('rp-bad');
    const stranger = await partner('rp-stranger', { subordinate: false });
    const unmarked = await partner('rp-unmarked', { trustMark: false });
    const cases: Array<
      [string, () => Promise<RunResult & { status: number; body: string }>, number, string]
    > = [
      [
        'aud of another OP',
        async () => register(await registrationRequest(rp, { aud: 'https://op.example' })),
        400,
        'invalid_request',
      ],
      [
        'no aud',
        async () => register(await registrationRequest(rp, { aud: undefined })),
        400,
        'invalid_request',
      ],
      [
        'wrong content type',
        async () => register(await registrationRequest(rp), 'application/jwt'),
        400,
        'invalid_request',
      ],
      ['not a JWT', async () => register('not-a-jwt'), 400, 'invalid_request'],
      [
        'not a subordinate of the platform',
        async () => register(await registrationRequest(stranger)),
        403,
        'invalid_trust_chain',
      ],
      [
        'no trust mark mapped to a role',
        async () => register(await registrationRequest(unmarked)),
        403,
        'invalid_trust_chain',
      ],
      [
        'client_secret_basic',
        async () =>
          register(
            await registrationRequest(rp, {
              metadata: {
                openid_relying_party: {
                  ...rp.metadata.openid_relying_party,
                  token_endpoint_auth_method: 'client_secret_basic',
                },
              },
            }),
          ),
        400,
        'invalid_client_metadata',
      ],
    ];
    for (const [name, send, status, error] of cases) {
      const r = await send();
      assert.equal(r.status, status, `${name}: ${r.body}`);
      const body = json<{ error: string; error_description: string; findings?: Array<{ step: string }> }>(
        r.body,
      );
      assert.equal(body.error, error, name);
      assert.equal(typeof body.error_description, 'string', name);
      if (error === 'invalid_trust_chain' && name.startsWith('not a subordinate')) {
        assert.ok(
          body.findings?.every((x) => typeof x.step === 'string'),
          `${name}: findings name their step`,
        );
      }
    }
  });

  test('fail/an Entity Configuration signed with a key its superior does not vouch for', async () => {
    const rp = await partner('rp-forged');
    const impostor = await topology.addEntity('impostor');
    // The same claims, signed by a key that is neither in the leaf's statement at the platform nor its own.
    const now = topology.clock.seconds();
    const forged = await impostor.sign(
      {
        iss: rp.entityId,
        sub: rp.entityId,
        iat: now - 10,
        exp: now + 3600,
        aud: platform.url,
        jwks: impostor.jwks(),
        authority_hints: [platform.url],
        metadata: rp.metadata,
      },
      JWT_TYPES.entityStatement,
    );
    const r = await register(forged);
    assert.equal(r.status, 403, r.body);
    assert.equal(json(r.body).error, 'invalid_trust_chain');
  });

  /** The test federation's own servers (test CA): read them the way a partner's tooling would. */
  async function fetchInsecure(url: string): Promise<Response> {
    const out = await run('curl', ['-sS', '--cacert', join(platform.dir, 'federation-ca.pem'), url]);
    return new Response(out.stdout);
  }
});
