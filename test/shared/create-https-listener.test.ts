import assert from 'node:assert/strict';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createRootCa, generateKeyPair, issueServerCertificate } from '../../src/pki/index.ts';
import { createHttpsListener } from '../../src/shared/create-https-listener.ts';
import {
  DEFAULT_LISTENER_LIMITS,
  type ListenerLimits,
  resolveListenerLimits,
} from '../../src/shared/listener-limits.ts';
import { sourceAddressKey } from '../../src/shared/source-address-key.ts';
import { closedAfter, httpGet, silentTcp, type Target, tlsHandshake } from '../support/listener-client.ts';

const SHORT = 300;
// Generous: the assertion is "closed, and not before the limit", never a precise duration.
const WITHIN = 5_000;

let tls: { cert: string; key: string; ca: string };
before(async () => {
  const now = new Date(Date.now() - 86_400_000);
  const root = await createRootCa({ commonName: 'Listener Test CA', organization: 'Accredit', now });
  const keys = generateKeyPair('ES256');
  const issued = await issueServerCertificate({
    issuer: root,
    publicKey: keys.publicKey,
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    now,
  });
  const key = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  tls = { cert: issued.certPem, key, ca: root.certPem };
});

interface Running {
  target: Target;
  server: Server;
  logged: Array<Record<string, unknown>>;
  held: Set<{ destroy(): void }>;
}
const running: Running[] = [];
after(async () => {
  for (const r of running) {
    for (const s of r.held) s.destroy();
    r.server.closeAllConnections();
    await new Promise((resolve) => r.server.close(resolve));
  }
});

async function listen(
  limits: Partial<ListenerLimits>,
  host = '127.0.0.1',
  uncappedAddresses: string[] = [],
): Promise<Running> {
  const logged: Array<Record<string, unknown>> = [];
  const record = (obj: object, msg: string) => logged.push({ ...obj, msg });
  const server = createHttpsListener(
    { cert: tls.cert, key: tls.key },
    (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end('ok');
    },
    {
      name: 'test',
      limits: { ...DEFAULT_LISTENER_LIMITS, ...limits },
      logger: { warn: record, error: record },
      uncappedAddresses,
    },
  );
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const r: Running = {
    target: { port: (server.address() as AddressInfo).port, ca: tls.ca },
    server,
    logged,
    held: new Set(),
  };
  running.push(r);
  return r;
}

function hold<T extends { destroy(): void }>(r: Running, socket: T): T {
  r.held.add(socket);
  return socket;
}

async function handshake(r: Running, from = '127.0.0.1'): Promise<TLSSocket> {
  const socket = await tlsHandshake(r.target, from);
  assert.notEqual(socket, 'refused', `a connection from ${from} was refused`);
  return hold(r, socket as TLSSocket);
}

describe('createHttpsListener: timeouts', () => {
  test('fail/a TCP connection that never sends a ClientHello is closed after handshakeTimeoutMs', async () => {
    const r = await listen({ handshakeTimeoutMs: SHORT });
    const socket = hold(r, await silentTcp(r.target.port));
    const ms = await closedAfter(socket, WITHIN);
    assert.ok(ms >= SHORT - 50, `closed after ${ms} ms, before the ${SHORT} ms limit`);
    assert.deepEqual(r.logged[0]?.shed, { handshake_timeout: 1 });
  });

  test('fail/a TLS connection that sends no request is closed after firstRequestTimeoutMs', async () => {
    const r = await listen({ firstRequestTimeoutMs: SHORT });
    const socket = await handshake(r);
    const ms = await closedAfter(socket, WITHIN);
    assert.ok(ms >= SHORT - 50, `closed after ${ms} ms, before the ${SHORT} ms limit`);
    assert.deepEqual(r.logged[0]?.shed, { first_request_timeout: 1 });
  });

  test('fail/a first request whose headers never end is cut at firstRequestTimeoutMs', async () => {
    const r = await listen({ firstRequestTimeoutMs: SHORT });
    const socket = await handshake(r);
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
    await closedAfter(socket, WITHIN);
  });

  test('ok/a keep-alive connection that sent a request outlives firstRequestTimeoutMs', async () => {
    const r = await listen({ firstRequestTimeoutMs: SHORT });
    const socket = await handshake(r);
    assert.equal(await httpGet(socket), 200);
    await new Promise((resolve) => setTimeout(resolve, SHORT * 3));
    assert.equal(socket.destroyed, false);
    assert.equal(await httpGet(socket), 200);
  });
});

