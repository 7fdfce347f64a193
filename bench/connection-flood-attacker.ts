// The flood of `bench connection-flood`, in its own process so that it does not share an event loop with the
// partner's load generator: holds many idle TLS connections from one loopback address and reconnects each
// one the server closes or refuses.
import { connect as connectTcp } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type {
  FloodChildMessage,
  FloodParentMessage,
  FloodStart,
  FloodStats,
} from './connection-flood-protocol.ts';

function send(message: FloodChildMessage): void {
  process.send?.(message);
}

function startFlood(start: FloodStart): { stop(): FloodStats } {
  const stats: FloodStats = { attempts: 0, established: 0, refused: 0, cut: 0, open: 0 };
  const sockets = new Set<TLSSocket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const slot = () => {
    if (stopped) return;
    stats.attempts++;
    let secure = false;
    // tls.connect passes localAddress on at run time, but its options type does not list it.
    const socket = connectTls({
      socket: connectTcp({ host: '127.0.0.1', port: start.port, localAddress: start.localAddress }),
      host: '127.0.0.1',
      ca: start.ca,
      ALPNProtocols: ['http/1.1'],
    });
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('secureConnect', () => {
      secure = true;
      stats.established++;
      stats.open++;
    });
    socket.once('close', () => {
      sockets.delete(socket);
      if (secure) {
        stats.open--;
        if (!stopped) stats.cut++;
      } else if (!stopped) stats.refused++;
      if (stopped) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        slot();
      }, start.reconnectDelayMs);
      timers.add(timer);
    });
  };
  for (let i = 0; i < start.connections; i++) slot();

  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      const snapshot = { ...stats };
      for (const socket of sockets) socket.destroy();
      return snapshot;
    },
  };
}

if (!process.send) {
  process.stderr.write('bench/connection-flood-attacker.ts is started by bench/connection-flood.ts\n');
  process.exit(2);
}
let flood: { stop(): FloodStats } | undefined;
process.on('message', (message: FloodParentMessage) => {
  try {
    switch (message.type) {
      case 'start':
        flood?.stop();
        flood = startFlood(message);
        send({ type: 'started' });
        return;
      case 'stop': {
        const stats = flood?.stop() ?? { attempts: 0, established: 0, refused: 0, cut: 0, open: 0 };
        flood = undefined;
        send({ type: 'stopped', ...stats });
        return;
      }
      case 'exit':
        flood?.stop();
        process.exit(0);
    }
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
});
// The parent going away (crash, Ctrl-C) must not leave a flood behind.
process.on('disconnect', () => process.exit(0));
