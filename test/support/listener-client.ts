// Client side of the listener-limit tests: raw TCP and TLS sockets from a chosen loopback address, and the
// moment the server closes them.
import { connect as connectTcp, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type ConnectionOptions, connect as connectTls, type TLSSocket } from 'node:tls';

export interface Target {
  port: number;
  /** PEM bundle the server certificate chains to. */
  ca: string;
  /** A client certificate and key, for listeners that ask for one. */
  cert?: string;
  key?: string;
}

/**
 * A TCP connection that never sends a byte (no ClientHello). Rejects when it is not established within
 * `timeoutMs`: a full accept backlog drops SYNs, and the kernel would retry them for minutes.
 */
export function silentTcp(port: number, localAddress = '127.0.0.1', timeoutMs = 5_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A completed TLS handshake, or `refused` when the server closes the connection before it completes. */
export function tlsHandshake(target: Target, localAddress = '127.0.0.1'): Promise<TLSSocket | 'refused'> {
  return new Promise((resolve, reject) => {
    const options: ConnectionOptions = {
      // tls.connect passes localAddress on at run time, but its options type does not list it.
      socket: connectTcp({ host: '127.0.0.1', port: target.port, localAddress }),
      host: '127.0.0.1',
      ca: target.ca,
      ALPNProtocols: ['http/1.1'],
    };
    if (target.cert !== undefined && target.key !== undefined) {
      options.cert = target.cert;
      options.key = target.key;
    }
    const socket = connectTls(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('neither a handshake nor a refusal within 10 s'));
    }, 10_000);
    const settle = (outcome: TLSSocket | 'refused') => {
      clearTimeout(timer);
      resolve(outcome);
    };
    socket.once('secureConnect', () => settle(socket));
    socket.once('error', () => settle('refused'));
    socket.once('close', () => settle('refused'));
  });
}

/** Milliseconds until the peer closes `socket`; rejects when it is still open after `withinMs`. */
export function closedAfter(socket: Socket, withinMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve(0);
    socket.on('error', () => {});
    socket.resume();
    const timer = setTimeout(() => reject(new Error(`still open after ${withinMs} ms`)), withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

/** One HTTP/1.1 request on an open connection (kept alive); resolves with the status code. */
export function httpGet(socket: TLSSocket, path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      if (length === undefined || text.length - end - 4 < Number(length)) return;
      cleanup();
      resolve(Number(text.slice(9, 12)));
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`connection closed before a response: ${JSON.stringify(text.slice(0, 200))}`));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n`);
  });
}
