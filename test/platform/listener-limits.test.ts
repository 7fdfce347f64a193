// Issue 9 item 1: every listener of a real `accredit serve` cuts silent and idle connections, caps the
// connections of one source address, and outlives running out of file descriptors.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { closedAfter, httpGet, silentTcp, type Target, tlsHandshake } from '../support/listener-client.ts';
import { PlatformProcess } from '../support/platform-process.ts';

const SHORT = 500;
const WITHIN = 5_000;
const PER_ADDRESS = 4;
// Few enough descriptors that a flood of silent connections would exhaust them; the platform needs ~50.
const MAX_OPEN_FILES = 256;
const RESERVED = 128;
const FLOOD = 400;

const LISTENERS = ['public', 'mtls', 'gateway'] as const;

let limited: PlatformProcess;
let starved: PlatformProcess;
const held = new Set<Socket>();

before(async () => {
  limited = await PlatformProcess.create({
    ACCREDIT_LISTENER_HANDSHAKE_TIMEOUT_MS: String(SHORT),
    ACCREDIT_LISTENER_FIRST_REQUEST_TIMEOUT_MS: String(SHORT),
    ACCREDIT_LISTENER_MAX_CONNECTIONS_PER_ADDRESS: String(PER_ADDRESS),
  });
  // Caps out of the way, so that nothing but the descriptor budget stops the flood.
  starved = await PlatformProcess.create({
    ACCREDIT_LISTENER_MAX_CONNECTIONS: '100000',
    ACCREDIT_LISTENER_MAX_CONNECTIONS_PER_ADDRESS: '0',
    ACCREDIT_LISTENER_RESERVED_FILE_DESCRIPTORS: String(RESERVED),
  });
  await Promise.all([limited.start(['--init']), starved.start(['--init'], { maxOpenFiles: MAX_OPEN_FILES })]);
});

after(async () => {
  for (const socket of held) socket.destroy();
  for (const p of [limited, starved]) {
    await p?.stop();
    p?.cleanup();
  }
});

function targetOf(p: PlatformProcess, listener: (typeof LISTENERS)[number]): Target {
  return { port: p.ports[listener], ca: readFileSync(p.caBundle, 'utf8') };
}

function hold<T extends Socket>(socket: T): T {
  held.add(socket);
  return socket;
}

async function handshake(target: Target, from = '127.0.0.1'): Promise<TLSSocket> {
  const socket = await tlsHandshake(target, from);
  assert.notEqual(socket, 'refused', `a connection from ${from} was refused`);
  return hold(socket as TLSSocket);
}

describe('listener limits of a running platform', { concurrency: true }, () => {
  for (const listener of LISTENERS) {
    test(`fail/${listener}: a TCP connection that never sends a ClientHello is closed after the handshake timeout`, async () => {
      const socket = hold(await silentTcp(limited.ports[listener]));
      const ms = await closedAfter(socket, WITHIN);
      assert.ok(ms >= SHORT - 50, `closed after ${ms} ms`);
    });

    test(`fail/${listener}: a TLS connection that sends no request is closed after the first-request timeout`, async () => {
      const socket = await handshake(targetOf(limited, listener));
      const ms = await closedAfter(socket, WITHIN);
      assert.ok(ms >= SHORT - 50, `closed after ${ms} ms`);
    });

    test(`ok/${listener}: a keep-alive connection that sent a request is not cut by the first-request timeout`, async () => {
      const socket = await handshake(targetOf(limited, listener));
      const first = await httpGet(socket, '/health');
      await new Promise((resolve) => setTimeout(resolve, SHORT * 2));
      assert.equal(await httpGet(socket, '/health'), first);
    });

    test(`fail/${listener}: connection ${PER_ADDRESS + 1} from one address is refused; ok/another address is served`, async () => {
      const target = targetOf(limited, listener);
      // Each from its own address, so the cases do not share a count.
      const from = `127.0.${LISTENERS.indexOf(listener) + 10}.1`;
      const open: TLSSocket[] = [];
      for (let i = 0; i < PER_ADDRESS; i++) {
        const socket = await handshake(target, from);
        // A request at once keeps the connection past the first-request timeout while the cap is probed.
        await httpGet(socket, '/health');
        open.push(socket);
      }
      assert.equal(await tlsHandshake(target, from), 'refused');
      const other = await handshake(target, '127.0.0.2');
      assert.ok((await httpGet(other, '/health')) < 500);
      for (const socket of [...open, other]) socket.destroy();
    });
  }

  test('fail/a flood past the open-files limit is shed and logged; the process survives, partners keep being served', async () => {
    const target = targetOf(starved, 'public');
    const partner = await handshake(target, '127.0.0.2');
    assert.equal(await httpGet(partner, '/health'), 200);
    const flood = await Promise.allSettled(
      Array.from({ length: FLOOD }, () => silentTcp(target.port).then((socket) => hold(socket))),
    );
    // Give the accept loop a moment to take in the backlog.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(starved.running, `the platform exited under the flood:\n${starved.output.slice(-2000)}`);
    assert.match(starved.output, /"descriptor_budget":\d+/);
    assert.match(starved.output, /"open_files_limit":256,"reserved_file_descriptors":128/);
    // Descriptors are left for the database, the upstream and files: the table is not exhausted (it is on main).
    const open = readdirSync(`/proc/${starved.pid}/fd`).length;
    assert.ok(open < MAX_OPEN_FILES - RESERVED / 2, `${open} of ${MAX_OPEN_FILES} descriptors in use`);
    // A partner's kept-alive connection is still answered while the flood holds every connection it may.
    assert.equal(await httpGet(partner, '/health'), 200);
    for (const r of flood) if (r.status === 'fulfilled') r.value.destroy();
    let status: number | undefined;
    const deadline = Date.now() + WITHIN;
    while (status === undefined && Date.now() < deadline) {
      const socket = await tlsHandshake(target);
      if (socket === 'refused') await new Promise((resolve) => setTimeout(resolve, 100));
      else status = await httpGet(hold(socket), '/health');
    }
    assert.equal(status, 200);
    assert.ok(starved.running);
  });
});
