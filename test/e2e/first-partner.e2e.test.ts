import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importPKCS8, SignJWT } from 'jose';
import { decryptPrivateKey } from '../../src/pki/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { engineTargets } from '../support/engines.ts';
import { opensslKeyAndRequest, PlatformProcess, type RunResult, run } from '../support/platform-process.ts';

const targets = await engineTargets();

// The test plan of the partner-onboarding guide, automated: the real platform, curl and openssl as the
// partner, on the embedded database and on PostgreSQL alike.
for (const target of targets) {
  describe(`first partner end to end (curl + openssl): ${target.name}`, {
    skip: target.skip,
    timeout: 240_000,
  }, () => {
    let platform: PlatformProcess;
    const f = (name: string) => join(platform.dir, name);
    const json = <T = Record<string, unknown>>(text: string) => JSON.parse(text) as T;
    const ids: Record<string, string> = {};
    let signingKey: { pem: string; kid: string; alg: string };

    const cli = async (args: string[]) => {
      const r = await platform.cli([...args, '--json']);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return json(r.stdout);
    };

    /** curl as the partner: -w appends the status code on its own line. */
    async function curl(
      args: string[],
    ): Promise<RunResult & { status: number; body: string; headers: string }> {
      const r = await run('curl', [
        '-sS',
        '-D',
        '-',
        '--cacert',
        platform.caBundle,
        '-w',
        '\n%{http_code}',
        ...args,
      ]);
      const lines = r.stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      const text = lines.join('\n');
      const split = text.indexOf('\r\n\r\n');
      return {
        ...r,
        status,
        headers: split >= 0 ? text.slice(0, split) : '',
        body: split >= 0 ? text.slice(split + 4) : text,
      };
    }
    const as = (who: string) => ['--cert', f(`${who}.crt`), '--key', f(`${who}.key`)];

    /** A client-credentials request at the mTLS token endpoint; `curlArgs` carry the TLS identity (or a header). */
    const tokenRequest = (curlArgs: string[], clientId: string, extra: string[] = []) =>
      curl([
        ...curlArgs,
        `${platform.mtlsUrl}/token`,
        '-d',
        'grant_type=client_credentials',
        '-d',
        `client_id=${clientId}`,
        ...extra,
      ]);

    async function token(who: string, extra: string[] = []): Promise<string> {
      const r = await tokenRequest(as(who), ids[who]!, extra);
      assert.equal(r.status, 200, r.body);
      return json<{ access_token: string }>(r.body).access_token;
    }
    const api = (who: string, tok: string | undefined, path: string, extra: string[] = []) =>
      curl([
        ...as(who),
        ...(tok ? ['-H', `authorization: Bearer ${tok}`] : []),
        ...extra,
        `${platform.gatewayUrl}${path}`,
      ]);

    async function forge(
      claims: Record<string, unknown>,
      header: Record<string, unknown> = {},
      key?: KeyObject,
    ) {
      const now = Math.floor(Date.now() / 1000);
      const k = key ?? (await importPKCS8(signingKey.pem, signingKey.alg));
      return new SignJWT({ scope: 'accounts:read', client_id: ids.reader, org_id: ids.acme, ...claims })
        .setProtectedHeader({ alg: signingKey.alg, typ: 'at+jwt', kid: signingKey.kid, ...header })
        .setIssuer(platform.url)
        .setAudience(platform.gatewayUrl)
        .setSubject(ids.reader!)
        .setJti(`forged-${Math.random()}`)
        .setIssuedAt(now)
        .setExpirationTime(now + 120)
        .sign(k);
    }

    before(async () => {
      // 127.0.0.2 plays the TLS-terminating proxy; every other test request comes from 127.0.0.1.
      const options = target.freshOptions();
      const database =
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {};
      platform = await PlatformProcess.create({ ACCREDIT_TRUSTED_PROXIES: '127.0.0.2', ...database });
      await platform.start(['--init']);
      const storage = await openStorage(target.name === 'postgres' ? options : { url: f('accredit.db') });
      const row = await storage.db
        .selectFrom('signing_keys')
        .selectAll()
        .where('purpose', '=', 'access_token')
        .executeTakeFirstOrThrow();
      const kek = readFileSync(f('kek'), 'utf8').trim();
      signingKey = {
        pem: decryptPrivateKey(row.private_key_pem, kek).export({ type: 'pkcs8', format: 'pem' }) as string,
        kid: row.kid,
        alg: row.alg,
      };
      await storage.close();

      ids.acme = (await cli(['org', 'create', '--name', 'Acme Bank'])).id as string;
      ids.beta = (await cli(['org', 'create', '--name', 'Beta Pay'])).id as string;
      const apps: Array<[string, string, string]> = [
        ['reader', 'acme', 'partner_reader'],
        ['writer', 'acme', 'partner_reader,partner_writer'],
        ['betaapp', 'beta', 'partner_reader'],
      ];
      for (const [who, org, roles] of apps) {
        ids[who] = (
          await cli([
            'app',
            'create',
            '--org',
            ids[org]!,
            '--name',
            who,
            '--roles',
            roles,
            '--auth',
            'tls_client_auth',
          ])
        ).client_id as string;
        const req = await opensslKeyAndRequest({
          key: f(`${who}.key`),
          out: f(`${who}.csr`),
          subject: '/CN=partner',
        });
        assert.equal(req.code, 0, req.stderr);
        const cert = await cli([
          'cert',
          'issue',
          '--app',
          ids[who]!,
          '--csr',
          f(`${who}.csr`),
          '--out',
          f(`${who}.crt`),
        ]);
        ids[`${who}Serial`] = cert.serial as string;
      }
      // A certificate from a CA the platform does not trust, with the same subject as the reader's.
      await opensslKeyAndRequest({
        key: f('rogue.key'),
        out: f('rogue.crt'),
        subject: `/CN=${ids.reader}`,
        selfSignedDays: 2,
      });
    });

    after(async () => {
      await platform?.stop();
      platform?.cleanup();
      await target.cleanup();
    });

    test('ok/discovery advertises the mTLS aliases and JWT access tokens are RFC 9068 and certificate-bound', async () => {
      for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
        const r = await curl([`${platform.url}${path}`]);
        assert.equal(r.status, 200);
        const meta = json<{
          issuer: string;
          jwks_uri: string;
          mtls_endpoint_aliases: Record<string, string>;
          token_endpoint_auth_methods_supported: string[];
        }>(r.body);
        assert.equal(meta.issuer, platform.url);
        assert.equal(meta.mtls_endpoint_aliases.token_endpoint, `${platform.mtlsUrl}/token`);
        assert.deepEqual(meta.token_endpoint_auth_methods_supported.sort(), [
          'none',
          'private_key_jwt',
          'self_signed_tls_client_auth',
          'tls_client_auth',
        ]);
      }
      const tok = await token('reader');
      const [h, p] = tok
        .split('.')
        .slice(0, 2)
        .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
      assert.equal(h.typ, 'at+jwt');
      assert.equal(h.alg, 'ES256');
      const x5t = (
        await run('sh', [
          '-c',
          `openssl x509 -in ${f('reader.crt')} -outform DER | openssl dgst -sha256 -binary | openssl base64 -A`,
        ])
      ).stdout
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');
      assert.equal(p.cnf['x5t#S256'], x5t);
      assert.equal(p.client_id, ids.reader);
      assert.equal(p.org_id, ids.acme);
      assert.deepEqual(p.roles, ['partner_reader']);
      assert.equal(p.scope, 'accounts:read');
      assert.equal(p.aud, platform.gatewayUrl);
      assert.ok(p.jti && p.exp - p.iat === 300);
    });

    test('ok/happy path: mTLS /health 200, token, GET /v1/accounts 200', async () => {
      const health = await curl([...as('reader'), `${platform.gatewayUrl}/health`]);
      assert.equal(health.status, 200, health.body);
      const tok = await token('reader');
      const accounts = await api('reader', tok, '/v1/accounts');
      assert.equal(accounts.status, 200, accounts.body);
      assert.ok(Array.isArray(json<{ accounts: unknown[] }>(accounts.body).accounts));
    });

    test('fail/the token endpoint refuses scope beyond the roles, unknown scopes, and clients without their certificate', async () => {
      for (const scope of ['payments:submit', 'accounts:read admin']) {
        const r = await tokenRequest(as('reader'), ids.reader!, ['-d', `scope=${scope}`]);
        assert.equal(r.status, 400);
        assert.equal(json(r.body).error, 'invalid_scope');
      }
      const wrongCert = await tokenRequest(as('betaapp'), ids.reader!);
      assert.equal(wrongCert.status, 401);
      assert.equal(json(wrongCert.body).error, 'invalid_client');
      const rogue = await tokenRequest(as('rogue'), ids.reader!);
      assert.equal(json(rogue.body).error, 'invalid_client');
    });

    test('ok/a Client-Cert header from the configured trusted proxy is used (RFC 9440)', async () => {
      const der = (
        await run('sh', ['-c', `openssl x509 -in ${f('writer.crt')} -outform DER | openssl base64 -A`])
      ).stdout.trim();
      const r = await tokenRequest(['--interface', '127.0.0.2', '-H', `client-cert: :${der}:`], ids.writer!);
      assert.equal(r.status, 200, r.body);
      const claims = JSON.parse(
        Buffer.from(
          json<{ access_token: string }>(r.body).access_token.split('.')[1]!,
          'base64url',
        ).toString(),
      );
      assert.equal(claims.client_id, ids.writer);
      assert.ok(claims.cnf['x5t#S256'], 'bound to the certificate the proxy passed on');
    });

    test('fail/a Client-Cert header from an untrusted address is ignored (RFC 9440)', async () => {
      const der = (
        await run('sh', ['-c', `openssl x509 -in ${f('reader.crt')} -outform DER | openssl base64 -A`])
      ).stdout.trim();
      const r = await tokenRequest(['-H', `client-cert: :${der}:`], ids.reader!);
      assert.equal(r.status, 401);
      assert.equal(json(r.body).error, 'invalid_client');
    });

    test('fail/the gateway refuses every broken token with 401 and a Bearer challenge', async () => {
      const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const now = Math.floor(Date.now() / 1000);
      const cases: Array<[string, string | undefined]> = [
        ['fail/missing token', undefined],
        ['fail/garbage token', 'not.a.jwt'],
        ['fail/expired token', await forge({ exp: now - 60, iat: now - 400 })],
        [
          'fail/alg none',
          `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: platform.url, aud: platform.gatewayUrl, exp: now + 60, client_id: ids.reader, scope: 'accounts:read' })).toString('base64url')}.`,
        ],
        ['fail/signed by a foreign key', await forge({}, {}, foreign)],
        ['fail/another audience', await forge({ aud: 'https://other-api.example' })],
        ['fail/another issuer', await forge({ iss: 'https://evil.example' })],
        ['fail/not at+jwt', await forge({}, { typ: 'JWT' })],
        ['fail/not bound to any certificate', await forge({})],
      ];
      for (const [name, tok] of cases) {
        const r = await api('reader', tok, '/v1/accounts');
        assert.equal(r.status, 401, `${name}: ${r.body}`);
        assert.match(r.headers, /^www-authenticate: Bearer realm="accredit"/im, name);
        if (tok) assert.match(r.headers, /error="invalid_token"/i, name);
        assert.doesNotMatch(r.body, /eyJ/, `${name}: no token material in the body`);
      }
    });

    test('fail/a token bound to another certificate is 401; an untrusted certificate is 403', async () => {
      const betaToken = await token('betaapp');
      const stolen = await api('reader', betaToken, '/v1/accounts');
      assert.equal(stolen.status, 401, stolen.body);
      const readerToken = await token('reader');
      const rogue = await api('rogue', readerToken, '/v1/accounts');
      assert.equal(rogue.status, 403, rogue.body);
      const noCert = await curl([
        '-H',
        `authorization: Bearer ${readerToken}`,
        `${platform.gatewayUrl}/v1/accounts`,
      ]);
      assert.ok(noCert.status === 403 || noCert.code !== 0, 'no client certificate is refused');
    });

    test('fail/insufficient scope is 403 insufficient_scope; ok/the writer may pay', async () => {
      const r = await api('reader', await token('reader'), '/v1/payments', [
        '-X',
        'POST',
        '-H',
        'content-type: application/json',
        '-d',
        '{"from_account":"x","amount":"1.00","currency":"EUR"}',
      ]);
      assert.equal(r.status, 403, r.body);
      assert.match(r.headers, /error="insufficient_scope"/);
      assert.match(r.headers, /scope="payments:submit"/);
      const accounts = json<{ accounts: Array<{ id: string }> }>(
        (await api('writer', await token('writer'), '/v1/accounts')).body,
      ).accounts;
      const pay = await api('writer', await token('writer'), '/v1/payments', [
        '-X',
        'POST',
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify({ from_account: accounts[0]?.id, amount: '10.00', currency: 'EUR' }),
      ]);
      assert.equal(pay.status, 201, pay.body);
    });

    test('fail/spoofed identity headers are stripped and another organisation’s account is 404 (BOLA)', async () => {
      const betaAccounts = json<{ accounts: Array<{ id: string; org_id?: string }> }>(
        (await api('betaapp', await token('betaapp'), '/v1/accounts')).body,
      ).accounts;
      const tok = await token('reader');
      const spoofed = await api('reader', tok, '/v1/accounts', [
        '-H',
        `x-accredit-org-id: ${ids.beta}`,
        '-H',
        `x-accredit-client-id: ${ids.betaapp}`,
      ]);
      assert.equal(spoofed.status, 200);
      const mine = json<{ accounts: Array<{ id: string }> }>(spoofed.body).accounts.map((a) => a.id);
      assert.ok(
        betaAccounts.every((a) => !mine.includes(a.id)),
        'only the caller’s own accounts',
      );
      const other = await api('reader', tok, `/v1/accounts/${betaAccounts[0]?.id}`);
      assert.equal(other.status, 404, other.body);
      const own = await api('reader', tok, `/v1/accounts/${mine[0]}`);
      assert.equal(own.status, 200, own.body);
    });

    test('ok/introspection (RFC 7662) and revocation (RFC 7009); fail/the next call with a revoked token is 401', async () => {
      const tok = await token('reader');
      const introspect = (who: string) =>
        curl([
          ...as(who),
          `${platform.mtlsUrl}/token/introspection`,
          '-d',
          `client_id=${ids[who]}`,
          '-d',
          `token=${tok}`,
        ]);
      assert.equal(json((await introspect('reader')).body).active, true);
      assert.equal(json((await introspect('betaapp')).body).active, false, 'another client learns nothing');
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 200);
      const notMine = await curl([
        ...as('betaapp'),
        `${platform.mtlsUrl}/token/revocation`,
        '-d',
        `client_id=${ids.betaapp}`,
        '-d',
        `token=${tok}`,
      ]);
      assert.equal(notMine.status, 400, 'a client cannot revoke another client’s token');
      const revoke = await curl([
        ...as('reader'),
        `${platform.mtlsUrl}/token/revocation`,
        '-d',
        `client_id=${ids.reader}`,
        '-d',
        `token=${tok}`,
      ]);
      assert.equal(revoke.status, 200, revoke.body);
      const after = await api('reader', tok, '/v1/accounts');
      assert.equal(after.status, 401, after.body);
      assert.equal(json((await introspect('reader')).body).active, false);
    });

    test('fail/suspending the application, then the organisation, refuses the very next request', async () => {
      const tok = await token('reader');
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 200);
      await cli(['app', 'suspend', ids.reader!]);
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 403);
      const refused = await tokenRequest(as('reader'), ids.reader!);
      assert.equal(json(refused.body).error, 'invalid_client', 'a suspended client gets no token');
      await cli(['app', 'activate', ids.reader!]);
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 200);
      await cli(['org', 'suspend', ids.acme!]);
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 403);
      await cli(['org', 'activate', ids.acme!]);
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 200);
    });

    test('fail/after the certificate is revoked the very next request is 403 and no token is issued', async () => {
      const tok = await token('reader');
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 200);
      await cli(['cert', 'revoke', ids.readerSerial!, '--reason', 'keyCompromise']);
      assert.equal((await api('reader', tok, '/v1/accounts')).status, 403);
      assert.equal((await curl([...as('reader'), `${platform.gatewayUrl}/health`])).status, 403);
      const r = await tokenRequest(as('reader'), ids.reader!);
      assert.equal(json(r.body).error, 'invalid_client');
    });

    test('ok/a self_signed_tls_client_auth client registers its certificate and calls the API', async () => {
      await opensslKeyAndRequest({
        key: f('selfie.key'),
        out: f('selfie.crt'),
        subject: '/CN=selfie',
        selfSignedDays: 30,
      });
      const cert = new X509Certificate(readFileSync(f('selfie.crt')));
      const jwk = { ...cert.publicKey.export({ format: 'jwk' }), x5c: [cert.raw.toString('base64')] };
      writeFileSync(f('selfie.jwks'), JSON.stringify({ keys: [jwk] }));
      ids.selfie = (
        await cli([
          'app',
          'create',
          '--org',
          ids.beta!,
          '--name',
          'selfie',
          '--roles',
          'partner_reader',
          '--auth',
          'self_signed_tls_client_auth',
          '--jwks',
          f('selfie.jwks'),
        ])
      ).client_id as string;
      const tok = await token('selfie');
      const r = await api('selfie', tok, '/v1/accounts');
      assert.equal(r.status, 200, r.body);
      const stranger = await tokenRequest(as('rogue'), ids.selfie!);
      assert.equal(
        json(stranger.body).error,
        'invalid_client',
        'an unregistered self-signed certificate is refused',
      );
    });

    test('ok/a private_key_jwt client authenticates with a signed assertion and its token is still certificate-bound', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(
        f('pkjwt.jwks'),
        JSON.stringify({
          keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }],
        }),
      );
      ids.pkjwt = (
        await cli([
          'app',
          'create',
          '--org',
          ids.beta!,
          '--name',
          'pkjwt',
          '--roles',
          'partner_reader',
          '--auth',
          'private_key_jwt',
          '--jwks',
          f('pkjwt.jwks'),
        ])
      ).client_id as string;
      await opensslKeyAndRequest({ key: f('pkjwt.key'), out: f('pkjwt.csr'), subject: '/CN=x' });
      await cli(['cert', 'issue', '--app', ids.pkjwt!, '--csr', f('pkjwt.csr'), '--out', f('pkjwt.crt')]);
      const assertion = (aud: string) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .setIssuer(ids.pkjwt!)
          .setSubject(ids.pkjwt!)
          .setAudience(aud)
          .setJti(`a-${Math.random()}`)
          .setIssuedAt()
          .setExpirationTime('1m')
          .sign(privateKey);
      const request = async (aud: string) =>
        curl([
          ...as('pkjwt'),
          `${platform.mtlsUrl}/token`,
          '-d',
          'grant_type=client_credentials',
          '-d',
          'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          '-d',
          `client_assertion=${await assertion(aud)}`,
        ]);
      const ok = await request(platform.url);
      assert.equal(ok.status, 200, ok.body);
      const tok = json<{ access_token: string }>(ok.body).access_token;
      assert.equal((await api('pkjwt', tok, '/v1/accounts')).status, 200);
      assert.equal((await api('betaapp', tok, '/v1/accounts')).status, 401, 'bound to the pkjwt certificate');
      const wrongAudience = await request('https://elsewhere.example');
      assert.equal(json(wrongAudience.body).error, 'invalid_client');
    });

    test('ok/every gateway decision is logged with certificate, client, org, jti, route, decision and reason — never the token', async () => {
      const lines = platform.output.split('\n').filter((l) => l.includes('"decision"'));
      assert.ok(lines.length > 10);
      const deny = lines
        .map((l) => json<Record<string, unknown>>(l))
        .find((l) => l.decision === 'deny' && l.reason === 'insufficient_scope');
      assert.ok(deny, 'a deny line for insufficient scope');
      for (const key of [
        'cert_subject',
        'cert_x5t_s256',
        'client_id',
        'org_id',
        'jti',
        'route',
        'reason',
        'latency_ms',
      ]) {
        assert.ok(key in deny, `decision log has ${key}`);
      }
      assert.doesNotMatch(
        platform.output,
        /eyJhbGciOi[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\./,
        'no access token in the logs',
      );
      writeFileSync(f('decisions.log'), lines.join('\n'));
    });
  });
}
