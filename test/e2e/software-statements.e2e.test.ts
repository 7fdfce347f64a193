import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { engineTargets } from '../support/engines.ts';
import { opensslKeyAndRequest, PlatformProcess, run } from '../support/platform-process.ts';

const targets = await engineTargets();
const json = <T>(text: string): T => JSON.parse(text) as T;
const clientJwk = {
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid: 'partner-1',
};

interface Issued {
  software_statement: string;
  jti: string;
  software_id: string;
  org_id: string;
  expires_at: string;
}

for (const target of targets) {
  describe(`software statements end to end: ${target.name}`, { skip: target.skip, timeout: 180_000 }, () => {
    let platform: PlatformProcess;
    let token: string;
    const ids: Record<string, string> = {};
    const f = (name: string) => join(platform.dir, name);

    const cli = async (args: string[]) => {
      const r = await platform.cli([...args, '--json']);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return json<Record<string, unknown>>(r.stdout);
    };
    const curl = (args: string[]) =>
      run('curl', ['-sS', '--cacert', platform.caBundle, '-D', '-', '-o', '-', ...args]).then((r) => {
        assert.equal(r.code, 0, r.stderr);
        const [head = '', ...rest] = r.stdout.split('\r\n\r\n');
        const [statusLine = '', ...lines] = head.split('\r\n');
        const headers = Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
      });
    const admin = (method: string, path: string, body?: unknown, auth = true) =>
      curl([
        '-X',
        method,
        ...(auth ? ['-H', `authorization: Bearer ${token}`] : []),
        ...(body === undefined
          ? []
          : ['-H', 'content-type: application/json', '--data-binary', JSON.stringify(body)]),
        `${platform.url}/admin/v1${path}`,
      ]);
    const directoryJwks = async () => {
      const r = await curl([`${platform.url}/directory/jwks`]);
      assert.equal(r.status, 200, r.body);
      return { ...r, jwks: json<JSONWebKeySet>(r.body) };
    };

    before(async () => {
      const options = target.freshOptions();
      platform = await PlatformProcess.create(
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {},
      );
      await platform.start(['--init']);
      token = readFileSync(f('operator-token'), 'utf8').trim();
      ids.org = (await cli(['org', 'create', '--name', 'Acme Bank'])).id as string;
      ids.mtls = (
        await cli([
          'app',
          'create',
          '--org',
          ids.org,
          '--name',
          'Payments Hub',
          '--roles',
          'partner_reader,partner_writer',
          '--auth',
          'tls_client_auth',
        ])
      ).client_id as string;
      writeFileSync(
        f('web.json'),
        JSON.stringify({ jwks: { keys: [clientJwk] }, redirect_uris: ['https://app.acme.example/cb'] }),
      );
      ids.web = (
        await cli([
          'app',
          'create',
          '--org',
          ids.org,
          '--name',
          'Web Portal',
          '--roles',
          'partner_reader',
          '--auth',
          'private_key_jwt',
          '--metadata',
          f('web.json'),
        ])
      ).client_id as string;
    });

    after(async () => {
      await platform?.stop();
      platform?.cleanup();
      await target.cleanup();
    });

    test('fail/a tls_client_auth application without a certificate gets no statement (409)', async () => {
      const r = await platform.cli(['ssa', 'issue', '--app', ids.mtls!]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /tls_client_auth but has no active certificate issued by the platform/);
      const api = await admin('POST', '/software-statements', { software_id: ids.mtls });
      assert.equal(api.status, 409);
      assert.match(api.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal(json<{ code: string }>(api.body).code, 'no_client_certificate');
    });

    test('ok/ssa issue via the CLI; the statement verifies against /directory/jwks fetched with curl', async () => {
      const req = await opensslKeyAndRequest({
        key: f('mtls.key'),
        out: f('mtls.csr'),
        subject: '/CN=partner',
      });
      assert.equal(req.code, 0, req.stderr);
      const cert = await cli([
        'cert',
        'issue',
        '--app',
        ids.mtls!,
        '--csr',
        f('mtls.csr'),
        '--out',
        f('mtls.crt'),
      ]);

      const issued = (await cli([
        'ssa',
        'issue',
        '--app',
        ids.mtls!,
        '--lifetime',
        '600',
      ])) as unknown as Issued;
      assert.equal(issued.software_id, ids.mtls);
      assert.equal(issued.org_id, ids.org);

      const { headers, jwks } = await directoryJwks();
      assert.equal(headers['content-type'], 'application/jwk-set+json');
      assert.match(headers['cache-control'] ?? '', /^public, max-age=\d+$/);
      assert.equal(jwks.keys.length, 1);
      const [key] = jwks.keys;
      assert.equal(key?.use, 'sig');
      assert.equal(key?.alg, 'ES256');
      assert.equal(key?.d, undefined);
      assert.deepEqual(decodeProtectedHeader(issued.software_statement), {
        alg: 'ES256',
        kid: key?.kid,
        typ: 'JWT',
      });

      const { payload } = await jwtVerify(issued.software_statement, createLocalJWKSet(jwks), {
        issuer: `${platform.url}/directory`,
        typ: 'JWT',
        algorithms: ['ES256'],
      });
      assert.equal(payload.exp! - payload.iat!, 600);
      assert.equal(new Date(payload.exp! * 1000).toISOString(), issued.expires_at);
      const { iat: _iat, exp: _exp, ...claims } = payload;
      assert.deepEqual(claims, {
        iss: `${platform.url}/directory`,
        jti: issued.jti,
        software_id: ids.mtls,
        org_id: ids.org,
        roles: ['partner_reader', 'partner_writer'],
        scope: 'accounts:read accounts:write payments:submit',
        client_name: 'Payments Hub',
        token_endpoint_auth_method: 'tls_client_auth',
        grant_types: ['client_credentials'],
        tls_client_auth_subject_dn: cert.subject,
      });

      // Human output: the statement, its jti and expiry; --out writes the JWT alone.
      const human = await platform.cli(['ssa', 'issue', '--app', ids.web!, '--out', f('web.ssa')]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^jti: +[0-9a-f]{32}$/m);
      assert.match(human.stdout, /^expires_at: +\d{4}-\d\d-\d\dT/m);
      const jwt = readFileSync(f('web.ssa'), 'utf8').trim();
      assert.ok(human.stdout.includes(jwt));
      const web = await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: `${platform.url}/directory` });
      assert.deepEqual(web.payload.grant_types, ['client_credentials', 'authorization_code']);
      assert.deepEqual(web.payload.redirect_uris, ['https://app.acme.example/cb']);
      assert.deepEqual(web.payload.jwks, { keys: [clientJwk] });
      assert.equal(web.payload.tls_client_auth_subject_dn, undefined);
    });

    test('ok/ssa list and revoke; listings never carry a statement', async () => {
      const issued = (await cli(['ssa', 'issue', '--app', ids.web!])) as unknown as Issued;
      const listed = (await cli(['ssa', 'list', '--app', ids.web!])) as unknown as Array<
        Record<string, unknown>
      >;
      assert.equal(listed[0]?.jti, issued.jti);
      assert.equal(listed[0]?.status, 'issued');
      assert.ok(listed.every((s) => s.software_id === ids.web && !('software_statement' in s)));
      const all = await admin('GET', '/software-statements');
      assert.equal(all.status, 200);
      assert.ok(!all.body.includes(issued.software_statement.split('.')[2]!));

      const revoked = await cli(['ssa', 'revoke', issued.jti, '--reason', 'sent to the wrong team']);
      assert.equal(revoked.status, 'revoked');
      const again = await admin('DELETE', `/software-statements/${issued.jti}`);
      assert.equal(again.status, 200);
      assert.equal(json<{ status: string }>(again.body).status, 'revoked');
      const table = await platform.cli(['ssa', 'list', '--app', ids.web!]);
      assert.match(table.stdout, new RegExp(`^${issued.jti} +${ids.web} +revoked `, 'm'));
    });

    test('fail/the admin API validates input and needs an operator', async () => {
      const cases: Array<[string, string, string, unknown, number, string, boolean?]> = [
        [
          'lifetime below 60',
          'POST',
          '/software-statements',
          { software_id: ids.web, lifetime_seconds: 59 },
          400,
          'invalid_input',
        ],
        [
          'lifetime above 3600',
          'POST',
          '/software-statements',
          { software_id: ids.web, lifetime_seconds: 3601 },
          400,
          'invalid_input',
        ],
        [
          'unknown member',
          'POST',
          '/software-statements',
          { software_id: ids.web, roles: ['x'] },
          400,
          'invalid_input',
        ],
        ['unknown application', 'POST', '/software-statements', { software_id: 'cl_nope' }, 404, 'not_found'],
        ['unknown jti', 'DELETE', '/software-statements/nope', undefined, 404, 'not_found'],
        [
          'no operator token',
          'POST',
          '/software-statements',
          { software_id: ids.web },
          401,
          'unauthorized',
          false,
        ],
      ];
      for (const [name, method, path, body, status, code, auth] of cases) {
        const r = await admin(method, path, body, auth ?? true);
        assert.equal(r.status, status, `${name}: ${r.body}`);
        assert.equal(json<{ code: string }>(r.body).code, code, name);
      }
      const openapi = json<{ paths: Record<string, Record<string, unknown>> }>(
        (await curl([`${platform.url}/admin/v1/openapi.json`])).body,
      );
      assert.ok(openapi.paths['/admin/v1/software-statements']?.post, 'OpenAPI documents the issue route');
      assert.ok(openapi.paths['/admin/v1/software-statements/{jti}']?.delete, 'OpenAPI documents revoke');
      // /directory/ is the platform's: an unknown path there is not handed to the authorization server.
      const unknown = await curl([`${platform.url}/directory/nope`]);
      assert.equal(unknown.status, 404);
      assert.equal(json<{ code: string }>(unknown.body).code, 'not_found');
    });
  });
}
