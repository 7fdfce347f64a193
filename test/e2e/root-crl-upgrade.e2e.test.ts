import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decryptPrivateKey, reissueIssuingCa } from '../../src/pki/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { opensslKeyAndRequest, PlatformProcess, run } from '../support/platform-process.ts';

const certText = (pem: string) =>
  spawnSync('openssl', ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8' }).stdout;
const firstCert = (bundle: string) => bundle.split(/(?<=-----END CERTIFICATE-----\n)/)[0] ?? '';

/**
 * An installation from before the root CRL: its issuing CA certificate has no CRL distribution point and
 * the root never published a CRL. Starting this version publishes the root's CRL; `ca reissue-issuing`
 * adds the distribution point, and the partner certificates issued before keep verifying at every level.
 */
describe('upgrade: root CRL and CDP for an existing installation', { timeout: 180_000 }, () => {
  let platform: PlatformProcess;
  const f = (name: string) => join(platform.dir, name);
  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const fetchCrl = async (path: string, out: string) => {
    const r = await run('curl', [
      '-sS',
      '--fail',
      '--cacert',
      platform.caBundle,
      '-o',
      f(`${out}.der`),
      `${platform.url}${path}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pem = spawnSync('openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      f(`${out}.der`),
      '-out',
      f(`${out}.pem`),
    ]);
    assert.equal(pem.status, 0, String(pem.stderr));
    return f(`${out}.pem`);
  };

  before(async () => {
    platform = await PlatformProcess.create();
    const init = await platform.cli(['init']);
    assert.equal(init.code, 0, init.stderr);
    // Turn the new installation into an old one: the issuing CA re-signed without a CDP, no root CRL.
    const storage = await openStorage({ url: f('accredit.db') });
    const kek = readFileSync(f('kek'), 'utf8').trim();
    const rows = await storage.db.selectFrom('certificate_authorities').selectAll().execute();
    const root = rows.find((r) => r.kind === 'root')!;
    const issuing = rows.find((r) => r.kind === 'issuing')!;
    const old = await reissueIssuingCa({
      parent: { certPem: root.cert_pem, privateKey: decryptPrivateKey(root.key_pem!, kek) },
      current: { certPem: issuing.cert_pem, privateKey: decryptPrivateKey(issuing.key_pem!, kek) },
      crlUrl: undefined,
    });
    await storage.db
      .updateTable('certificate_authorities')
      .set({ cert_pem: old.certPem, serial: old.serialHex })
      .where('id', '=', issuing.id)
      .execute();
    await storage.db.deleteFrom('crls').where('ca_id', '=', root.id).execute();
    await storage.close();
    await platform.start();
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/the first start publishes the root CRL; reissue-issuing adds the CDP; old partners verify', async () => {
    assert.doesNotMatch(
      certText(firstCert(readFileSync(platform.caBundle, 'utf8'))),
      /CRL Distribution Points/,
    );
    // Published by the start's housekeeping: nothing else signs a root CRL here.
    const first = spawnSync(
      'openssl',
      ['crl', '-noout', '-text', '-in', await fetchCrl('/pki/root-ca.crl', 'first')],
      {
        encoding: 'utf8',
      },
    ).stdout;
    assert.match(first, /Issuer: O ?= ?Accredit, CN ?= ?Accredit Root CA/);

    const org = (await cli(['org', 'create', '--name', 'Acme Bank'])).id as string;
    const app = await cli([
      'app',
      'create',
      '--org',
      org,
      '--name',
      'p',
      '--roles',
      'partner_reader',
      '--auth',
      'tls_client_auth',
    ]);
    const req = await opensslKeyAndRequest({ key: f('p.key'), out: f('p.csr'), subject: '/CN=x' });
    assert.equal(req.code, 0, req.stderr);
    await cli(['cert', 'issue', '--app', app.client_id as string, '--csr', f('p.csr'), '--out', f('p.crt')]);

    const reissued = await cli(['ca', 'reissue-issuing']);
    assert.equal(reissued.crl_distribution_point, `${platform.pkiHttpUrl}/pki/root-ca.crl`);
    const bundle = readFileSync(platform.caBundle, 'utf8');
    assert.match(certText(firstCert(bundle)), new RegExp(`URI:${platform.pkiHttpUrl}/pki/root-ca\\.crl`));
    const served = await run('curl', [
      '-sS',
      '--cacert',
      platform.caBundle,
      `${platform.url}/pki/ca-bundle.pem`,
    ]);
    assert.equal(served.stdout, bundle);

    const rootCrl = await fetchCrl('/pki/root-ca.crl', 'root');
    const issuingCrl = await fetchCrl('/pki/issuing-ca.crl', 'issuing');
    const verified = spawnSync(
      'openssl',
      [
        'verify',
        '-crl_check_all',
        '-CAfile',
        platform.caBundle,
        '-CRLfile',
        rootCrl,
        '-CRLfile',
        issuingCrl,
        f('p.crt'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  });
});
