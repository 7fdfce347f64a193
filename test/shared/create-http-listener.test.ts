import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createHttpListener } from '../../src/shared/create-http-listener.ts';
import { DEFAULT_LISTENER_LIMITS } from '../../src/shared/listener-limits.ts';
import { closedAfter, silentTcp } from '../support/listener-client.ts';

/** The plain-HTTP listener keeps the TLS listeners' connection limits (there is just no handshake). */
describe('createHttpListener', () => {
  const server = createHttpListener((_req, res) => res.end('ok'), {
    name: 'pkiHttp',
    limits: { ...DEFAULT_LISTENER_LIMITS, maxConnectionsPerAddress: 2, firstRequestTimeoutMs: 300 },
    logger: { warn: () => {}, error: () => {} },
  });
  let port = 0;
  const held: Socket[] = [];
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('ok/a request is answered', async () => {
    // No keep-alive: the connection must not count against the per-address cap below.
    const body = await new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let text = '';
        res.on('data', (d) => {
          text += String(d);
        });
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(body, 'ok');
  });

  test('fail/a connection that sends nothing is closed after the first-request timeout', async () => {
    const socket = await silentTcp(port);
    await closedAfter(socket, 10_000);
  });

  test('fail/beyond the per-address cap a connection is closed at once', async () => {
    held.push(await silentTcp(port), await silentTcp(port));
    const third = await silentTcp(port);
    // Closed by the cap, not by the first-request timeout that would close the first two as well.
    const [closedFirst] = await Promise.race([
      closedAfter(third, 10_000).then(() => ['third']),
      closedAfter(held[0]!, 10_000).then(() => ['held']),
    ]);
    assert.equal(closedFirst, 'third');
  });
});
