import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ListenerGuard } from './create-https-listener.ts';
import { sourceAddressKey } from './source-address-key.ts';

const SHED_LOG_WINDOW_MS = 10_000;
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
// Publication requests are small GETs and POSTs: larger headers are refused by Node with 431.
const MAX_HEADER_BYTES = 8192;

/**
 * A plain-HTTP server under the same connection limits as the TLS listeners (createHttpsListener): a
 * first-request timeout counted from accept (there is no handshake), per-listener and per-source-address
 * connection caps, header and request timeouts, and accept errors logged rather than fatal. For content that
 * is public and signed (CRLs, OCSP responses, CA certificates), which relying parties must fetch without TLS.
 */
export function createHttpListener(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  guard: ListenerGuard,
): Server {
  const { limits, logger, name } = guard;
  const now = guard.now ?? (() => performance.now());
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    handler,
  );
  const shed = new Map<string, number>();
  let lastLogged = Number.NEGATIVE_INFINITY;
  function note(reason: string): void {
    shed.set(reason, (shed.get(reason) ?? 0) + 1);
    const t = now();
    if (t - lastLogged < SHED_LOG_WINDOW_MS) return;
    logger.warn({ listener: name, shed: Object.fromEntries(shed) }, 'connections shed');
    shed.clear();
    lastLogged = t;
  }
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => note('listener_cap'));

  const perAddress = new Map<string, number>();
  const uncapped = new Set(guard.uncappedAddresses ?? []);
  const awaitingFirst = new WeakMap<object, NodeJS.Timeout>();
  const inner = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    let key: string | undefined;
    if (limits.maxConnectionsPerAddress > 0 && !uncapped.has(socket.remoteAddress ?? '')) {
      key = sourceAddressKey(socket.remoteAddress);
      const count = perAddress.get(key) ?? 0;
      if (count >= limits.maxConnectionsPerAddress) {
        note('address_cap');
        socket.destroy();
        return;
      }
      perAddress.set(key, count + 1);
    }
    // Without a handshake, the first request's deadline runs from accept.
    const timer = setTimeout(() => {
      note('first_request_timeout');
      socket.destroy();
    }, limits.firstRequestTimeoutMs);
    timer.unref();
    awaitingFirst.set(socket, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      if (key === undefined) return;
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left <= 0) perAddress.delete(key);
      else perAddress.set(key, left);
    });
    for (const listener of inner) listener.call(server, socket);
  });
  server.prependListener('request', (req: IncomingMessage) => {
    const timer = awaitingFirst.get(req.socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    awaitingFirst.delete(req.socket);
  });
  server.once('listening', () => {
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall === 'accept') note(`accept_error:${err.code ?? 'unknown'}`);
      else logger.error({ listener: name, err }, 'listener error');
    });
  });
  return server;
}
