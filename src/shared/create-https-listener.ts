import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server, type ServerOptions } from 'node:https';
import { BlockList, isIPv4, isIPv6, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { addressList, inAddressList } from './address-list.ts';
import type { ListenerLimits } from './listener-limits.ts';
import { openFilesLimit } from './open-files-limit.ts';
import { sourceAddressKey } from './source-address-key.ts';

/** The part of a pino logger the guard writes to. */
export interface ListenerLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ListenerGuard {
  /** Names the listener in log lines (`public`, `mtls`, `gateway`). */
  name: string;
  limits: ListenerLimits;
  logger: ListenerLogger;
  /**
   * Sources the per-address cap does not apply to: proxies that carry many clients' connections (the
   * platform's trustedProxies). The listener cap and the descriptor budget still do.
   */
  uncappedAddresses?: readonly string[];
  /** Monotonic milliseconds, for spacing the shed summaries; default performance.now. */
  now?: () => number;
}

type ShedReason =
  | 'listener_cap'
  | 'address_cap'
  | 'descriptor_budget'
  | 'handshake_timeout'
  | 'first_request_timeout'
  | 'accept_error';

// Under a flood one line per connection would be a second flood: refusals are summed, one line per window.
const SHED_LOG_WINDOW_MS = 10_000;
const MAX_CAUSES_LOGGED = 16;

// How often Node checks headersTimeout/requestTimeout; its default of 30 s would stretch a 20 s limit to 50 s.
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

// Connections open on every listener of this process: descriptors are one table, whichever listener uses them.
let openConnections = 0;
let budgetChecked = false;

/**
 * An HTTPS server with every connection limit applied: a TLS handshake timeout, a first-request timeout, a
 * per-listener and a per-source-address connection cap, a process-wide budget below the open-files limit,
 * header and request timeouts, and accept errors (EMFILE, ENFILE) logged and survived rather than fatal.
 * Connections that have sent a request are never cut by these limits; the caps only refuse new connections.
 */
export function createHttpsListener(
  options: ServerOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  guard: ListenerGuard,
): Server {
  const { limits, logger, name } = guard;
  const now = guard.now ?? (() => performance.now());
  const server = createServer(
    {
      ...options,
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    handler,
  );

  const shed = new Map<ShedReason, number>();
  const causes = new Map<string, number>();
  let lastLogged = Number.NEGATIVE_INFINITY;
  // The first refusal is logged at once; later ones are summed into the next line, at most one per window.
  function note(reason: ShedReason, cause?: string): void {
    shed.set(reason, (shed.get(reason) ?? 0) + 1);
    // A few causes (addresses, error codes) name the source; a spread-out flood is not listed in full.
    if (cause !== undefined && (causes.has(cause) || causes.size < MAX_CAUSES_LOGGED)) {
      causes.set(cause, (causes.get(cause) ?? 0) + 1);
    }
    const t = now();
    if (t - lastLogged < SHED_LOG_WINDOW_MS) return;
    logger.warn(
      {
        listener: name,
        shed: Object.fromEntries(shed),
        ...(causes.size > 0 ? { causes: Object.fromEntries(causes) } : {}),
      },
      'connections shed',
    );
    shed.clear();
    causes.clear();
    lastLogged = t;
  }

  // Beyond maxConnections Node closes the socket at accept, before any TLS work.
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => note('listener_cap'));

  // Past the open-files limit libuv accepts and closes every new connection, partners' too, and the database
  // and upstream sockets fail: connections stop at the limit minus a reserve, refused like the caps.
  const nofile = openFilesLimit();
  const budget = nofile === undefined ? Number.POSITIVE_INFINITY : nofile - limits.reservedFileDescriptors;
  if (!budgetChecked && budget < limits.maxConnections) {
    budgetChecked = true;
    logger[budget < 1 ? 'error' : 'warn'](
      {
        listener: name,
        open_files_limit: nofile,
        reserved_file_descriptors: limits.reservedFileDescriptors,
        connection_budget: Math.max(0, budget),
        max_connections: limits.maxConnections,
      },
      'the open-files limit, not maxConnections, bounds the connections of all listeners; raise it (ulimit -n)',
    );
  }

  // These checks run ahead of the TLS listener, so a refused socket never costs a TLS handshake.
  const perAddress = new Map<string, number>();
  // A source at its cap also goes on the server's BlockList, which Node checks at accept, before any Socket
  // exists: a flood reconnecting thousands of times a second then costs an accept and a close per attempt.
  // The count below stays the rule (the list may lag it a moment); a source is logged once as it reaches
  // its cap, since attempts refused at accept are not seen one by one.
  const atCap = new Set<string>();
  const blockable = server as unknown as { blockList: BlockList | undefined };
  function refreshBlockList(): void {
    const list = new BlockList();
    for (const key of atCap) {
      if (key.endsWith('::/64')) list.addSubnet(key.slice(0, -4), 64, 'ipv6');
      else if (isIPv4(key)) {
        list.addAddress(key, 'ipv4');
        list.addAddress(`::ffff:${key}`, 'ipv6');
      } else if (isIPv6(key)) list.addAddress(key, 'ipv6');
    }
    blockable.blockList = atCap.size > 0 ? list : undefined;
  }
  // Trusted proxies carry many clients' connections: exact addresses or CIDR blocks, never capped per address.
  const uncapped = addressList(guard.uncappedAddresses, `${guard.name}: uncappedAddresses`);
  const inner = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    let key: string | undefined;
    if (limits.maxConnectionsPerAddress > 0) {
      // A trusted proxy is counted by the listener's total only.
      key = inAddressList(uncapped, socket.remoteAddress)
        ? undefined
        : sourceAddressKey(socket.remoteAddress);
      if (key !== undefined && (perAddress.get(key) ?? 0) >= limits.maxConnectionsPerAddress) {
        note('address_cap', key);
        socket.destroy();
        return;
      }
    }
    if (openConnections >= budget) {
      note('descriptor_budget');
      socket.destroy();
      return;
    }
    openConnections++;
    if (key !== undefined) {
      const count = (perAddress.get(key) ?? 0) + 1;
      perAddress.set(key, count);
      if (count >= limits.maxConnectionsPerAddress && key !== 'unknown' && !atCap.has(key)) {
        atCap.add(key);
        refreshBlockList();
        note('address_cap', key);
      }
    }
    socket.once('close', () => {
      openConnections--;
      if (key === undefined) return;
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left <= 0) perAddress.delete(key);
      else perAddress.set(key, left);
      if (left < limits.maxConnectionsPerAddress && atCap.delete(key)) refreshBlockList();
    });
    for (const listener of inner) listener.call(server, socket);
  });

  server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') note('handshake_timeout');
  });

  // A connection that completed the handshake must send its first request within the limit; the timer is
  // cleared by that request and never restarted, so keep-alive partners only face keepAliveTimeout.
  const awaitingFirst = new WeakMap<object, NodeJS.Timeout>();
  server.on('secureConnection', (socket: TLSSocket) => {
    const timer = setTimeout(() => {
      note('first_request_timeout');
      socket.destroy();
    }, limits.firstRequestTimeoutMs);
    timer.unref();
    awaitingFirst.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.prependListener('request', (req: IncomingMessage) => {
    const timer = awaitingFirst.get(req.socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    awaitingFirst.delete(req.socket);
  });

  // libuv meets EMFILE on accept by accepting and closing the backlog with a spare descriptor, silently; only
  // when it has lost that spare (ENFILE, a race) does the server emit the error, fatal without a listener.
  // The listener keeps accepting once descriptors are free again.
  server.once('listening', () => {
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall === 'accept') note('accept_error', err.code ?? 'unknown');
      else logger.error({ listener: name, err }, 'listener error');
    });
  });
  return server;
}
