import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createGuardedPoster, FetchError } from '../../src/shared/guarded-fetch/index.ts';
import { type CountingServer, startCountingServer } from '../support/counting-server.ts';

describe('guarded poster: deliveries to a URL a subscriber named', () => {
  let server: CountingServer;
  const seen: Array<{ url: string; type: string; auth: string; body: string }> = [];
  before(async () => {
    server = await startCountingServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          url: req.url ?? '',
          type: String(req.headers['content-type']),
          auth: String(req.headers.authorization),
          body: Buffer.concat(chunks).toString(),
        });
        if (req.url === '/moved') res.writeHead(307, { location: 'https://127.0.0.1:1/elsewhere' }).end();
        else if (req.url === '/big')
          res.writeHead(400, { 'content-type': 'application/json' }).end('x'.repeat(20_000));
        else res.writeHead(202, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
  });
  after(() => server.close());

  const refusals = async (url: string, code: string) => {
    const poster = createGuardedPoster({ ca: server.caPem });
    try {
      await assert.rejects(
        poster.post({ url, contentType: 'text/plain', body: 'x' }),
        (e: unknown) => e instanceof FetchError && e.code === code,
      );
      await assert.rejects(
        poster.assertFetchable(url),
        (e: unknown) => e instanceof FetchError && e.code === code,
      );
    } finally {
      await poster.close();
    }
  };

  test('fail/loopback refused by default, before any connection', async () => {
    const before = server.connections();
    await refusals(`${server.url}/events`, 'loopback_refused');
    assert.equal(server.connections(), before, 'nothing reached the server');
  });
  test('fail/private addresses refused by default', () =>
    refusals('https://10.1.2.3/events', 'private_address_refused'));
  test('fail/http is refused', () => refusals('http://93.184.216.34/events', 'https_required'));
  test('fail/credentials in the URL are refused', () =>
    refusals('https://u:p@93.184.216.34/', 'invalid_url'));

  test('ok/allowed loopback: POSTs the body with its type and headers, returns any status', async () => {
    const poster = createGuardedPoster({ ca: server.caPem, allowLoopback: true });
    try {
      const answer = await poster.post({
        url: `${server.url}/events`,
        contentType: 'application/secevent+jwt',
        body: 'a.b.c',
        headers: { authorization: 'Bearer r' },
      });
      assert.deepEqual(answer, { status: 202, contentType: 'application/json', body: '{"ok":true}' });
      assert.deepEqual(seen.at(-1), {
        url: '/events',
        type: 'application/secevent+jwt',
        auth: 'Bearer r',
        body: 'a.b.c',
      });
      // A POST is never redirected: the 307 is the answer.
      const moved = await poster.post({ url: `${server.url}/moved`, contentType: 'text/plain', body: 'x' });
      assert.equal(moved.status, 307);
      // An endless answer is cut off.
      await assert.rejects(
        poster.post({ url: `${server.url}/big`, contentType: 'text/plain', body: 'x' }),
        (e: unknown) => e instanceof FetchError && e.code === 'response_too_large',
      );
    } finally {
      await poster.close();
    }
  });
});
