import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createGuardedSender, FetchError, retryAfterSeconds } from '../../src/shared/guarded-fetch/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'accredit-guarded-sender-'));

/** A receiver certificate for 127.0.0.1 / localhost, made by openssl as an operator would. */
function receiverTls(): { cert: string; key: string } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('guarded sender: POSTs to a subscriber-named URL', () => {
  const tls = receiverTls();
  const seen: Seen[] = [];
  let server: Server;
  let origin: string;
  before(async () => {
    server = createServer(tls, (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/redirect') {
          res.writeHead(307, { location: `${origin}/elsewhere` });
          res.end();
        } else if (req.url === '/big') {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`boom\u0000\u001b[31m${'x'.repeat(100_000)}`);
        } else if (req.url === '/busy') {
          res.writeHead(503, { 'retry-after': '120' });
          res.end();
        } else if (req.url === '/silent') {
          // Never answers.
        } else {
          res.writeHead(204);
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const allowed = (extra: Parameters<typeof createGuardedSender>[0] = {}) =>
    createGuardedSender({ allowLoopback: true, ca: tls.cert, timeoutMs: 2000, ...extra });

  test('ok/the body and headers arrive; the status is the answer', async () => {
    const sender = allowed();
    try {
      seen.length = 0;
      const res = await sender.post({
        url: `${origin}/hook`,
        headers: { 'content-type': 'application/json', 'webhook-id': 'e1' },
        body: '{"a":1}',
      });
      assert.equal(res.status, 204);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.method, 'POST');
      assert.equal(seen[0]!.headers['webhook-id'], 'e1');
      assert.equal(seen[0]!.headers['content-type'], 'application/json');
      assert.equal(seen[0]!.body, '{"a":1}');
    } finally {
      await sender.close();
    }
  });

  test('ok/a large error answer: only a short excerpt is read, without control characters', async () => {
    const sender = allowed();
    try {
      const res = await sender.post({ url: `${origin}/big`, headers: {}, body: '' });
      assert.equal(res.status, 500);
      assert.ok(res.excerpt.length <= 256);
      assert.match(res.excerpt, /^boom \[31mx+$/);
      // The answer itself (a protocol's error description) is read up to maxResponseBytes, never all of it.
      assert.equal(res.contentType, 'text/plain');
      assert.equal(Buffer.byteLength(res.body), 8 * 1024);
      assert.ok(res.body.startsWith('boom\u0000'));
    } finally {
      await sender.close();
    }
  });

  test("ok/a 503's Retry-After is reported", async () => {
    const sender = allowed();
    try {
      const res = await sender.post({ url: `${origin}/busy`, headers: {}, body: '' });
      assert.equal(res.status, 503);
      assert.equal(res.retryAfterSeconds, 120);
    } finally {
      await sender.close();
    }
  });

  test('bad/a redirect is never followed: the 307 is the answer', async () => {
    const sender = allowed();
    try {
      seen.length = 0;
      const res = await sender.post({ url: `${origin}/redirect`, headers: {}, body: 'x' });
      assert.equal(res.status, 307);
      assert.deepEqual(
        seen.map((s) => s.url),
        ['/redirect'],
      );
    } finally {
      await sender.close();
    }
  });

  test('bad/loopback refused at connect time unless allowed; nothing reaches the receiver', async () => {
    const sender = createGuardedSender({ ca: tls.cert, timeoutMs: 2000 });
    try {
      seen.length = 0;
      await assert.rejects(sender.post({ url: `${origin}/hook`, headers: {}, body: 'x' }), {
        code: 'loopback_refused',
      });
      await assert.rejects(sender.assertFetchable(`${origin}/hook`), { code: 'loopback_refused' });
      assert.equal(seen.length, 0);
    } finally {
      await sender.close();
    }
  });

  test('bad/a name that resolved public at subscription and private at send time is refused (rebinding)', async () => {
    let calls = 0;
    const sender = createGuardedSender({
      ca: tls.cert,
      timeoutMs: 2000,
      resolveHost: async () => (calls++ === 0 ? ['203.0.114.7'] : ['10.0.0.5']),
    });
    try {
      await sender.assertFetchable('https://receiver.example/hook');
      await assert.rejects(sender.post({ url: 'https://receiver.example/hook', headers: {}, body: 'x' }), {
        code: 'private_address_refused',
      });
    } finally {
      await sender.close();
    }
  });

  test('bad/http, an untrusted certificate, and a silent receiver fail with stable codes', async () => {
    const sender = allowed();
    const untrusting = createGuardedSender({ allowLoopback: true, timeoutMs: 2000 });
    try {
      await assert.rejects(
        sender.post({ url: origin.replace('https:', 'http:'), headers: {}, body: 'x' }),
        (err) => err instanceof FetchError && err.code === 'https_required',
      );
      await assert.rejects(untrusting.post({ url: `${origin}/hook`, headers: {}, body: 'x' }), {
        code: 'tls_error',
      });
      const quick = allowed({ timeoutMs: 1000 });
      try {
        await assert.rejects(quick.post({ url: `${origin}/silent`, headers: {}, body: 'x' }), {
          code: 'timeout',
        });
      } finally {
        await quick.close();
      }
    } finally {
      await sender.close();
      await untrusting.close();
    }
  });
});

describe('guarded sender: Retry-After (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-03-01T10:00:00Z');
  test('ok/delay-seconds and an HTTP-date', () => {
    assert.equal(retryAfterSeconds('120', now), 120);
    assert.equal(retryAfterSeconds(' 0 ', now), 0);
    assert.equal(retryAfterSeconds('Sun, 01 Mar 2026 10:05:00 GMT', now), 300);
    assert.equal(retryAfterSeconds('Sun, 01 Mar 2026 09:00:00 GMT', now), 0, 'a past date: now');
  });
  test('bad/anything else is ignored', () => {
    for (const value of [undefined, '', '-5', '1.5', 'soon', '2026-03-01T10:05:00Z', '99999999999']) {
      assert.equal(retryAfterSeconds(value, now), undefined, String(value));
    }
  });
});
