import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { engineTargets } from '../support/engines.ts';
import { opensslKeyAndRequest, PlatformProcess, run } from '../support/platform-process.ts';

const targets = await engineTargets();

const json = <T>(text: string): T => JSON.parse(text) as T;

for (const target of targets) {
  describe(`platform end to end: ${target.name}`, { skip: target.skip, timeout: 180_000 }, () => {
    let platform: PlatformProcess;
    let token: string;
    let orgId: string;
    let clientId: string;
    const files = (name: string) => join(platform.dir, name);

    before(async () => {
      const options = target.freshOptions();
      platform = await PlatformProcess.create(
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {},
      );
      if (target.name === 'sqlite') {
        // The README's path: `serve --init` initialises a new data directory, then serves.
        await platform.start(['--init']);
      } else {
        const init = await platform.cli(['init', '--json']);
        assert.equal(init.code, 0, init.stderr);
        assert.equal(json<{ engine: string }>(init.stdout).engine, 'postgres');
        await platform.start();
      }
      token = readFileSync(files('operator-token'), 'utf8').trim();
    });

    after(async () => {
      await platform?.stop();
      platform?.cleanup();
      await target.cleanup();
    });

    const curl = (args: string[]) => run('curl', ['-sS', '--cacert', platform.caBundle, ...args]);
    const admin = (method: string, path: string, body?: unknown, auth = true) =>
      curl([
        '-X',
        method,
        '-w',
        '\n%{http_code} %{content_type}',
        ...(auth ? ['-H', `authorization: Bearer ${token}`] : []),
        ...(body === undefined
          ? []
          : [
              '-H',
              'content-type: application/json',
              '--data-binary',
              typeof body === 'string' ? body : JSON.stringify(body),
            ]),
        `${platform.url}/admin/v1${path}`,
      ]).then((r) => {
        const lines = r.stdout.trimEnd().split('\n');
        const [status, ...type] = (lines.pop() ?? '').split(' ');
        return { status: Number(status), type: type.join(' '), body: lines.join('\n') };
      });

    test('ok/init wrote private files with owner-only permissions and a second init changes nothing', async () => {
      for (const name of ['kek', 'operator-token', 'accredit.json', 'tls/server.key.pem']) {
        assert.equal(
          statSync(files(name)).mode & 0o077,
          0,
          `${name} must not be readable by group or others`,
        );
      }
      const again = await platform.cli(['init', '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(json<{ created: boolean }>(again.stdout).created, false);
      assert.equal(readFileSync(files('operator-token'), 'utf8').trim(), token);
    });

    test('ok/status --json gives the listeners, CA bundle and CRL URL', async () => {
      const status = await platform.cli(['status', '--json']);
      assert.equal(status.code, 0, status.stderr);
      const s = json<{ running: boolean; listeners: { public: string }; ca_bundle: string; crl_url: string }>(
        status.stdout,
      );
      assert.equal(s.running, true);
      assert.equal(s.listeners.public, platform.url);
      assert.equal(s.ca_bundle, platform.caBundle);
      assert.equal(s.crl_url, `${platform.pkiHttpUrl}/pki/issuing-ca.crl`);
    });

    test('ok/the public listener answers over TLS verified against the platform CA', async () => {
      const health = await curl([`${platform.url}/health`]);
      assert.equal(health.code, 0, health.stderr);
      assert.deepEqual(json(health.stdout), { status: 'ok' });
      const openapi = await curl([`${platform.url}/admin/v1/openapi.json`]);
      const doc = json<{ openapi: string; paths: Record<string, unknown> }>(openapi.stdout);
      assert.equal(doc.openapi, '3.1.0');
      for (const path of [
        '/admin/v1/organisations',
        '/admin/v1/applications',
        '/admin/v1/certificates/{serial}/revoke',
      ]) {
        assert.ok(doc.paths[path], `OpenAPI documents ${path}`);
      }
    });

    test('fail/admin API without a valid operator token is 401 problem+json with a Bearer challenge', async () => {
      for (const header of [
        [],
        ['-H', 'authorization: Bearer acc_op_wrong'],
        ['-H', 'authorization: Basic Zm9vOmJhcg=='],
      ]) {
        const r = await curl(['-i', ...header, `${platform.url}/admin/v1/organisations`]);
        assert.match(r.stdout, /^HTTP\/1\.1 401/m);
        assert.match(r.stdout, /^www-authenticate: Bearer realm="accredit-admin"/im);
        assert.match(r.stdout, /^content-type: application\/problem\+json/im);
        assert.match(r.stdout, /"code":"unauthorized"/);
      }
    });

    test('fail/malformed input gets an RFC 9457 problem, never a stack trace', async () => {
      const cases: Array<[string, string, string, unknown, number, string]> = [
        ['fail/not JSON', 'POST', '/organisations', '{"name":', 400, 'invalid_request'],
        ['fail/missing name', 'POST', '/organisations', {}, 400, 'invalid_input'],
        ['fail/unknown property', 'POST', '/organisations', { name: 'X', admin: true }, 400, 'invalid_input'],
        ['fail/wrong type', 'POST', '/organisations', { name: 42 }, 400, 'invalid_input'],
        ['fail/unknown route', 'GET', '/nothing-here', undefined, 404, 'not_found'],
        [
          'fail/unknown org',
          'GET',
          '/organisations/00000000-0000-0000-0000-000000000000',
          undefined,
          404,
          'not_found',
        ],
        [
          'fail/bad auth method',
          'POST',
          '/applications',
          { org_id: 'x', name: 'y', roles: ['partner_reader'], auth_method: 'client_secret_basic' },
          400,
          'invalid_input',
        ],
        ['fail/bad serial', 'POST', '/certificates/not-hex/revoke', {}, 400, 'invalid_input'],
      ];
      for (const [name, method, path, body, status, code] of cases) {
        const r = await admin(method, path, body);
        assert.equal(r.status, status, `${name}: ${r.body}`);
        assert.match(r.type, /^application\/problem\+json(;|$)/, name);
        const p = json<{ code: string; status: number; type: string; title: string }>(r.body);
        assert.equal(p.code, code, name);
        assert.equal(p.status, status, name);
        assert.ok(p.type && p.title, name);
        assert.doesNotMatch(r.body, /at .+\.ts:\d+/, `${name}: no stack trace`);
      }
    });

    test('ok/operator creates an organisation and an application with the CLI', async () => {
      const org = await platform.cli(['org', 'create', '--name', 'Acme Bank', '--json']);
      assert.equal(org.code, 0, org.stderr);
      orgId = json<{ id: string }>(org.stdout).id;
      const app = await platform.cli([
        'app',
        'create',
        '--org',
        orgId,
        '--name',
        'Payments',
        '--roles',
        'partner_reader,partner_writer',
        '--auth',
        'tls_client_auth',
        '--json',
      ]);
      assert.equal(app.code, 0, app.stderr);
      const created = json<{ client_id: string; org_id: string; scopes: string[] }>(app.stdout);
      clientId = created.client_id;
      assert.equal(created.org_id, orgId);
      assert.deepEqual(created.scopes, ['accounts:read', 'accounts:write', 'payments:submit']);
      const list = await platform.cli(['app', 'list']);
      assert.match(list.stdout, new RegExp(clientId));
    });

    test('fail/CLI rejects bad input with one clear line and a non-zero exit code', async () => {
      writeFileSync(files('garbage.csr'), 'not a pem\n');
      await run('openssl', [
        'req',
        '-new',
        '-newkey',
        'rsa:1024',
        '-nodes',
        '-keyout',
        files('weak.key'),
        '-out',
        files('weak.csr'),
        '-subj',
        '/CN=weak',
      ]);
      const cases: Array<[string, string[], RegExp]> = [
        [
          'fail/unknown org',
          [
            'app',
            'create',
            '--org',
            'nope',
            '--name',
            'x',
            '--roles',
            'partner_reader',
            '--auth',
            'tls_client_auth',
          ],
          /organisation nope does not exist/,
        ],
        ['fail/duplicate org name', ['org', 'create', '--name', 'ACME BANK'], /already exists/],
        [
          'fail/duplicate app name',
          [
            'app',
            'create',
            '--org',
            orgId,
            '--name',
            'payments',
            '--roles',
            'partner_reader',
            '--auth',
            'tls_client_auth',
          ],
          /already has an application/,
        ],
        [
          'fail/unknown role',
          [
            'app',
            'create',
            '--org',
            orgId,
            '--name',
            'x',
            '--roles',
            'superuser',
            '--auth',
            'tls_client_auth',
          ],
          /unknown role: superuser/,
        ],
        [
          'fail/bad auth method',
          [
            'app',
            'create',
            '--org',
            orgId,
            '--name',
            'x',
            '--roles',
            'partner_reader',
            '--auth',
            'client_secret_post',
          ],
          /auth_method/,
        ],
        [
          'fail/weak CSR key',
          ['cert', 'issue', '--app', clientId, '--csr', files('weak.csr')],
          /CSR rejected: weak_key/,
        ],
        [
          'fail/malformed PEM',
          ['cert', 'issue', '--app', clientId, '--csr', files('garbage.csr')],
          /CSR rejected: malformed_pem/,
        ],
        [
          'fail/missing CSR file',
          ['cert', 'issue', '--app', clientId, '--csr', files('none.csr')],
          /cannot read CSR file/,
        ],
        [
          'fail/unknown application',
          ['cert', 'issue', '--app', 'cl_nope', '--csr', files('weak.csr')],
          /CSR rejected|does not exist/,
        ],
        ['fail/unknown serial', ['cert', 'revoke', 'abcdef'], /certificate abcdef does not exist/],
        [
          'fail/hold is not a final revocation',
          ['cert', 'revoke', 'abcdef', '--reason', 'certificateHold'],
          /reason/,
        ],
        ['fail/missing required option', ['org', 'create'], /required option '--name <name>' not specified/],
      ];
      for (const [name, args, message] of cases) {
        const r = await platform.cli(args);
        assert.notEqual(r.code, 0, `${name} must fail`);
        assert.match(r.stderr, message, name);
        assert.equal(
          r.stderr
            .trim()
            .split('\n')
            .filter((l) => !l.startsWith('(run with')).length,
          1,
          `${name}: one line, got ${r.stderr}`,
        );
        assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
      }
      const asJson = await platform.cli(['--json', 'org', 'show', 'nope']);
      assert.equal(asJson.code, 1);
      assert.equal(json<{ error: { code: string } }>(asJson.stderr).error.code, 'not_found');
    });

    test('ok/a plain openssl CSR gets a certificate openssl verifies with the CRL; fail/once revoked it is rejected', async () => {
      const req = await opensslKeyAndRequest({
        key: files('partner.key'),
        out: files('partner.csr'),
        subject: '/CN=evil/O=Attacker Corp',
      });
      assert.equal(req.code, 0, req.stderr);
      const issued = await platform.cli([
        'cert',
        'issue',
        '--app',
        clientId,
        '--csr',
        files('partner.csr'),
        '--out',
        files('partner.crt'),
      ]);
      assert.equal(issued.code, 0, issued.stderr);
      const serial = /serial:\s+([0-9a-f]+)/.exec(issued.stdout)?.[1];
      const x5t = /x5t#S256:\s+(\S+)/.exec(issued.stdout)?.[1];
      assert.ok(serial && x5t, issued.stdout);

      const subject = await run('openssl', [
        'x509',
        '-in',
        files('partner.crt'),
        '-noout',
        '-subject',
        '-ext',
        'extendedKeyUsage,crlDistributionPoints',
      ]);
      assert.match(
        subject.stdout,
        new RegExp(`O = Acme Bank, organizationIdentifier = ${orgId}, CN = ${clientId}`),
      );
      assert.doesNotMatch(subject.stdout, /evil|Attacker/);
      assert.match(subject.stdout, /TLS Web Client Authentication/);
      assert.match(subject.stdout, new RegExp(`URI:${platform.pkiHttpUrl}/pki/issuing-ca.crl`));

      const der = await run('sh', [
        '-c',
        `openssl x509 -in ${files('partner.crt')} -outform DER | openssl dgst -sha256 -binary | openssl base64 -A`,
      ]);
      assert.equal(der.stdout.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), x5t);

      const verify = async () => {
        const fetched = await curl(['-o', files('crl.der'), `${platform.url}/pki/issuing-ca.crl`]);
        assert.equal(fetched.code, 0, fetched.stderr);
        await run('openssl', ['crl', '-inform', 'DER', '-in', files('crl.der'), '-out', files('crl.pem')]);
        return run('openssl', [
          'verify',
          '-CAfile',
          platform.caBundle,
          '-crl_check',
          '-CRLfile',
          files('crl.pem'),
          files('partner.crt'),
        ]);
      };
      const ok = await verify();
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /: OK/);

      const revoked = await platform.cli(['cert', 'revoke', serial, '--reason', 'keyCompromise', '--json']);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(json<{ status: string }>(revoked.stdout).status, 'revoked');
      const rejected = await verify();
      assert.notEqual(rejected.code, 0);
      assert.match(rejected.stdout + rejected.stderr, /certificate revoked/);
      const again = await platform.cli(['cert', 'revoke', serial]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already revoked/);
    });

    test('ok/suspend and activate are recorded in the audit log, which verifies', async () => {
      assert.equal((await platform.cli(['app', 'suspend', clientId, '--reason', 'incident 42'])).code, 0);
      assert.equal((await platform.cli(['org', 'suspend', orgId])).code, 0);
      const blocked = await platform.cli(['app', 'activate', clientId]);
      assert.equal(blocked.code, 1);
      assert.match(blocked.stderr, /is suspended/);
      assert.equal((await platform.cli(['org', 'activate', orgId])).code, 0);
      assert.equal((await platform.cli(['app', 'activate', clientId])).code, 0);
      const audit = await admin('GET', '/audit?limit=1000');
      const actions = json<{ items: Array<{ action: string; actor: string }> }>(audit.body).items.map(
        (i) => i.action,
      );
      for (const action of [
        'platform.init',
        'organisation.create',
        'application.create',
        'certificate.issue',
        'certificate.revoke',
        'application.suspend',
        'organisation.suspend',
        'organisation.activate',
        'application.activate',
      ]) {
        assert.ok(actions.includes(action), `audit has ${action}`);
      }
      const verify = await admin('GET', '/audit/verify');
      assert.equal(json<{ ok: boolean }>(verify.body).ok, true);
      assert.doesNotMatch(audit.body, new RegExp(token), 'the operator token never appears in the audit log');
      assert.doesNotMatch(platform.output, new RegExp(token), 'the operator token never appears in the logs');
    });

    test('fail/a credential in a URL reaches no listener’s log: admin API, federation endpoint, gateway', async () => {
      // Refused (the admin API takes no such parameter), but logged like every request.
      assert.equal((await admin('GET', `/organisations?access_token=${token}`)).status, 400);
      await curl(['-o', '/dev/null', `${platform.url}/.well-known/openid-federation?access_token=${token}`]);
      await curl(['-o', '/dev/null', `${platform.url}/admin/v1/organisations/${token}`]);
      await curl(['-o', '/dev/null', `${platform.gatewayUrl}/v1/accounts/${token}`]);
      await curl(['-o', '/dev/null', `${platform.gatewayUrl}/${token}`]);
      const expected = [
        '"url":"/admin/v1/organisations?access_token=[redacted]"',
        '"url":"/.well-known/openid-federation?access_token=[redacted]"',
        '"url":"/admin/v1/organisations/[redacted]"',
        '"path":"/v1/accounts/[redacted]"',
        '"path":"/[redacted]"',
      ];
      // Logs reach stdout in batches flushed a few times a second.
      for (let i = 0; i < 50 && !expected.every((e) => platform.output.includes(e)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const e of expected) assert.ok(platform.output.includes(e), `logged: ${e}`);
      assert.doesNotMatch(platform.output, new RegExp(token), 'the operator token never appears in the logs');
    });

    test('ok/offboarding suspends the organisation’s clients and revokes its certificates', async () => {
      await opensslKeyAndRequest({
        key: files('p2.key'),
        out: files('p2.csr'),
        subject: '/CN=x',
        curve: 'P-384',
      });
      const issued = await platform.cli([
        'cert',
        'issue',
        '--app',
        clientId,
        '--csr',
        files('p2.csr'),
        '--json',
      ]);
      assert.equal(issued.code, 0, issued.stderr);
      const off = await platform.cli(['org', 'offboard', orgId, '--json']);
      assert.equal(off.code, 0, off.stderr);
      assert.equal(json<{ status: string }>(off.stdout).status, 'offboarded');
      const app = json<{ status: string }>((await platform.cli(['app', 'show', clientId, '--json'])).stdout);
      assert.equal(app.status, 'suspended');
      const certs = json<Array<{ status: string; revocation_reason: string }>>(
        (await platform.cli(['cert', 'list', '--app', clientId, '--json'])).stdout,
      );
      assert.ok(certs.length >= 2);
      assert.ok(certs.every((c) => c.status === 'revoked'));
      assert.ok(certs.some((c) => c.revocation_reason === 'cessationOfOperation'));
      const back = await platform.cli(['org', 'activate', orgId]);
      assert.equal(back.code, 1, 'offboarding is final');
    });

    test('ok/SIGTERM stops the platform cleanly and status reports it stopped', async () => {
      assert.equal(await platform.stop(), 0);
      assert.equal(existsSync(files('run/serve.json')), false);
      const status = json<{ running: boolean }>((await platform.cli(['status', '--json'])).stdout);
      assert.equal(status.running, false);
      const unreachable = await platform.cli(['org', 'list']);
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.stderr, /not running/);
    });
  });
}
