import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { engineTargets } from '../support/engines.ts';
import { opensslKeyAndRequest, PlatformProcess, run } from '../support/platform-process.ts';

const target = (await engineTargets()).find((t) => t.name === 'sqlite')!;
const CALLERS = 4;

interface Credentials {
  cert: string;
  key: string;
  agent: Agent;
  token: string;
}

/**
 * Issue 13's acceptance test: a partner calls the gateway in a loop with several concurrent callers while its
 * certificate is renewed — (a) by curl + openssl over EST simplereenroll, (b) by `accredit partner renew` — and
 * switches to the new certificate and a new token; not one request fails. Afterwards the old certificate is
 * revoked as superseded and refused at the gateway.
 */
describe('zero-downtime certificate rotation (EST, curl + openssl, accredit partner renew)', {
  skip: target.skip,
  timeout: 180_000,
}, () => {
  let platform: PlatformProcess;
  const f = (name: string) => join(platform.dir, name);
  let clientId: string;
  let current: Credentials;
  const outcome = { ok: 0, failed: [] as string[] };
  let stopping = false;
  let loops: Promise<void>[] = [];

  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  function agentFor(cert: string, key: string): Agent {
    return new Agent({
      connect: {
        cert: readFileSync(cert, 'utf8'),
        key: readFileSync(key, 'utf8'),
        ca: readFileSync(platform.caBundle, 'utf8'),
      },
    });
  }

  async function tokenWith(agent: Agent): Promise<{ status: number; token?: string; body: string }> {
    const res = await request(`${platform.mtlsUrl}/token`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString(),
    });
    const body = await res.body.text();
    return res.statusCode === 200
      ? { status: 200, token: (JSON.parse(body) as { access_token: string }).access_token, body }
      : { status: res.statusCode, body };
  }

  async function credentials(cert: string, key: string): Promise<Credentials> {
    const agent = agentFor(cert, key);
    const t = await tokenWith(agent);
    assert.equal(t.status, 200, t.body);
    return { cert, key, agent, token: t.token! };
  }

  async function callGateway(c: Credentials): Promise<{ status: number; body: string }> {
    const res = await request(`${platform.gatewayUrl}/v1/accounts`, {
      dispatcher: c.agent,
      headers: { authorization: `Bearer ${c.token}` },
    });
    return { status: res.statusCode, body: await res.body.text() };
  }

  /** One caller: the credentials in force when each request starts, request after request. */
  async function caller(): Promise<void> {
    while (!stopping) {
      const using = current;
      try {
        const r = await callGateway(using);
        if (r.status === 200) outcome.ok++;
        else outcome.failed.push(`${r.status} ${r.body.slice(0, 200)}`);
      } catch (err) {
        outcome.failed.push(`transport: ${(err as Error).message}`);
      }
    }
  }

  async function serialOf(cert: string): Promise<string> {
    const r = await run('openssl', ['x509', '-in', cert, '-noout', '-serial']);
    return r.stdout
      .trim()
      .replace(/^serial=/, '')
      .toLowerCase()
      .replace(/^0+/, '');
  }

  /** Waits until housekeeping has revoked the certificate as superseded (drain after first use). */
  async function revokedAsSuperseded(serial: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 60; i++) {
      const list = (await platform.cli(['cert', 'list', '--app', clientId, '--json'])).stdout;
      const cert = (JSON.parse(list) as Array<Record<string, unknown>>).find(
        (c) => String(c.serial).replace(/^0+/, '') === serial,
      );
      if (cert?.status === 'revoked') return cert;
      await sleep(500);
    }
    throw new Error(`certificate ${serial} was not revoked as superseded`);
  }

  /** Switches every caller to new credentials; the old agent finishes what is in flight, then closes. */
  async function switchTo(next: Credentials): Promise<Credentials> {
    const previous = current;
    current = next;
    return previous;
  }

  async function assertRefusedAtGateway(old: Credentials): Promise<void> {
    const r = await callGateway(old);
    assert.ok(
      r.status === 401 || r.status === 403,
      `the superseded certificate is refused: ${r.status} ${r.body}`,
    );
    const t = await tokenWith(old.agent);
    assert.equal(t.status, 401, t.body);
    assert.match(t.body, /revoked/);
  }

  before(async () => {
    platform = await PlatformProcess.create({
      // The window open at once (100 % of the lifetime), a short drain and a fast sweep, so the test is quick.
      ACCREDIT_RENEWAL_WINDOW_PERCENT: '100',
      ACCREDIT_RENEWAL_DRAIN_SECONDS: '2',
      ACCREDIT_RENEWAL_SWEEP_SECONDS: '1',
    });
    await platform.start(['--init']);
    const org = (await cli(['org', 'create', '--name', 'Rotating Bank'])).id as string;
    clientId = (
      await cli([
        'app',
        'create',
        '--org',
        org,
        '--name',
        'payments',
        '--roles',
        'partner_reader',
        '--auth',
        'tls_client_auth',
      ])
    ).client_id as string;
    const req = await opensslKeyAndRequest({
      key: f('client.key'),
      out: f('client.csr'),
      subject: '/CN=partner',
    });
    assert.equal(req.code, 0, req.stderr);
    await cli(['cert', 'issue', '--app', clientId, '--csr', f('client.csr'), '--out', f('client.crt')]);
    current = await credentials(f('client.crt'), f('client.key'));
    loops = Array.from({ length: CALLERS }, () => caller());
  });

  after(async () => {
    stopping = true;
    await Promise.allSettled(loops);
    await current?.agent.close();
    await platform?.stop();
    platform?.cleanup();
    await target.cleanup();
  });

  test('ok/EST cacerts with curl + openssl: the platform CA chain', async () => {
    const r = await run('sh', [
      '-c',
      `curl -sSf --cacert ${platform.caBundle} ${platform.mtlsUrl}/.well-known/est/cacerts | openssl base64 -d | openssl pkcs7 -inform DER -print_certs`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/BEGIN CERTIFICATE/g)?.length, 2);
  });

  test('ok/(a) curl + openssl simplereenroll, switch, zero failed requests, old certificate superseded', async (t) => {
    const before = outcome.ok;
    const oldSerial = await serialOf(current.cert);
    // The partner side with OpenSSL: a new key, a CSR in DER, base64 (RFC 7030 §4.2.1).
    const script = [
      `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${f('a.key')} -subj /CN=partner -outform DER | openssl base64 > ${f('a.csr.b64')}`,
      `curl -sSf --cacert ${platform.caBundle} --cert ${current.cert} --key ${current.key} -H 'Content-Type: application/pkcs10' --data-binary @${f('a.csr.b64')} ${platform.mtlsUrl}/.well-known/est/simplereenroll -o ${f('a.p7.b64')}`,
      `openssl base64 -d -in ${f('a.p7.b64')} | openssl pkcs7 -inform DER -print_certs -out ${f('a.crt')}`,
    ].join(' && ');
    const r = await run('sh', ['-c', script]);
    assert.equal(r.code, 0, r.stderr);
    const verify = await run('openssl', ['verify', '-CAfile', platform.caBundle, f('a.crt')]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    // The new certificate's first token request starts the drain; the callers switch right after it.
    const old = await switchTo(await credentials(f('a.crt'), f('a.key')));
    const revoked = await revokedAsSuperseded(oldSerial);
    assert.equal(revoked.revocation_reason, 'superseded');
    await sleep(300);
    assert.deepEqual(outcome.failed, []);
    assert.ok(outcome.ok > before, 'the callers kept calling');
    t.diagnostic(`${outcome.ok - before} requests through the gateway during the switch, 0 failed`);
    await assertRefusedAtGateway(old);
    await old.agent.close();
  });

  test('ok/(b) accredit partner renew, switch, zero failed requests, old certificate superseded', async (t) => {
    const before = outcome.ok;
    const oldSerial = await serialOf(current.cert);
    const r = await platform.cli([
      'partner',
      'renew',
      '--cert',
      current.cert,
      '--key',
      current.key,
      '--est-url',
      platform.mtlsUrl,
      '--ca',
      platform.caBundle,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const renewed = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(renewed.previous_serial?.replace(/^0+/, ''), oldSerial);
    assert.equal(statSync(f('a.key')).mode & 0o777, 0o600, 'the new key is private');
    assert.equal(statSync(f('a.key.previous')).mode & 0o777, 0o600, 'the previous key too');
    assert.equal(await serialOf(f('a.crt.previous')), oldSerial, 'the previous certificate is kept');
    // The old pair, kept in memory by the callers' agent, still works until the switch.
    const old = await switchTo(await credentials(f('a.crt'), f('a.key')));
    const revoked = await revokedAsSuperseded(oldSerial);
    assert.equal(revoked.revocation_reason, 'superseded');
    await sleep(300);
    assert.deepEqual(outcome.failed, []);
    assert.ok(outcome.ok > before, 'the callers kept calling');
    t.diagnostic(`${outcome.ok - before} requests through the gateway during the switch, 0 failed`);
    await assertRefusedAtGateway(old);
    await old.agent.close();
    // The audit trail links the renewals.
    const list = JSON.parse(
      (await platform.cli(['cert', 'list', '--app', clientId, '--json'])).stdout,
    ) as Array<Record<string, unknown>>;
    assert.equal(list.filter((c) => c.status === 'active').length, 1);
    assert.equal(list.filter((c) => c.revocation_reason === 'superseded').length, 2);
    // The callers' part is done; the remaining tests need the machine more than the load.
    stopping = true;
    await Promise.all(loops);
    assert.deepEqual(outcome.failed, []);
  });

  test('fail/accredit partner renew with a superseded certificate: one-line error, files untouched', async () => {
    const before = readFileSync(f('a.crt.previous'), 'utf8');
    const r = await platform.cli([
      'partner',
      'renew',
      '--cert',
      f('a.crt.previous'),
      '--key',
      f('a.key.previous'),
      '--est-url',
      platform.mtlsUrl,
      '--ca',
      platform.caBundle,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /revoked|refused/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(readFileSync(f('a.crt.previous'), 'utf8'), before);
  });

  test('ok/rotation policy from the CLI is enforced at renewal: a disallowed key refused, an allowed one renewed', async () => {
    const set = await cli([
      'app',
      'rotation-policy',
      'set',
      clientId,
      '--key-algorithms',
      'ES384',
      '--lifetime-days',
      '30',
    ]);
    assert.deepEqual((set.effective as { key_algorithms: string[] }).key_algorithms, ['ES384']);
    const bad = await platform.cli(['app', 'rotation-policy', 'set', clientId, '--lifetime-days', 'soon']);
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const renew = (extra: string[]) =>
      platform.cli([
        'partner',
        'renew',
        '--cert',
        f('a.crt'),
        '--key',
        f('a.key'),
        '--est-url',
        platform.mtlsUrl,
        '--ca',
        platform.caBundle,
        ...extra,
      ]);
    const refused = await renew([]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /key_algorithm_not_allowed/);
    const renewed = await renew(['--alg', 'ES384', '--json']);
    assert.equal(renewed.code, 0, renewed.stderr);
    const out = JSON.parse(renewed.stdout) as {
      key_description: string;
      not_before: string;
      not_after: string;
    };
    assert.equal(out.key_description, 'EC P-384');
    const days = (Date.parse(out.not_after) - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days <= 30, `the policy's lifetime: ${days}`);
    const help = await platform.cli(['partner', 'renew', '--help']);
    assert.match(help.stdout, /simplereenroll/);
  });
});
