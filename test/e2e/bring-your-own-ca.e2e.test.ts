import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PlatformProcess, run } from '../support/platform-process.ts';

/** A plain-http CRL distribution point serving whatever file it was last given (404 when none). */
function startCrlServer(): Promise<{ server: Server; serve(file: string | undefined): void; url: string }> {
  let body: Buffer | undefined;
  const server = createServer((req, res) => {
    if (body === undefined || req.url !== '/bank.crl') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        serve: (file) => {
          body = file === undefined ? undefined : readFileSync(file);
        },
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bank.crl`,
      }),
    ),
  );
}

/**
 * Bring your own CA end to end, with a bank's CA made by plain OpenSSL (`openssl req -x509`, `openssl ca`): the
 * organisation registers it, a client matched by its subject DN gets a certificate-bound token with a
 * certificate of that CA, and the gateway admits it; the bank revokes the certificate and publishes a new CRL →
 * refused after the refresh; the CRL stops being served until it is stale → refused (fail closed).
 */
describe('bring your own CA: a bank’s own OpenSSL CA, end to end', { timeout: 180_000 }, () => {
  let platform: PlatformProcess;
  let crl: Awaited<ReturnType<typeof startCrlServer>>;
  let dir: string;
  let operator: string;
  let orgId: string;
  let caId: string;
  let clientId: string;
  const f = (name: string) => join(dir, name);

  async function openssl(args: string[]): Promise<void> {
    const r = await run('openssl', args);
    assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  }

  async function curl(args: string[]): Promise<{ status: number; body: string }> {
    const r = await run('curl', ['-sS', '--cacert', platform.caBundle, '-w', '\n%{http_code}', ...args]);
    const lines = r.stdout.trimEnd().split('\n');
    return { status: Number(lines.pop()), body: lines.join('\n') };
  }

  async function admin(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const r = await curl([
      '-X',
      method,
      '-H',
      `authorization: Bearer ${operator}`,
      ...(body === undefined
        ? []
        : ['-H', 'content-type: application/json', '--data-binary', JSON.stringify(body)]),
      `${platform.url}/admin/v1${path}`,
    ]);
    return { status: r.status, json: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {} };
  }

  const asClient = () => ['--cert', f('client.pem'), '--key', f('client.key')];

  async function token(): Promise<{ status: number; json: Record<string, unknown> }> {
    const r = await curl([
      ...asClient(),
      '-d',
      'grant_type=client_credentials',
      '-d',
      `client_id=${clientId}`,
      `${platform.mtlsUrl}/token`,
    ]);
    return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown> };
  }

  async function gateway(accessToken: string): Promise<{ status: number; code?: string }> {
    const r = await curl([
      ...asClient(),
      '-H',
      `authorization: Bearer ${accessToken}`,
      `${platform.gatewayUrl}/v1/accounts`,
    ]);
    if (r.status === 200) return { status: 200 };
    return { status: r.status, code: (JSON.parse(r.body) as { code?: string }).code };
  }

  async function publishCrl(options: { seconds?: number } = {}): Promise<void> {
    await openssl([
      'ca',
      '-batch',
      '-config',
      f('ca.cnf'),
      '-gencrl',
      ...(options.seconds === undefined ? ['-crlhours', '24'] : ['-crlsec', String(options.seconds)]),
      '-out',
      f('bank.crl.pem'),
    ]);
    await openssl(['crl', '-in', f('bank.crl.pem'), '-outform', 'DER', '-out', f('bank.crl')]);
    crl.serve(f('bank.crl'));
  }

  before(async () => {
    crl = await startCrlServer();
    // The CRL lives on loopback here: the platform's fetch policy must allow it (never in production).
    platform = await PlatformProcess.create({ ACCREDIT_FEDERATION_ALLOW_LOOPBACK: 'true' });
    dir = platform.dir;
    assert.equal((await platform.cli(['init', '--json'])).code, 0);
    await platform.start();
    operator = readFileSync(join(dir, 'operator-token'), 'utf8').trim();

    // The bank's CA, as its PKI team would make it with OpenSSL.
    writeFileSync(f('index.txt'), '');
    writeFileSync(f('crlnumber'), '01\n');
    writeFileSync(
      f('ca.cnf'),
      `[ ca ]
default_ca = bank
[ bank ]
database = ${f('index.txt')}
crlnumber = ${f('crlnumber')}
certificate = ${f('ca.pem')}
private_key = ${f('ca.key')}
default_md = sha256
default_crl_hours = 24
`,
    );
    await openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-days',
      '365',
      '-subj',
      '/C=DE/O=Bank AG/CN=Bank AG Issuing CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      `crlDistributionPoints=URI:${crl.url}`,
    ]);
    await openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f('client.key'),
      '-out',
      f('client.csr'),
      '-subj',
      '/C=DE/O=Bank AG/CN=payments-gateway',
    ]);
    writeFileSync(
      f('client.ext'),
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
    await openssl([
      'x509',
      '-req',
      '-in',
      f('client.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-set_serial',
      '0x0A11CE',
      '-days',
      '90',
      '-extfile',
      f('client.ext'),
      '-out',
      f('client.pem'),
    ]);
    // `openssl ca -revoke` wants the certificate in its database: record it as issued.
    const { stdout: enddate } = await run('openssl', [
      'x509',
      '-in',
      f('client.pem'),
      '-noout',
      '-enddate',
      '-dateopt',
      'iso_8601',
    ]);
    const notAfter = new Date(enddate.replace('notAfter=', '').trim());
    const utc = notAfter.toISOString().replace(/[-:T]/g, '').slice(2, 14);
    writeFileSync(f('index.txt'), `V\t${utc}Z\t\t0A11CE\tunknown\t/C=DE/O=Bank AG/CN=payments-gateway\n`);
    await publishCrl();
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    crl?.server.close();
  });

  test('ok/register the CA (CLI), a client by subject DN; token bound to the bank certificate; gateway 200', async () => {
    const org = await admin('POST', '/organisations', { name: 'Bank AG' });
    assert.equal(org.status, 201, JSON.stringify(org.json));
    orgId = String(org.json.id);
    const added = await platform.cli([
      'org',
      'ca',
      'add',
      orgId,
      '--cert',
      f('ca.pem'),
      '--max-staleness',
      '0',
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const ca = JSON.parse(added.stdout) as {
      id: string;
      crl_urls: string[];
      crl: { last_error: string | null; stale_after: string | null };
    };
    assert.deepEqual(ca.crl_urls, [crl.url], 'from the CA certificate’s CRL distribution point');
    assert.equal(ca.crl.last_error, null);
    assert.ok(ca.crl.stale_after);
    caId = ca.id;
    const listed = await platform.cli(['org', 'ca', 'list', orgId, '--json']);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 1);

    const app = await admin('POST', '/applications', {
      org_id: orgId,
      name: 'Payments gateway',
      roles: ['partner_reader'],
      auth_method: 'tls_client_auth',
      metadata: { tls_client_auth_subject_dn: 'CN=payments-gateway, O=Bank AG, C=DE' },
    });
    assert.equal(app.status, 201, JSON.stringify(app.json));
    clientId = String(app.json.client_id);

    const t = await token();
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal((await gateway(String(t.json.access_token))).status, 200);
  });

  test('fail/another organisation cannot register the same CA (one key, one organisation)', async () => {
    const other = await admin('POST', '/organisations', { name: 'Not the Bank' });
    const again = await admin('POST', `/organisations/${other.json.id}/cas`, {
      certificate_pem: readFileSync(f('ca.pem'), 'utf8'),
    });
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'ca_already_registered');
  });

  test('fail/admin API refusals are RFC 9457 problems: not a CA, garbage, unknown organisation', async () => {
    const leafPem = readFileSync(f('client.pem'), 'utf8');
    const notCa = await admin('POST', `/organisations/${orgId}/cas`, { certificate_pem: leafPem });
    assert.deepEqual([notCa.status, notCa.json.code], [400, 'invalid_ca_certificate']);
    const garbage = await admin('POST', `/organisations/${orgId}/cas`, { certificate_pem: 'not a pem' });
    assert.deepEqual([garbage.status, garbage.json.code], [400, 'invalid_ca_certificate']);
    const unknown = await admin('POST', '/organisations/no-such-org/cas', {
      certificate_pem: readFileSync(f('ca.pem'), 'utf8'),
    });
    assert.equal(unknown.status, 404);
    const extra = await admin('POST', `/organisations/${orgId}/cas`, {
      certificate_pem: leafPem,
      surprise: 1,
    });
    assert.equal(extra.status, 400);
    const listed = await admin('GET', `/organisations/${orgId}/cas`);
    assert.equal((listed.json.items as unknown[]).length, 1, 'nothing half-written');
  });

  test('fail/the bank revokes the certificate and publishes a new CRL: refused after the refresh', async () => {
    const t = await token();
    assert.equal(t.status, 200);
    await openssl([
      'ca',
      '-batch',
      '-config',
      f('ca.cnf'),
      '-revoke',
      f('client.pem'),
      '-crl_reason',
      'keyCompromise',
    ]);
    await publishCrl();
    const refreshed = await platform.cli(['org', 'ca', 'refresh', orgId, caId, '--json']);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.equal((JSON.parse(refreshed.stdout) as { crl: { revoked_count: number } }).crl.revoked_count, 1);
    assert.deepEqual(await gateway(String(t.json.access_token)), {
      status: 403,
      code: 'certificate_revoked',
    });
    const again = await token();
    assert.equal(again.status, 401);
    assert.equal(again.json.error, 'invalid_client');
  });

  test('fail/the CRL stops being served until it is stale: refused everywhere (issuer_revocation_stale)', async () => {
    // A fresh certificate from the same CA (the revoked one stays revoked), then a CRL valid for 3 seconds.
    await openssl([
      'x509',
      '-req',
      '-in',
      f('client.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-set_serial',
      '0x0B0B',
      '-days',
      '90',
      '-extfile',
      f('client.ext'),
      '-out',
      f('client.pem'),
    ]);
    await publishCrl({ seconds: 3 });
    await platform.cli(['org', 'ca', 'refresh', orgId, caId, '--json']);
    const t = await token();
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal((await gateway(String(t.json.access_token))).status, 200);
    crl.serve(undefined);
    await sleep(4000);
    const failed = await platform.cli(['org', 'ca', 'refresh', orgId, caId, '--json']);
    assert.match(
      String((JSON.parse(failed.stdout) as { crl: { last_error: string } }).crl.last_error),
      /404/,
    );
    assert.deepEqual(await gateway(String(t.json.access_token)), {
      status: 403,
      code: 'issuer_revocation_stale',
    });
    const refused = await token();
    assert.equal(refused.status, 401);
    assert.match(String(refused.json.error_description), /issuer_revocation_stale/);
  });

  test('ok/remove the CA (CLI): its certificates stop authenticating at once', async () => {
    await publishCrl();
    crl.serve(f('bank.crl'));
    await platform.cli(['org', 'ca', 'refresh', orgId, caId, '--json']);
    const t = await token();
    assert.equal(t.status, 200, JSON.stringify(t.json));
    const removed = await platform.cli(['org', 'ca', 'remove', orgId, caId, '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(await gateway(String(t.json.access_token)), {
      status: 403,
      code: 'certificate_untrusted',
    });
    assert.equal((await token()).status, 401);
    const missing = await platform.cli(['org', 'ca', 'remove', orgId, caId]);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stderr.trim().split('\n').length, 1, 'one-line error');
  });
});
