// Messages between bench/connection-flood.ts and bench/connection-flood-attacker.ts (the flooding child).

export interface FloodStart {
  type: 'start';
  /** The listener under test, on 127.0.0.1. */
  port: number;
  /** The loopback address the flood comes from (not the partner's). */
  localAddress: string;
  /** Idle connections the flood tries to hold open at once. */
  connections: number;
  /** Pause before a closed or refused slot connects again. */
  reconnectDelayMs: number;
  /** PEM bundle to verify the server with (the flood completes handshakes, then sends nothing). */
  ca: string;
}

/** Counters since `start`. */
export interface FloodStats {
  attempts: number;
  /** Handshakes completed: idle TLS connections the server let in. */
  established: number;
  /** Connections closed before their handshake completed (a cap refused them). */
  refused: number;
  /** Established connections the server closed later (first-request timeout). */
  cut: number;
  /** Connections with a completed handshake open right now. */
  open: number;
}

export type FloodParentMessage = FloodStart | { type: 'stop' } | { type: 'exit' };

export type FloodChildMessage =
  | { type: 'started' }
  | ({ type: 'stopped' } & FloodStats)
  | { type: 'error'; message: string };
