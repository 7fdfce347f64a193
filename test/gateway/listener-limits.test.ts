// The gateway on its own (as its own process would run it) applies the listener limits it is given.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway/index.ts';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { createLivenessState } from '../../src/platform/enforcement-feed/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { installCa } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { closedAfter, httpGet, silentTcp, type Target, tlsHandshake } from '../support/listener-client.ts';
import { capturingLogger, serverTlsFrom } from './fixture.ts';

let storage: Storage;
let ca: CertificateAuthority;
let base: GatewayOptions;
const opened: Gateway[] = [];
const held = new Set<{ destroy(): void }>();

before(async () => {
  const sqlite = (await engineTargets()).find((t) => t.name === 'sqlite');
  assert.ok(sqlite);
  storage = await seededStorage(sqlite);
  ca = await installCa(storage);
  const tls = await serverTlsFrom(ca);
  base = {
    host: '127.0.0.1',
    port: 0,
    publicUrl: 'https://localhost:9443',
    tls: { ...tls, ca: ca.chainPem },
    issuer: 'https://localhost:8443',
    audience: 'https://localhost:9443',
    // Nothing listens there: the JWKS warm-up fails and is logged, no request here needs a key.
    jwksUri: 'https://127.0.0.1:9/jwks',
    liveness: await createLivenessState(storage),
    routes: [],
    upstream: 'http://127.0.0.1:9',
    logger: capturingLogger().logger,
  };
});

after(async () => {
  for (const socket of held) socket.destroy();
  for (const gateway of opened) await gateway.close();
  base?.liveness.close();
  await storage?.close();
});

async function gatewayWith(limits: GatewayOptions['limits']): Promise<Target> {
  const gateway = await createGateway({ ...base, limits });
  opened.push(gateway);
  return { port: gateway.port, ca: ca.chainPem };
}

describe('gateway listener limits', () => {
  test('fail/a TCP connection that never sends a ClientHello is closed after limits.handshakeTimeoutMs', async () => {
    const target = await gatewayWith({ handshakeTimeoutMs: 300 });
    const socket = await silentTcp(target.port);
    held.add(socket);
    const ms = await closedAfter(socket, 5_000);
    assert.ok(ms >= 250, `closed after ${ms} ms`);
  });

  test('fail/connection 2 from one address is refused under limits.maxConnectionsPerAddress 1; ok/another address is served', async () => {
    const target = await gatewayWith({ maxConnectionsPerAddress: 1 });
    const first = await tlsHandshake(target, '127.0.0.1');
    assert.notEqual(first, 'refused');
    held.add(first as TLSSocket);
    assert.equal(await tlsHandshake(target, '127.0.0.1'), 'refused');
    const other = await tlsHandshake(target, '127.0.0.2');
    assert.notEqual(other, 'refused');
    held.add(other as TLSSocket);
    // No client certificate: step 1 answers with a problem, over the connection the cap let through.
    assert.equal(await httpGet(other as TLSSocket, '/health'), 403);
  });

  const bad: Array<[string, GatewayOptions['limits'], RegExp]> = [
    [
      'fail/handshake timeout of 0',
      { handshakeTimeoutMs: 0 },
      /gateway\.limits\.handshakeTimeoutMs: expected an integer/,
    ],
    ['fail/connection cap of 0', { maxConnections: 0 }, /gateway\.limits\.maxConnections: /],
    [
      'fail/fractional first-request timeout',
      { firstRequestTimeoutMs: 10.5 },
      /gateway\.limits\.firstRequestTimeoutMs: /,
    ],
    [
      'fail/headers timeout beyond the request timeout',
      { headersTimeoutMs: 60_000, requestTimeoutMs: 30_000 },
      /gateway\.limits\.headersTimeoutMs: must not exceed requestTimeoutMs/,
    ],
  ];
  for (const [name, limits, message] of bad) {
    test(`${name} stops the gateway at boot with the key named`, async () => {
      await assert.rejects(createGateway({ ...base, limits }), message);
    });
  }
});
