import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { opensslKeyAndRequest, PlatformProcess, type RunResult, run } from '../support/platform-process.ts';

const pemBlocks = (bundle: string) =>
  bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];

/**
 * The scenario with the real CLI, openssl and curl: certificates name a plain-http OCSP responder,
 * CA certificate and CRLs; `openssl ocsp` (POST with a nonce, GET) and `openssl verify -crl_check_all` with
 * the CRLs fetched from those URLs say good before a revocation and revoked (time, reason) right after.
 */
describe('OCSP and plain-http revocation data, end to end', { timeout: 180_000 }, () => {
  let platform: PlatformProcess;
  const f = (name: string) => join(platform.dir, name);
  let serial = '';
  const urls = { ocsp: '', caIssuers: '', crl: '', rootCrl: '', rootOcsp: '' };

  const cli = async (args: string[]) => {
    const r = await platform.cli([...args, '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const ok = (r: RunResult, what: string) => {
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return r;
  };
  const text = async (file: string) =>
    ok(await run('openssl', ['x509', '-noout', '-text', '-in', file]), file).stdout;
  const uri = (certText: string, label: RegExp) => {
    const match = label.exec(certText);
    assert.ok(match?.[1], `no ${label} in\n${certText}`);
    return match[1];
  };
  /** `openssl ocsp` against the URL the certificate names; POST, with a nonce unless told otherwise. */
  const ocsp = (extra: string[] = [], issuer = f('issuing.pem'), cert = f('partner.crt'), url = urls.ocsp) =>
    run('openssl', [
      'ocsp',
      '-issuer',
      issuer,
      '-cert',
      cert,
      '-url',
      url,
      '-CAfile',
      platform.caBundle,
      ...extra,
    ]);
  /** Downloads a URL over plain http with curl; fails the test on anything but 200. */
  const fetchTo = async (url: string, out: string, extra: string[] = []) => {
    const r = await run('curl', [
      '-sS',
      '-D',
      `${out}.headers`,
      '-o',
      out,
      '-w',
      '%{http_code}',
      ...extra,
      url,
    ]);
    assert.equal(r.stdout, '200', `${url}: ${r.stderr}`);
    return readFileSync(`${out}.headers`, 'utf8');
  };
  const verifyWithCrls = async (tag: string) => {
    // Each CRL from the distribution point the certificate below it names, as a relying party would.
    for (const [name, url] of [
      ['issuing', urls.crl],
      ['root', urls.rootCrl],
    ] as const) {
      await fetchTo(url, f(`${tag}-${name}.crl`));
      ok(
        await run('openssl', [
          'crl',
          '-inform',
          'DER',
          '-in',
          f(`${tag}-${name}.crl`),
          '-out',
          f(`${tag}-${name}.crl.pem`),
        ]),
        `${name} CRL`,
      );
    }
    return run('openssl', [
      'verify',
      '-crl_check_all',
      '-CAfile',
      platform.caBundle,
      '-CRLfile',
      f(`${tag}-issuing.crl.pem`),
      '-CRLfile',
      f(`${tag}-root.crl.pem`),
      f('partner.crt'),
    ]);
  };
  const ocspGet = async (tag: string) => {
    ok(
      await run('openssl', [
        'ocsp',
        '-issuer',
        f('issuing.pem'),
        '-cert',
        f('partner.crt'),
        '-no_nonce',
        '-reqout',
        f(`${tag}.req`),
      ]),
      'ocsp -reqout',
    );
    // RFC 6960 A.1: the base64 DER request, URL-encoded, after the responder URL.
    const encoded = encodeURIComponent(readFileSync(f(`${tag}.req`)).toString('base64'));
    const headers = await fetchTo(`${urls.ocsp}/${encoded}`, f(`${tag}.resp`));
    const parsed = await run('openssl', [
      'ocsp',
      '-respin',
      f(`${tag}.resp`),
      '-issuer',
      f('issuing.pem'),
      '-cert',
      f('partner.crt'),
      '-CAfile',
      platform.caBundle,
    ]);
    return { headers, parsed };
  };

  before(async () => {
    platform = await PlatformProcess.create();
    await platform.start(['--init']);
    const org = (await cli(['org', 'create', '--name', 'Acme Bank'])).id as string;
    const app = await cli([
      'app',
      'create',
      '--org',
      org,
      '--name',
      'Payments',
      '--roles',
      'partner_reader',
      '--auth',
      'tls_client_auth',
    ]);
    ok(await opensslKeyAndRequest({ key: f('partner.key'), out: f('partner.csr'), subject: '/CN=x' }), 'CSR');
    const cert = await cli([
      'cert',
      'issue',
      '--app',
      app.client_id as string,
      '--csr',
      f('partner.csr'),
      '--out',
      f('partner.crt'),
    ]);
    serial = cert.serial as string;
    const [issuing, root] = pemBlocks(readFileSync(platform.caBundle, 'utf8'));
    assert.ok(issuing && root);
    writeFileSync(f('issuing-from-bundle.pem'), issuing);
    writeFileSync(f('root.pem'), root);
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
  });

  test('ok/certificates carry plain-http CRL distribution points and AIA (OCSP, caIssuers)', async () => {
    const partner = await text(f('partner.crt'));
    const base = platform.pkiHttpUrl;
    urls.ocsp = uri(partner, /OCSP - URI:(\S+)/);
    urls.caIssuers = uri(partner, /CA Issuers - URI:(\S+)/);
    urls.crl = uri(partner, /X509v3 CRL Distribution Points:\s+Full Name:\s+URI:(\S+)/);
    assert.equal(urls.ocsp, `${base}/pki/ocsp`);
    assert.match(urls.caIssuers, new RegExp(`^${base}/pki/ca/[0-9a-f]+\\.cer$`));
    assert.equal(urls.crl, `${base}/pki/issuing-ca.crl`);
    const issuing = await text(f('issuing-from-bundle.pem'));
    urls.rootCrl = uri(issuing, /X509v3 CRL Distribution Points:\s+Full Name:\s+URI:(\S+)/);
    urls.rootOcsp = uri(issuing, /OCSP - URI:(\S+)/);
    assert.equal(urls.rootCrl, `${base}/pki/root-ca.crl`);
    assert.equal(urls.rootOcsp, `${base}/pki/ocsp`);
    // caIssuers: the issuing CA certificate itself, DER (RFC 5280 §4.2.2.1).
    const headers = await fetchTo(urls.caIssuers, f('issuing.cer'));
    assert.match(headers, /content-type: application\/pkix-cert/i);
    ok(
      await run('openssl', ['x509', '-inform', 'DER', '-in', f('issuing.cer'), '-out', f('issuing.pem')]),
      'caIssuers',
    );
    assert.equal(
      readFileSync(f('issuing.pem'), 'utf8').trim(),
      readFileSync(f('issuing-from-bundle.pem'), 'utf8').trim(),
    );
    const rootCaIssuers = uri(issuing, /CA Issuers - URI:(\S+)/);
    await fetchTo(rootCaIssuers, f('root.cer'));
  });

  test('ok/good: openssl ocsp POST with a nonce, GET, and verify -crl_check_all', async () => {
    const post = ok(await ocsp(), 'openssl ocsp');
    assert.match(post.stdout, /partner\.crt: good/);
    assert.match(post.stderr, /Response verify OK/);
    assert.doesNotMatch(
      `${post.stdout}${post.stderr}`,
      /nonce/i,
      'the nonce came back (no WARNING about it)',
    );
    const get = await ocspGet('before');
    ok(get.parsed, 'GET response');
    assert.match(get.parsed.stdout, /partner\.crt: good/);
    assert.match(get.headers, /content-type: application\/ocsp-response/i);
    assert.match(get.headers, /cache-control: max-age=\d+, public, no-transform, must-revalidate/i);
    assert.match(get.headers, /etag: "/i);
    const verified = await verifyWithCrls('before');
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /partner\.crt: OK/);
  });

  test('ok/the root responder answers for the issuing CA certificate', async () => {
    const r = ok(await ocsp([], f('root.pem'), f('issuing.pem'), urls.rootOcsp), 'root OCSP');
    assert.match(r.stdout, /issuing\.pem: good/);
  });

  test('ok/the HTTPS public listener answers OCSP too', async () => {
    ok(
      await run('openssl', [
        'ocsp',
        '-issuer',
        f('issuing.pem'),
        '-cert',
        f('partner.crt'),
        '-reqout',
        f('https.req'),
      ]),
      'req',
    );
    const status = await run('curl', [
      '-sS',
      '--cacert',
      platform.caBundle,
      '-o',
      f('https.resp'),
      '-w',
      '%{http_code}',
      '-H',
      'content-type: application/ocsp-request',
      '--data-binary',
      `@${f('https.req')}`,
      `${platform.url}/pki/ocsp`,
    ]);
    assert.equal(status.stdout, '200', status.stderr);
    const parsed = ok(
      // With -reqin (and no -cert, which would build a new request) openssl also checks the nonce came back.
      await run('openssl', [
        'ocsp',
        '-respin',
        f('https.resp'),
        '-reqin',
        f('https.req'),
        '-resp_text',
        '-CAfile',
        platform.caBundle,
      ]),
      'https response',
    );
    assert.match(parsed.stderr, /Response verify OK/);
    assert.match(parsed.stdout, /Cert Status: good/);
    assert.match(parsed.stdout, /OCSP Nonce/);
    // GET on the HTTPS listener: the base64 request, '/' and '+' included, after /pki/ocsp/.
    const encoded = encodeURIComponent(readFileSync(f('https.req')).toString('base64'));
    const get = await run('curl', [
      '-sS',
      '--cacert',
      platform.caBundle,
      '-o',
      f('https-get.resp'),
      '-w',
      '%{http_code}',
      `${platform.url}/pki/ocsp/${encoded}`,
    ]);
    assert.equal(get.stdout, '200', get.stderr);
    const got = ok(
      await run('openssl', [
        'ocsp',
        '-respin',
        f('https-get.resp'),
        '-reqin',
        f('https.req'),
        '-resp_text',
        '-CAfile',
        platform.caBundle,
      ]),
      'https GET response',
    );
    assert.match(got.stdout, /Cert Status: good/);
    const big = await run('curl', [
      '-sS',
      '--cacert',
      platform.caBundle,
      '-o',
      f('https-big.resp'),
      '-w',
      '%{http_code}',
      '-H',
      'content-type: application/ocsp-request',
      '--data-binary',
      'x'.repeat(20_000),
      `${platform.url}/pki/ocsp`,
    ]);
    assert.equal(big.stdout, '413');
    const bigParsed = await run('openssl', [
      'ocsp',
      '-respin',
      f('https-big.resp'),
      '-resp_text',
      '-noverify',
    ]);
    assert.match(`${bigParsed.stdout}${bigParsed.stderr}`, /malformedrequest/i);
  });

  test('fail/malformed requests get an OCSP malformedRequest; the http listener serves nothing else', async () => {
    const status = await run('curl', [
      '-sS',
      '-o',
      f('garbage.resp'),
      '-w',
      '%{http_code}',
      '-H',
      'content-type: application/ocsp-request',
      '--data-binary',
      'garbage',
      urls.ocsp,
    ]);
    assert.equal(status.stdout, '200');
    const parsed = await run('openssl', ['ocsp', '-respin', f('garbage.resp'), '-resp_text', '-noverify']);
    assert.match(`${parsed.stdout}${parsed.stderr}`, /malformedrequest/i);
    const big = await run('curl', [
      '-sS',
      '-o',
      f('big.resp'),
      '-w',
      '%{http_code}',
      '-H',
      'content-type: application/ocsp-request',
      '--data-binary',
      'x'.repeat(20_000),
      urls.ocsp,
    ]);
    assert.equal(big.stdout, '413', 'the body is bounded');
    const bigParsed = await run('openssl', ['ocsp', '-respin', f('big.resp'), '-resp_text', '-noverify']);
    assert.match(`${bigParsed.stdout}${bigParsed.stderr}`, /malformedrequest/i);
    for (const path of [
      '/health',
      '/admin/v1/organisations',
      '/pki/ca-bundle.pem',
      '/.well-known/openid-configuration',
    ]) {
      const other = await run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${platform.pkiHttpUrl}${path}`,
      ]);
      assert.equal(other.stdout, '404', path);
    }
    const unknownCa = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${platform.pkiHttpUrl}/pki/ca/00ff.cer`,
    ]);
    assert.equal(unknownCa.stdout, '404');
    const postCrl = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'POST',
      urls.crl,
    ]);
    assert.equal(postCrl.stdout, '405');
    const put = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', urls.ocsp]);
    assert.equal(put.stdout, '405');
  });

  test('ok/revoked: the next OCSP answer (POST and GET) and the CRLs say revoked, with time and reason', async () => {
    const revoked = await cli(['cert', 'revoke', serial, '--reason', 'keyCompromise']);
    assert.equal(revoked.status, 'revoked');
    const post = ok(await ocsp(), 'openssl ocsp after revocation');
    assert.match(post.stdout, /partner\.crt: revoked/);
    assert.match(post.stdout, /Reason: keyCompromise/);
    assert.match(post.stdout, /Revocation Time: /);
    const get = await ocspGet('after');
    assert.match(get.parsed.stdout, /partner\.crt: revoked/);
    const verified = await verifyWithCrls('after');
    assert.notEqual(verified.code, 0);
    assert.match(`${verified.stdout}${verified.stderr}`, /certificate revoked/);
  });
});
