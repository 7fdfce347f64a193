import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import {
  CLI,
  freePort,
  opensslKeyAndRequest,
  PlatformProcess,
  type RunResult,
  run,
} from '../support/platform-process.ts';

const certCount = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issuing CA rotation on a running platform, with curl and openssl as the partners: partner A holds a
 * certificate of issuing CA 1, the operator rotates, partner B gets one of issuing CA 2, and both obtain
 * tokens and reach the gateway; each CA's CRL is published at its own URL and verifies. Then the root goes
 * offline: rotation is refused until a ceremony brings the key for one command, from another process.
 */
describe('issuing CA rotation and offline root, end to end', { timeout: 240_000 }, () => {
  let platform: PlatformProcess;
  const f = (name: string) => join(platform.dir, name);
  const ids: Record<string, string> = {};
  let decisionPort: number;

  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  /**
   * curl trusting the root alone, as a partner does: OpenSSL then cannot complete the client's chain from
   * its own trust store, so it sends the bare leaf and the listener must know the issuing CA itself.
   */
  async function curl(args: string[]): Promise<RunResult & { status: number; body: string }> {
    const r = await run('curl', ['-sS', '--cacert', f('root-only.pem'), '-w', '\n%{http_code}', ...args]);
    const lines = r.stdout.trimEnd().split('\n');
    const status = Number(lines.pop());
    return { ...r, status, body: lines.join('\n') };
  }
  const as = (who: string) => ['--cert', f(`${who}.crt`), '--key', f(`${who}.key`)];
  const tokenOf = (who: string) =>
    curl([
      ...as(who),
      `${platform.mtlsUrl}/token`,
      '-d',
      'grant_type=client_credentials',
      '-d',
      `client_id=${ids[who]}`,
    ]);

  /** Token then gateway call; retried a few times while the listeners take the new bundle (change feed). */
  async function reachesGateway(who: string): Promise<{ token: number; api: number; body: string }> {
    let last = { token: 0, api: 0, body: '' };
    for (let attempt = 0; attempt < 40; attempt++) {
      const tok = await tokenOf(who);
      if (tok.status === 200) {
        const accessToken = (JSON.parse(tok.body) as { access_token: string }).access_token;
        const api = await curl([
          ...as(who),
          '-H',
          `authorization: Bearer ${accessToken}`,
          `${platform.gatewayUrl}/v1/accounts`,
        ]);
        last = { token: 200, api: api.status, body: api.body };
        if (api.status === 200) return last;
      } else {
        last = { token: tok.status, api: 0, body: tok.body + tok.stderr };
      }
      await sleep(250);
    }
    return last;
  }

  async function fetchCrl(path: string, name: string): Promise<string> {
    const der = f(`${name}.der`);
    const r = await run('curl', [
      '-sS',
      '--fail',
      '--cacert',
      platform.caBundle,
      '-o',
      der,
      `${platform.url}${path}`,
    ]);
    assert.equal(r.code, 0, `${path}: ${r.stderr}`);
    const pem = f(`${name}.crl.pem`);
    const converted = await run('openssl', ['crl', '-inform', 'DER', '-in', der, '-out', pem]);
    assert.equal(converted.code, 0, converted.stderr);
    return pem;
  }

  /** `openssl crl -CAfile … -verify`: the CRL is signed by a CA of the bundle. */
  async function assertCrlVerifies(pem: string): Promise<string> {
    const checked = await run('openssl', [
      'crl',
      '-in',
      pem,
      '-noout',
      '-text',
      '-CAfile',
      platform.caBundle,
    ]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stderr + checked.stdout, /verify OK/);
    return checked.stdout;
  }

  async function partner(who: string): Promise<void> {
    ids[who] = (
      await cli([
        'app',
        'create',
        '--org',
        ids.org!,
        '--name',
        who,
        '--roles',
        'partner_reader',
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
    await cli(['cert', 'issue', '--app', ids[who]!, '--csr', f(`${who}.csr`), '--out', f(`${who}.crt`)]);
  }

  const issuerOf = async (who: string) =>
    (await run('openssl', ['x509', '-noout', '-issuer', '-in', f(`${who}.crt`)])).stdout;

  before(async () => {
    decisionPort = await freePort();
    // The decision listener too (edges' auth_request / ext_authz): it moves to the new CA with the others.
    platform = await PlatformProcess.create({
      ACCREDIT_DECISION_PORT: String(decisionPort),
      ACCREDIT_DECISION_SECRET_FILE: 'decision-secret',
    });
    writeFileSync(join(platform.dir, 'decision-secret'), `${'s'.repeat(40)}\n`, { mode: 0o600 });
    await platform.start(['--init']);
    const initial = readFileSync(platform.caBundle, 'utf8').match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g,
    );
    writeFileSync(f('root-only.pem'), initial?.at(-1) ?? '');
    writeFileSync(f('initial-bundle.pem'), initial?.join('') ?? '');
    ids.org = (await cli(['org', 'create', '--name', 'Acme Bank'])).id as string;
    await partner('a');
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/partner A on CA 1, rotate, partner B on CA 2: both get tokens and 200 at the gateway', async () => {
    assert.match(await issuerOf('a'), /Accredit Issuing CA 1/);
    assert.equal(certCount(readFileSync(platform.caBundle, 'utf8')), 2);
    const before = await reachesGateway('a');
    assert.deepEqual([before.token, before.api], [200, 200], before.body);

    const started = performance.now();
    const rotated = await cli(['ca', 'rotate-issuing']);
    const answered = performance.now();
    // Measured, not asserted: until the mTLS listener serves a certificate of the new CA (feed → reload).
    let reloadedMs: number | undefined;
    for (let attempt = 0; attempt < 80 && reloadedMs === undefined; attempt++) {
      const shown = await run('sh', [
        '-c',
        `openssl s_client -connect localhost:${platform.ports.mtls} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -issuer`,
      ]);
      if (/Accredit Issuing CA 2/.test(shown.stdout)) reloadedMs = performance.now() - answered;
      else await sleep(50);
    }
    console.log(
      `# rotate-issuing CLI round trip ${(answered - started).toFixed(0)} ms (with node start); ` +
        `listeners on the new CA ${reloadedMs?.toFixed(0) ?? 'never'} ms after the answer`,
    );
    assert.equal(rotated.status, 'active');
    assert.equal(rotated.generation, 2);
    ids.ca1 = (
      (await cli(['ca', 'list'])) as unknown as Array<{ id: string; generation: number; kind: string }>
    ).find((a) => a.kind === 'issuing' && a.generation === 1)!.id;
    ids.ca2 = rotated.id as string;
    assert.equal(rotated.crl_url, `${platform.pkiHttpUrl}/pki/issuing/${ids.ca2}.crl`);

    const bundle = readFileSync(platform.caBundle, 'utf8');
    assert.equal(certCount(bundle), 3, 'the bundle file carries both issuing CAs and the root');
    const served = await curl([`${platform.url}/pki/ca-bundle.pem`]);
    assert.equal(served.body.trim(), bundle.trim());

    await partner('b');
    assert.match(await issuerOf('b'), /Accredit Issuing CA 2/);
    for (const who of ['a', 'b']) {
      const reached = await reachesGateway(who);
      assert.deepEqual([reached.token, reached.api], [200, 200], `${who}: ${reached.body}`);
    }
  });

  test('ok/each CA publishes its own CRL at its own URL; both verify and so do both partners', async () => {
    // The listeners moved to a server certificate of the active issuing CA.
    for (const port of [platform.ports.public, platform.ports.mtls, platform.ports.gateway, decisionPort]) {
      const shown = await run('sh', [
        '-c',
        `openssl s_client -connect localhost:${port} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -issuer`,
      ]);
      assert.match(shown.stdout, /Accredit Issuing CA 2/, `listener ${port}`);
    }
    const root = await fetchCrl('/pki/root-ca.crl', 'root');
    const old = await fetchCrl('/pki/issuing-ca.crl', 'ca1');
    const fresh = await fetchCrl(`/pki/issuing/${ids.ca2}.crl`, 'ca2');
    assert.match(await assertCrlVerifies(old), /CN ?= ?Accredit Issuing CA 1/);
    assert.match(await assertCrlVerifies(fresh), /CN ?= ?Accredit Issuing CA 2/);
    await assertCrlVerifies(root);
    // The first CA's CRL is also at its id path; an unknown id is 404.
    await fetchCrl(`/pki/issuing/${ids.ca1}.crl`, 'ca1-by-id');
    assert.equal(
      (await curl([`${platform.url}/pki/issuing/00000000-0000-0000-0000-000000000000.crl`])).status,
      404,
    );
    assert.equal((await curl([`${platform.url}/pki/issuing/..%2Fx.crl`])).status, 404);
    const chain = await curl([`${platform.url}/pki/crl-chain.pem`]);
    assert.equal(chain.body.match(/-----BEGIN X509 CRL-----/g)?.length, 3);
    for (const who of ['a', 'b']) {
      const verdict = await run('openssl', [
        'verify',
        '-crl_check_all',
        '-CAfile',
        platform.caBundle,
        '-CRLfile',
        root,
        '-CRLfile',
        old,
        '-CRLfile',
        fresh,
        f(`${who}.crt`),
      ]);
      assert.equal(verdict.code, 0, verdict.stdout + verdict.stderr);
    }
  });

  test('ok/an edge kit exported after the rotation carries both issuing CAs and all three CRLs', async () => {
    await cli(['edge', 'export', '--for', 'nginx', '--out', f('kit'), '--server-name', 'localhost']);
    assert.equal(certCount(readFileSync(f('kit/ca-bundle.pem'), 'utf8')), 3);
    const chain = readFileSync(f('kit/crl-chain.pem'), 'utf8');
    assert.equal(chain.match(/-----BEGIN X509 CRL-----/g)?.length, 3);
    for (const name of ['root-ca.crl', 'issuing-ca.crl', 'issuing-ca-2.crl']) {
      assert.ok(readFileSync(f(`kit/${name}`)).length > 0, name);
    }
    // nginx's view (ssl_client_certificate + ssl_crl): both partners verify with the kit alone.
    for (const who of ['a', 'b']) {
      const verdict = await run('openssl', [
        'verify',
        '-crl_check_all',
        '-CAfile',
        f('kit/ca-bundle.pem'),
        '-CRLfile',
        f('kit/crl-chain.pem'),
        f(`${who}.crt`),
      ]);
      assert.equal(verdict.code, 0, verdict.stdout + verdict.stderr);
    }
    const aws = await cli(['edge', 'export', '--for', 'aws', '--out', f('aws')]);
    assert.ok((aws.material as string[]).includes('truststore.pem'));
    assert.equal(certCount(readFileSync(f('aws/truststore.pem'), 'utf8')), 3);
  });

  test('ok/a standalone gateway configured with the old bundle learns the new CA from the feed', async () => {
    const issued = await cli(['gateway', 'credential', 'issue', '--name', 'edge-1']);
    writeFileSync(f('edge.credential'), issued.token as string, { mode: 0o600 });
    const made = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      f('gw.key'),
      '-out',
      f('gw.pem'),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ]);
    assert.equal(made.code, 0, made.stderr);
    const port = await freePort();
    const upstream = createServer((_req, res) => res.end('{"accounts":[]}'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const gateway = spawn(
      process.execPath,
      [
        CLI,
        'gateway',
        '--platform-url',
        platform.url,
        // The bundle of before the rotation: issuing CA 1 and the root.
        '--ca',
        f('initial-bundle.pem'),
        '--credential-file',
        f('edge.credential'),
        '--port',
        String(port),
        '--tls-cert',
        f('gw.pem'),
        '--tls-key',
        f('gw.key'),
        '--upstream',
        `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        '--audience',
        platform.gatewayUrl,
      ],
      { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    gateway.stdout!.on('data', (d) => {
      output += String(d);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${output}`)), 30_000);
        gateway.stderr!.on('data', (d) => {
          output += String(d);
          if (output.includes('accredit gateway: serving')) {
            clearTimeout(timer);
            resolve();
          }
        });
        gateway.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${output}`)));
      });
      for (const who of ['a', 'b']) {
        const tok = await tokenOf(who);
        assert.equal(tok.status, 200, tok.body);
        const accessToken = (JSON.parse(tok.body) as { access_token: string }).access_token;
        let status = 0;
        let body = '';
        for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
          // The partner trusts the gateway's own certificate: its client chain is the bare leaf.
          const r = await run('curl', [
            '-sS',
            '--cacert',
            f('gw.pem'),
            ...as(who),
            '-H',
            `authorization: Bearer ${accessToken}`,
            '-w',
            '\n%{http_code}',
            `https://localhost:${port}/v1/accounts`,
          ]);
          const lines = r.stdout.trimEnd().split('\n');
          status = Number(lines.pop());
          body = lines.join('\n') + r.stderr;
          if (status !== 200) await sleep(250);
        }
        assert.equal(status, 200, `${who} at the standalone gateway: ${body}\n${output}`);
      }
    } finally {
      gateway.kill('SIGTERM');
      upstream.close();
    }
  });

  test('fail/admin API: unknown CA 404, bad bodies 400, refusals 409, all problem+json', async () => {
    const token = readFileSync(f('operator-token'), 'utf8').trim();
    const admin = async (method: string, path: string, body?: string) => {
      const r = await run('curl', [
        '-sS',
        '--cacert',
        platform.caBundle,
        '-X',
        method,
        '-H',
        `authorization: Bearer ${token}`,
        ...(body !== undefined ? ['-H', 'content-type: application/json', '-d', body] : []),
        '-w',
        '\n%{http_code} %{content_type}',
        `${platform.url}/admin/v1${path}`,
      ]);
      const lines = r.stdout.trimEnd().split('\n');
      const [status, type] = (lines.pop() ?? '').split(' ');
      return {
        status: Number(status),
        type,
        body: JSON.parse(lines.join('\n') || '{}') as Record<string, unknown>,
      };
    };
    const unknown = await admin('POST', '/ca/issuing/00000000-0000-0000-0000-000000000000/retire', '{}');
    assert.equal(unknown.status, 404);
    assert.match(unknown.type ?? '', /application\/problem\+json/);
    assert.equal((await admin('POST', `/ca/issuing/${ids.ca1}/retire`, '{"force":"yes"}')).status, 400);
    assert.equal((await admin('POST', `/ca/issuing/${ids.ca1}/revoke`, '{"reason":"bored"}')).status, 400);
    assert.equal((await admin('POST', '/ca/issuing/rotate', '{"validity_days":5}')).status, 400);
    const inUse = await admin('POST', `/ca/issuing/${ids.ca1}/retire`, '{}');
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.code, 'ca_in_use');
    const active = await admin('POST', `/ca/issuing/${ids.ca2}/revoke`, '{}');
    assert.equal(active.status, 409);
    assert.equal(active.body.code, 'ca_active');
    const unauthenticated = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      platform.caBundle,
      '-X',
      'POST',
      `${platform.url}/admin/v1/ca/issuing/rotate`,
    ]);
    assert.equal(unauthenticated.stdout, '401');
    const list = await admin('GET', '/ca/authorities');
    assert.equal(list.status, 200);
  });

  test('fail/retiring CA 1 is refused while partner A’s certificate is active', async () => {
    const refused = await platform.cli(['ca', 'retire-issuing', ids.ca1!]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unexpired active certificate/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, 'one-line error');
    const active = await platform.cli(['ca', 'retire-issuing', ids.ca2!]);
    assert.match(active.stderr, /rotate to a new one first/);
  });

  test('fail/with the root offline rotation is refused; a ceremony from another process rotates', async () => {
    const pass = f('passphrase');
    writeFileSync(pass, 'a long root ceremony passphrase\n', { mode: 0o600 });
    const exported = await cli([
      'ca',
      'root',
      'export',
      '--out',
      f('root.key.enc'),
      '--passphrase-file',
      pass,
    ]);
    assert.equal(exported.file, f('root.key.enc'));
    const again = await platform.cli([
      'ca',
      'root',
      'export',
      '--out',
      f('root.key.enc'),
      '--passphrase-file',
      pass,
    ]);
    assert.notEqual(again.code, 0, 'an export never overwrites');
    assert.match(readFileSync(f('root.key.enc'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);

    const offline = await cli([
      'ca',
      'root',
      'offline',
      '--export',
      f('root.key.enc'),
      '--passphrase-file',
      pass,
    ]);
    assert.equal(offline.key_online, false);
    const refused = await platform.cli(['ca', 'rotate-issuing']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /root CA key is offline.*accredit ca ceremony/);

    const nothing = await platform.cli([
      'ca',
      'ceremony',
      '--root-key',
      f('root.key.enc'),
      '--passphrase-file',
      pass,
    ]);
    assert.notEqual(nothing.code, 0);
    const tooLong = await platform.cli([
      'ca',
      'ceremony',
      '--root-key',
      f('root.key.enc'),
      '--passphrase-file',
      pass,
      '--publish-root-crl',
      '--root-crl-days',
      '1000',
    ]);
    assert.match(tooLong.stderr, /--root-crl-days must be an integer from 1 to 400/);
    const wrongPass = f('wrong-passphrase');
    writeFileSync(wrongPass, 'not the ceremony passphrase\n');
    const wrong = await platform.cli([
      'ca',
      'ceremony',
      '--root-key',
      f('root.key.enc'),
      '--passphrase-file',
      wrongPass,
      '--publish-root-crl',
    ]);
    assert.match(wrong.stderr, /could not be decrypted with that passphrase/);
    const ceremony = await cli([
      'ca',
      'ceremony',
      '--root-key',
      f('root.key.enc'),
      '--passphrase-file',
      pass,
      '--rotate-issuing',
      '--publish-root-crl',
      '--root-crl-days',
      '120',
    ]);
    const rotated = ceremony.rotated as { generation: number; id: string };
    assert.equal(rotated.generation, 3);
    const rootCrl = ceremony.root_crl as { next_update: string };
    const days = (new Date(rootCrl.next_update).getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 119 && days <= 120, `root CRL valid ${days} days`);
    const list = (await cli(['ca', 'list'])) as unknown as Array<{ kind: string; key_online: boolean }>;
    assert.equal(list.find((a) => a.kind === 'root')?.key_online, false, 'the ceremony stored no key');

    // The running platform learns the new CA from the change feed: the bundle it serves grows to four.
    const ceremonyDone = performance.now();
    let served = '';
    for (let attempt = 0; attempt < 60 && certCount(served) !== 4; attempt++) {
      served = (await curl([`${platform.url}/pki/ca-bundle.pem`])).body;
      if (certCount(served) !== 4) await sleep(250);
    }
    assert.equal(certCount(served), 4);
    console.log(
      `# ceremony in another process → the running platform serves the new bundle: ${(performance.now() - ceremonyDone).toFixed(0)} ms`,
    );
    for (const who of ['a', 'b']) {
      const reached = await reachesGateway(who);
      assert.deepEqual([reached.token, reached.api], [200, 200], `${who}: ${reached.body}`);
    }
    const crl = await fetchCrl('/pki/root-ca.crl', 'root-ceremony');
    await assertCrlVerifies(crl);

    const imported = await cli([
      'ca',
      'root',
      'import',
      '--file',
      f('root.key.enc'),
      '--passphrase-file',
      pass,
    ]);
    assert.equal(imported.key_online, true);
    assert.doesNotMatch(platform.output, /BEGIN (ENCRYPTED )?PRIVATE KEY/, 'no key in the logs');
  });

  test('fail/issuing CA 1 revoked (compromise): partner A refused everywhere, partner B unaffected', async () => {
    const tokenBefore = await tokenOf('a');
    assert.equal(tokenBefore.status, 200, tokenBefore.body);
    const accessToken = (JSON.parse(tokenBefore.body) as { access_token: string }).access_token;
    const serial = ((await cli(['ca', 'list'])) as unknown as Array<{ id: string; serial: string }>).find(
      (a) => a.id === ids.ca1,
    )!.serial;

    const revoked = await cli(['ca', 'revoke-issuing', ids.ca1!, '--reason', 'keyCompromise']);
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.certificates_revoked, 1);

    // The root CRL lists the CA certificate (RFC 5280 §5.3.1 keyCompromise) and verifies under the root.
    const rootCrl = await fetchCrl('/pki/root-ca.crl', 'root-revoked');
    const text = await assertCrlVerifies(rootCrl);
    assert.match(text.replace(/\s/g, '').toLowerCase(), new RegExp(`serialnumber:${serial}`));
    assert.match(text, /Key Compromise/);
    assert.doesNotMatch(readFileSync(platform.caBundle, 'utf8'), /Issuing CA 1/);

    // A's token already issued and its certificate: refused at the gateway; no new token.
    // The gateway learns it from the change feed (certificate revoked, CA out of its trust): a few tries.
    let api = { status: 0, body: '' };
    for (let attempt = 0; attempt < 40; attempt++) {
      api = await curl([
        ...as('a'),
        '-H',
        `authorization: Bearer ${accessToken}`,
        `${platform.gatewayUrl}/v1/accounts`,
      ]);
      if (api.status !== 200) break;
      await sleep(100);
    }
    assert.equal(api.status, 403, api.body);
    assert.notEqual((await tokenOf('a')).status, 200);
    const b = await reachesGateway('b');
    assert.deepEqual([b.token, b.api], [200, 200], b.body);
  });
});