describe('createHttpsListener: caps', () => {
  test('fail/the (N+1)th connection from one address is refused; ok/another address is still served', async () => {
    const r = await listen({ maxConnectionsPerAddress: 3 });
    const first = [await handshake(r), await handshake(r), await handshake(r)];
    assert.equal(await tlsHandshake(r.target, '127.0.0.1'), 'refused');
    const other = await handshake(r, '127.0.0.2');
    assert.equal(await httpGet(other), 200);
    // Existing connections of the capped address keep working, and a closed one frees its place.
    assert.equal(await httpGet(first[0]!), 200);
    first[1]!.destroy();
    await closedAfter(first[1]!, WITHIN);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await httpGet(await handshake(r)), 200);
    assert.equal(r.logged[0]?.msg, 'connections shed');
    assert.deepEqual(r.logged[0]?.causes, { '127.0.0.1': 1 });
  });

  test('fail/a source at its cap is refused at accept: no socket reaches the listener until one closes', async () => {
    const r = await listen({ maxConnectionsPerAddress: 2 });
    const held = [await handshake(r), await handshake(r)];
    let seen = 0;
    r.server.prependListener('connection', () => seen++);
    for (let i = 0; i < 5; i++) assert.equal(await tlsHandshake(r.target, '127.0.0.1'), 'refused');
    assert.equal(seen, 0, 'refused by the BlockList before any Socket existed');
    assert.equal(await httpGet(await handshake(r, '127.0.0.2')), 200);
    assert.equal(seen, 1);
    held[0]!.destroy();
    await closedAfter(held[0]!, WITHIN);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await httpGet(await handshake(r)), 200, 'a freed place is taken again');
  });

  test('fail/the (N+1)th connection to the listener is refused, whatever its address', async () => {
    const r = await listen({ maxConnections: 2, maxConnectionsPerAddress: 0 });
    const first = await handshake(r, '127.0.0.1');
    await handshake(r, '127.0.0.2');
    assert.equal(await tlsHandshake(r.target, '127.0.0.3'), 'refused');
    assert.equal(await httpGet(first), 200);
    first.destroy();
    await closedAfter(first, WITHIN);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await httpGet(await handshake(r, '127.0.0.3')), 200);
    assert.deepEqual(r.logged[0]?.shed, { listener_cap: 1 });
  });

  test('ok/a trusted proxy is not capped per address; others still are', async () => {
    const r = await listen({ maxConnectionsPerAddress: 1 }, '127.0.0.1', ['127.0.0.3']);
    for (let i = 0; i < 3; i++) assert.equal(await httpGet(await handshake(r, '127.0.0.3')), 200);
    await handshake(r, '127.0.0.4');
    assert.equal(await tlsHandshake(r.target, '127.0.0.4'), 'refused');
  });

  test('ok/IPv4-mapped connections to a dual-stack listener count under their IPv4 address', async () => {
    const r = await listen({ maxConnectionsPerAddress: 1 }, '::');
    await handshake(r, '127.0.0.1');
    assert.equal(await tlsHandshake(r.target, '127.0.0.1'), 'refused');
    assert.deepEqual(r.logged[0]?.causes, { '127.0.0.1': 1 });
  });
});

describe('sourceAddressKey', () => {
  const cases: Array<[string, string | undefined, string]> = [
    ['ok/IPv4 as is', '203.0.113.7', '203.0.113.7'],
    ['ok/IPv4-mapped IPv6 unwrapped', '::ffff:203.0.113.7', '203.0.113.7'],
    ['ok/IPv4-mapped in capitals', '::FFFF:127.0.0.2', '127.0.0.2'],
    ['ok/IPv6 by its /64', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['ok/compressed IPv6 by its /64', '2001:db8::1', '2001:db8:0:0::/64'],
    ['ok/two hosts of one /64 share it', '2001:db8:0:0:ffff::9', '2001:db8:0:0::/64'],
    ['ok/IPv6 loopback', '::1', '0:0:0:0::/64'],
    ['ok/IPv6 with a zone', 'fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['ok/IPv6 ending in a dotted quad', '64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['ok/no address (socket already gone)', undefined, 'unknown'],
  ];
  for (const [name, address, key] of cases) {
    test(name, () => assert.equal(sourceAddressKey(address), key));
  }
});

describe('resolveListenerLimits', () => {
  const fail = (key: string, message: string): never => {
    throw new Error(`${key}: ${message}`);
  };
  test('ok/defaults for every limit not given', () => {
    assert.deepEqual(resolveListenerLimits({ maxConnections: 10 }, fail), {
      ...DEFAULT_LISTENER_LIMITS,
      maxConnections: 10,
    });
  });
  const bad: Array<[string, Partial<ListenerLimits>, RegExp]> = [
    ['fail/handshake timeout of 0', { handshakeTimeoutMs: 0 }, /handshakeTimeoutMs: expected an integer/],
    ['fail/fractional cap', { maxConnections: 1.5 }, /maxConnections: /],
    ['fail/negative per-address cap', { maxConnectionsPerAddress: -1 }, /maxConnectionsPerAddress: /],
    ['fail/not a number', { requestTimeoutMs: Number.NaN }, /requestTimeoutMs: /],
    [
      'fail/headers timeout beyond the request timeout',
      { headersTimeoutMs: 5000, requestTimeoutMs: 1000 },
      /headersTimeoutMs: must not exceed requestTimeoutMs/,
    ],
  ];
  for (const [name, given, message] of bad) {
    test(name, () => assert.throws(() => resolveListenerLimits(given, fail), message));
  }
});
