import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createOcspChecker, queryOcsp } from '../../src/pki/index.ts';
import { ExternalCa, type ExternalLeaf } from '../support/external-ca.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';
import { freePort } from '../support/platform-process.ts';

/** `openssl ocsp` as the bank's responder, answering from an OpenSSL CA database (index.txt). */
async function startResponder(
  dir: string,
  name: string,
  ca: ExternalCa,
  signer: ExternalCa,
  entries: Array<{ leaf: ExternalLeaf; revoked?: boolean }>,
): Promise<{ url: string; child: ChildProcess }> {
  const index = entries
    .map(({ leaf, revoked }) => {
      const exp = '351231235959Z';
      return revoked
        ? `R\t${exp}\t250101000000Z,keyCompromise\t${leaf.serial}\tunknown\t/CN=${leaf.serial}`
        : `V\t${exp}\t\t${leaf.serial}\tunknown\t/CN=${leaf.serial}`;
    })
    .join('\n');
  writeFileSync(join(dir, `${name}.index`), `${index}\n`);
  writeFileSync(join(dir, `${name}.ca.pem`), ca.certPem);
  writeFileSync(join(dir, `${name}.signer.pem`), signer.certPem);
  writeFileSync(join(dir, `${name}.signer.key`), signer.keyPem());
  const port = await freePort();
  const child = spawn(
    'openssl',
    [
      'ocsp',
      '-index',
      join(dir, `${name}.index`),
      '-port',
      String(port),
      '-ignore_err',
      '-CA',
      join(dir, `${name}.ca.pem`),
      '-rsigner',
      join(dir, `${name}.signer.pem`),
      '-rkey',
      join(dir, `${name}.signer.key`),
      '-nmin',
      '5',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Listening once it says so on stderr ("Waiting for OCSP client connections...").
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('openssl ocsp did not start')), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      if (/waiting/i.test(String(d))) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

describe('bring your own CA: OCSP (RFC 6960) against an OpenSSL responder', { timeout: 60_000 }, () => {
  let dir: string;
  let bank: ExternalCa;
  let good: ExternalLeaf;
  let revoked: ExternalLeaf;
  let unknown: ExternalLeaf;
  let honest: { url: string; child: ChildProcess };
  let forged: { url: string; child: ChildProcess };
  const fetcher = testPartnerFetcher({ allowLoopback: true, allowPlainHttp: true });
  const der = (pem: string) => new X509Certificate(pem).raw;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'accredit-ocsp-'));
    bank = await ExternalCa.create('CN=Bank OCSP CA,O=Bank AG,C=DE');
    good = await bank.issue({ subject: 'CN=good,O=Bank AG,C=DE' });
    revoked = await bank.issue({ subject: 'CN=revoked,O=Bank AG,C=DE' });
    unknown = await bank.issue({ subject: 'CN=unknown,O=Bank AG,C=DE' });
    honest = await startResponder(dir, 'honest', bank, bank, [
      { leaf: good },
      { leaf: revoked, revoked: true },
    ]);
    // A responder signing with a key the bank never delegated to, answering "good" for everything.
    const rogue = await ExternalCa.create('CN=Bank OCSP CA,O=Bank AG,C=DE');
    forged = await startResponder(dir, 'forged', bank, rogue, [{ leaf: good }, { leaf: revoked }]);
  });

  after(async () => {
    honest?.child.kill();
    forged?.child.kill();
    await fetcher.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ok/good: signed by the CA, for this certificate, current', async () => {
    const answer = await queryOcsp(fetcher, honest.url, der(good.certPem), der(bank.certPem), new Date());
    assert.equal(answer.status, 'good');
    assert.ok(answer.validUntilMs > Date.now());
  });

  test('fail/revoked and unknown serials say so', async () => {
    const check = createOcspChecker(fetcher);
    assert.equal(
      await check(honest.url, 'ca', revoked.serial, der(revoked.certPem), der(bank.certPem), new Date()),
      'revoked',
    );
    assert.equal(
      await check(honest.url, 'ca', unknown.serial, der(unknown.certPem), der(bank.certPem), new Date()),
      'unknown',
    );
  });

  test('fail/an answer signed by a key the CA did not delegate to is refused (RFC 6960 §4.2.2.2)', async () => {
    await assert.rejects(
      queryOcsp(fetcher, forged.url, der(revoked.certPem), der(bank.certPem), new Date()),
      /responder verification failed|does not verify/,
    );
  });

  test('fail/an answer past its nextUpdate is refused', async () => {
    const later = new Date(Date.now() + 3_600_000);
    await assert.rejects(
      queryOcsp(fetcher, honest.url, der(good.certPem), der(bank.certPem), later),
      /stale/,
    );
  });

  test('fail/no responder: throws (the token endpoint then refuses: fail closed)', async () => {
    const port = await freePort();
    await assert.rejects(
      queryOcsp(fetcher, `http://127.0.0.1:${port}`, der(good.certPem), der(bank.certPem), new Date()),
    );
  });

  test('fail/plain http is refused by a fetcher that does not allow it', async () => {
    const strict = testPartnerFetcher({ allowLoopback: true });
    try {
      await assert.rejects(
        queryOcsp(strict, honest.url, der(good.certPem), der(bank.certPem), new Date()),
        (err: { code?: string }) => err.code === 'https_required',
      );
    } finally {
      await strict.close();
    }
  });
});
