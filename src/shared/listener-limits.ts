// The connection limits every TLS listener applies (public, mTLS, gateway), their defaults and bounds. Shared by
// the platform's configuration and the gateway's options, so the gateway stays importable on its own.

export interface ListenerLimits {
  /** From TCP accept to the end of the TLS handshake; a silent or slow client is cut after this. */
  handshakeTimeoutMs: number;
  /** From the end of the handshake to the first request's complete headers (not the keep-alive idle time). */
  firstRequestTimeoutMs: number;
  /** Open connections per listener; further ones are closed at accept. */
  maxConnections: number;
  /** Open connections per source address (an IPv4 address, an IPv6 /64); 0: no per-address cap. */
  maxConnectionsPerAddress: number;
  /** Time to receive a request's headers on a connection that already sent one. */
  headersTimeoutMs: number;
  /** Time to receive a whole request (headers and body). */
  requestTimeoutMs: number;
  /**
   * File descriptors kept free of connections (for the database, upstream sockets, files): the listeners of a
   * process together accept at most the open-files limit minus this many connections.
   */
  reservedFileDescriptors: number;
}

/** Default, least and greatest value of each limit. */
export const LISTENER_LIMIT_RANGES = {
  // Node's own default is 120 s, during which a client that never sends a ClientHello holds a descriptor.
  handshakeTimeoutMs: { default: 10_000, min: 100, max: 120_000 },
  firstRequestTimeoutMs: { default: 10_000, min: 100, max: 300_000 },
  maxConnections: { default: 1024, min: 1, max: 1_000_000 },
  maxConnectionsPerAddress: { default: 64, min: 0, max: 1_000_000 },
  headersTimeoutMs: { default: 20_000, min: 100, max: 300_000 },
  requestTimeoutMs: { default: 120_000, min: 100, max: 3_600_000 },
  reservedFileDescriptors: { default: 256, min: 0, max: 1_000_000 },
} as const satisfies Record<keyof ListenerLimits, { default: number; min: number; max: number }>;

export const DEFAULT_LISTENER_LIMITS: Readonly<ListenerLimits> = Object.freeze({
  handshakeTimeoutMs: LISTENER_LIMIT_RANGES.handshakeTimeoutMs.default,
  firstRequestTimeoutMs: LISTENER_LIMIT_RANGES.firstRequestTimeoutMs.default,
  maxConnections: LISTENER_LIMIT_RANGES.maxConnections.default,
  maxConnectionsPerAddress: LISTENER_LIMIT_RANGES.maxConnectionsPerAddress.default,
  headersTimeoutMs: LISTENER_LIMIT_RANGES.headersTimeoutMs.default,
  requestTimeoutMs: LISTENER_LIMIT_RANGES.requestTimeoutMs.default,
  reservedFileDescriptors: LISTENER_LIMIT_RANGES.reservedFileDescriptors.default,
});

/**
 * The defaults overlaid with `given`; throws naming the first bad limit (`fail` phrases the error, so the
 * platform's config and the gateway's options each name their own key).
 */
export function resolveListenerLimits(
  given: Partial<ListenerLimits> | undefined,
  fail: (key: keyof ListenerLimits, message: string) => never,
): ListenerLimits {
  const limits = { ...DEFAULT_LISTENER_LIMITS, ...given };
  for (const key of Object.keys(LISTENER_LIMIT_RANGES) as Array<keyof ListenerLimits>) {
    const { min, max } = LISTENER_LIMIT_RANGES[key];
    const value = limits[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      fail(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
  }
  // Node refuses a server whose headers may take longer than the whole request.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    fail('headersTimeoutMs', `must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`);
  }
  return limits;
}
