import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  createTestKey,
  type TestEntity,
  type TestKey,
  type Topology,
} from '../federation/support/topology.ts';
import { startFederatedPlatform } from '../support/federated-platform.ts';
import { opensslKeyAndRequest, type PlatformProcess, run } from '../support/platform-process.ts';

interface Answer {
  status: number;
  body: string;
  location: string;
}

interface Partner {
  entity: TestEntity;
  /** The RP's own key (in its openid_relying_party jwks), not its Federation Entity Key. */
  key: TestKey;
  redirectUri: string;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const seconds = () => Math.floor(Date.now() / 1000);

// OpenID Federation 1.0 §12.1 end to end: Trust Anchor (a live test entity) → Intermediate (the platform) →
// leaf RPs nobody registered. Their first authorization request (pushed, or by value with a signed Request
// Object) registers them through their Trust Chain; requests that do not prove the RP's keys register nothing.
describe('federation automatic registration end to end', { timeout: 240_000 }, () => {
  let topology: Topology;
  let platform: PlatformProcess;
  let orgId: string;
  let trustMarkType: string;
  const f = (name: string) => join(platform.dir, name);
  const json = <T = Record<string, unknown>>(text: string) => JSON.parse(text) as T;

  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return json(r.stdout);
  };

  async function curl(args: string[]): Promise<Answer> {
    const r = await run('curl', [
      '-sS',
      '--cacert',
      platform.caBundle,
      '-w',
      '\n%{http_code}\n%{redirect_url}',
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const location = lines.pop() ?? '';
    const status = Number(lines.pop());
    return { status, body: lines.join('\n'), location };
  }

  const form = (fields: Record<string, string>) =>
    Object.entries(fields).flatMap(([k, v]) => ['--data-urlencode', `${k}=${v}`]);

  /** A leaf under the platform (subordinate + Trust Mark unless told otherwise) with private_key_jwt RP metadata. */
  async function partner(
    name: string,
    options: { subordinate?: boolean; rp?: Record<string, unknown> } = {},
  ): Promise<Partner> {
    const entity = await topology.addEntity(name);
    const key = await createTestKey(`${name}-rp-1`);
    const redirectUri = `https://${name}.rp.example/cb`;
    entity.authorityHints.push(platform.url);
    entity.metadata.openid_relying_party = {
      client_name: `Automatic ${name}`,
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      jwks: { keys: [key.publicJwk] },
      ...options.rp,
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
        orgId,
        '--jwks',
        f(`${name}.fedjwks`),
        '--entity-types',
        'openid_relying_party',
      ]);
      await cli(['federation', 'trust-mark', 'issue', '--type', trustMarkType, '--sub', entity.entityId]);
      const mark = await curl([
        `${platform.url}/federation/trust-mark?trust_mark_type=${encodeURIComponent(trustMarkType)}&sub=${encodeURIComponent(entity.entityId)}`,
      ]);
      assert.equal(mark.status, 200, mark.body);
      entity.addTrustMark(trustMarkType, mark.body);
    }
    return { entity, key, redirectUri };
  }

  /** §12.1.1.1: a Request Object signed with the RP's key, addressed to the OP; `undefined` members are left out. */
  async function requestObject(
    p: Partner,
    claims: Record<string, unknown> = {},
    options: { key?: TestKey; header?: Record<string, unknown>; unsigned?: boolean } = {},
  ): Promise<string> {
    const now = seconds();
    const payload: Record<string, unknown> = {
      iss: p.entity.entityId,
      client_id: p.entity.entityId,
      aud: platform.url,
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 300,
      response_type: 'code',
      redirect_uri: p.redirectUri,
      scope: 'accounts:read',
      state: 'st-1',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      ...claims,
    };
    for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
    const key = options.key ?? p.key;
    const header = { alg: 'ES256', kid: key.kid, typ: 'oauth-authz-req+jwt', ...options.header };
    if (options.unsigned) {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${b64({ ...header, alg: 'none' })}.${b64(payload)}.`;
    }
    return new SignJWT(payload).setProtectedHeader(header).sign(key.privateKey);
  }

  /** private_key_jwt (OpenID Connect Core §9) with the OP's Entity Identifier as its only audience (§12.1.1.2). */
  async function clientAssertion(p: Partner, claims: Record<string, unknown> = {}): Promise<string> {
    const now = seconds();
    return new SignJWT({
      iss: p.entity.entityId,
      sub: p.entity.entityId,
      aud: platform.url,
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 60,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: p.key.kid })
      .sign(p.key.privateKey);
  }

  const par = (fields: Record<string, string>, extra: string[] = []) =>
    curl([...extra, '-X', 'POST', ...form(fields), `${platform.mtlsUrl}/request`]);
  const authorize = (params: Record<string, string>) =>
    curl([`${platform.url}/auth?${new URLSearchParams(params)}`]);
  const appOf = async (clientId: string) => {
    const r = await platform.cli(['app', 'show', clientId, '--json']);
    return r.code === 0 ? json(r.stdout) : undefined;
  };
  const errorOf = (answer: Answer) => json<{ error: string; error_description?: string }>(answer.body);

  before(async () => {
    ({ topology, platform, trustMarkType } = await startFederatedPlatform());
    orgId = (await cli(['org', 'create', '--name', 'Automatic Bank'])).id as string;
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    await topology?.close();
  });

  test('ok/the platform publishes itself as an OP offering automatic and explicit registration, PAR and JAR', async () => {
    const ec = await curl([`${platform.url}/.well-known/openid-federation`]);
    const claims = json<{ metadata: Record<string, Record<string, unknown>> }>(
      Buffer.from(ec.body.split('.')[1]!, 'base64url').toString(),
    );
    const op = claims.metadata.openid_provider!;
    assert.deepEqual(op.client_registration_types_supported, ['automatic', 'explicit']);
    assert.equal(op.authorization_endpoint, `${platform.url}/auth`);
    assert.equal(op.pushed_authorization_request_endpoint, `${platform.url}/request`);
    assert.equal(
      (op.mtls_endpoint_aliases as Record<string, string>).pushed_authorization_request_endpoint,
      `${platform.mtlsUrl}/request`,
    );
    assert.ok((op.request_object_signing_alg_values_supported as string[]).includes('ES256'));
    assert.ok(!(op.request_object_signing_alg_values_supported as string[]).includes('none'));
    assert.deepEqual(op.code_challenge_methods_supported, ['S256']);

    const discovery = await curl([`${platform.url}/.well-known/openid-configuration`]);
    const meta = json<Record<string, unknown>>(discovery.body);
    assert.equal(meta.pushed_authorization_request_endpoint, `${platform.url}/request`);
    assert.equal(
      (meta.mtls_endpoint_aliases as Record<string, string>).pushed_authorization_request_endpoint,
      `${platform.mtlsUrl}/request`,
    );
    assert.equal(meta.request_parameter_supported, true);
  });

  test('ok/PAR with a private_key_jwt client assertion and a signed Request Object registers the leaf; the pushed request reaches the interaction', async () => {
    const rp = await partner('rp-par');
    assert.equal(await appOf(rp.entity.entityId), undefined, 'not registered beforehand');
    const pushed = await par({
      client_id: rp.entity.entityId,
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion(rp),
      request: await requestObject(rp),
    });
    assert.equal(pushed.status, 201, pushed.body);
    const { request_uri: requestUri, expires_in: expiresIn } = json<{
      request_uri: string;
      expires_in: number;
    }>(pushed.body);
    assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:/);
    assert.ok(expiresIn > 0 && expiresIn <= 60);

    const app = await appOf(rp.entity.entityId);
    assert.ok(app, 'the application exists now');
    assert.equal(app.registration_type, 'federation');
    assert.equal(app.org_id, orgId);
    assert.equal(app.auth_method, 'private_key_jwt');

    const authorized = await authorize({ client_id: rp.entity.entityId, request_uri: requestUri });
    assert.equal(authorized.status, 303, authorized.body);
    assert.match(authorized.location, /\/interaction\/[A-Za-z0-9_-]+$/);
    // The login page belongs to the browser that holds the interaction cookie; without it, a plain refusal.
    const interaction = await curl([authorized.location]);
    assert.equal(interaction.status, 400, interaction.body);
    assert.match(interaction.body, /This sign-in has expired/);

    // The pushed request is one-time (RFC 9126 §4), and the registered client keeps its client credentials.
    const replayed = await par({
      client_id: rp.entity.entityId,
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion(rp),
      request: await requestObject(rp, { jti: 'fixed-jti' }),
    });
    assert.equal(replayed.status, 201, replayed.body);
    const again = await par({
      client_id: rp.entity.entityId,
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion(rp),
      request: await requestObject(rp, { jti: 'fixed-jti' }),
    });
    assert.equal(again.status, 400, again.body);
    assert.equal(errorOf(again).error, 'invalid_request_object', 'a Request Object is used once (§12.1.1.1)');
  });

  test('ok/a signed Request Object at the authorization endpoint alone registers the leaf and reaches the interaction', async () => {
    const rp = await partner('rp-direct');
    const authorized = await authorize({ client_id: rp.entity.entityId, request: await requestObject(rp) });
    assert.equal(authorized.status, 303, authorized.body);
    assert.match(authorized.location, /\/interaction\/[A-Za-z0-9_-]+$/);
    const app = await appOf(rp.entity.entityId);
    assert.equal(app?.registration_type, 'federation');
    assert.equal(app?.org_id, orgId);

    // Registered automatically: a plain authorization request (no Request Object) still proves nothing.
    const plain = await authorize({
      client_id: rp.entity.entityId,
      response_type: 'code',
      redirect_uri: rp.redirectUri,
      scope: 'accounts:read',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    assert.equal(plain.status, 400, plain.body);
    assert.equal(errorOf(plain).error, 'invalid_request');
    assert.equal(plain.location, '', 'never redirected');
  });

  test('ok/an automatically registered client keeps client credentials with a certificate-bound token', async () => {
    const rp = await partner('rp-cc');
    const pushed = await par({
      client_id: rp.entity.entityId,
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion(rp),
      redirect_uri: rp.redirectUri,
      response_type: 'code',
      scope: 'accounts:read',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    assert.equal(pushed.status, 201, `PAR with the client assertion as the only proof: ${pushed.body}`);
    await opensslKeyAndRequest({
      key: f('rp-cc.key'),
      out: f('rp-cc.crt'),
      subject: '/CN=rp-cc',
      selfSignedDays: 1,
    });
    const token = await curl([
      '--cert',
      f('rp-cc.crt'),
      '--key',
      f('rp-cc.key'),
      ...form({
        grant_type: 'client_credentials',
        client_id: rp.entity.entityId,
        client_assertion_type: JWT_BEARER,
        client_assertion: await clientAssertion(rp),
      }),
      `${platform.mtlsUrl}/token`,
    ]);
    assert.equal(token.status, 200, token.body);
    const access = json<{ access_token: string }>(token.body).access_token;
    const claims = json<{ cnf: Record<string, string>; client_id: string; org_id: string }>(
      Buffer.from(access.split('.')[1]!, 'base64url').toString(),
    );
    assert.equal(claims.client_id, rp.entity.entityId);
    assert.equal(claims.org_id, orgId);
    const cert = new X509Certificate(readFileSync(f('rp-cc.crt')));
    assert.equal(
      claims.cnf['x5t#S256'],
      Buffer.from(cert.fingerprint256.replaceAll(':', ''), 'hex').toString('base64url'),
    );
  });

  test('fail/requests that do not prove the RP’s keys or do not fit its metadata register nothing', async () => {
    const rp = await partner('rp-bad');
    const stranger = await partner('rp-stranger', { subordinate: false });
    const impostorKey = await createTestKey('impostor');
    const other = await partner('rp-other', { subordinate: false });
    const cases: Array<[string, () => Promise<Answer>, number, string]> = [
      [
        'unsigned Request Object (alg none) at the authorization endpoint',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, {}, { unsigned: true }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'no Request Object at the authorization endpoint',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            response_type: 'code',
            redirect_uri: rp.redirectUri,
            scope: 'accounts:read',
          }),
        400,
        'invalid_request',
      ],
      [
        'Request Object signed with a key not in the resolved metadata',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, {}, { key: impostorKey }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'Request Object signed with the RP’s Federation Entity Key, not an RP key',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, {}, { key: rp.entity.signingKey }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'iss of the Request Object is not the client_id',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, { iss: other.entity.entityId }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'client_id of the Request Object is another entity',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, { client_id: other.entity.entityId }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'aud with another value besides the OP',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, { aud: [platform.url, 'https://op.example'] }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'sub present in the Request Object',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, { sub: rp.entity.entityId }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'no jti',
        async () =>
          authorize({ client_id: rp.entity.entityId, request: await requestObject(rp, { jti: undefined }) }),
        400,
        'invalid_request_object',
      ],
      [
        'expired Request Object',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, { iat: seconds() - 900, exp: seconds() - 600 }),
          }),
        400,
        'invalid_request_object',
      ],
      [
        'redirect_uri not in the resolved metadata (authorization endpoint)',
        async () =>
          authorize({
            client_id: rp.entity.entityId,
            request: await requestObject(rp, { redirect_uri: 'https://attacker.example/cb' }),
          }),
        400,
        'invalid_redirect_uri',
      ],
      [
        'redirect_uri not in the resolved metadata (PAR)',
        async () =>
          par({
            client_id: rp.entity.entityId,
            client_assertion_type: JWT_BEARER,
            client_assertion: await clientAssertion(rp),
            request: await requestObject(rp, { redirect_uri: 'https://attacker.example/cb' }),
          }),
        400,
        'invalid_request',
      ],
      [
        'PAR without any proof of an RP key',
        async () =>
          par({
            client_id: rp.entity.entityId,
            response_type: 'code',
            redirect_uri: rp.redirectUri,
            scope: 'accounts:read',
          }),
        401,
        'invalid_client',
      ],
      [
        'PAR client assertion signed with a key not in the resolved metadata',
        async () =>
          par({
            client_id: rp.entity.entityId,
            client_assertion_type: JWT_BEARER,
            client_assertion: await clientAssertion({ ...rp, key: impostorKey }),
            redirect_uri: rp.redirectUri,
            response_type: 'code',
          }),
        401,
        'invalid_client',
      ],
      [
        'PAR client assertion for the token endpoint (aud not the OP’s Entity Identifier alone)',
        async () =>
          par({
            client_id: rp.entity.entityId,
            client_assertion_type: JWT_BEARER,
            client_assertion: await clientAssertion(rp, { aud: [platform.url, `${platform.mtlsUrl}/token`] }),
            redirect_uri: rp.redirectUri,
            response_type: 'code',
          }),
        401,
        'invalid_client',
      ],
      [
        'leaf that is no subordinate of the platform (no Trust Chain)',
        async () =>
          authorize({ client_id: stranger.entity.entityId, request: await requestObject(stranger) }),
        400,
        'invalid_trust_chain',
      ],
      [
        'leaf that is no subordinate of the platform, at PAR',
        async () =>
          par({
            client_id: stranger.entity.entityId,
            client_assertion_type: JWT_BEARER,
            client_assertion: await clientAssertion(stranger),
            request: await requestObject(stranger),
          }),
        400,
        'invalid_trust_chain',
      ],
    ];
    for (const [name, send, status, error] of cases) {
      const answer = await send();
      assert.equal(answer.status, status, `${name}: ${answer.body}`);
      const body = errorOf(answer);
      assert.equal(body.error, error, `${name}: ${answer.body}`);
      assert.equal(typeof body.error_description, 'string', name);
      assert.doesNotMatch(answer.body, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+/, `${name}: no stack trace`);
      assert.equal(answer.location, '', `${name}: never redirected`);
    }
    for (const p of [rp, stranger, other]) {
      assert.equal(await appOf(p.entity.entityId), undefined, `${p.entity.name} was not registered`);
    }
  });

  test('fail/the token endpoint does not register automatically', async () => {
    const rp = await partner('rp-token');
    const token = await curl([
      ...form({
        grant_type: 'client_credentials',
        client_id: rp.entity.entityId,
        client_assertion_type: JWT_BEARER,
        client_assertion: await clientAssertion(rp),
      }),
      `${platform.mtlsUrl}/token`,
    ]);
    assert.equal(token.status, 401, token.body);
    assert.equal(errorOf(token).error, 'invalid_client');
    assert.equal(await appOf(rp.entity.entityId), undefined);
  });
});
