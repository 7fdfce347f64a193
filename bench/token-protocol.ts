// Messages between bench/token.ts (the load generator) and bench/token-server.ts (its child process).

export type Target = 'baseline' | 'platform';

export interface StartMessage {
  type: 'start';
  target: Target;
  /** Platform only: PostgreSQL URL (a fresh schema is made); undefined: SQLite in the data directory. */
  postgresUrl: string | undefined;
  /** Baseline only: the platform's TLS material and token shape, so both answer the same way. */
  material?: ServerMaterial;
  /** Write a V8 CPU profile of the measured windows into this directory (platform only). */
  cpuProfileDir?: string | undefined;
}

/** What the baseline reuses from the platform child: its listener's certificate and CA, and the token shape. */
export interface ServerMaterial {
  serverCert: string;
  serverKey: string;
  caPem: string;
  issuer: string;
  audience: string;
  clientId: string;
  orgId: string;
  roles: string[];
  scope: string;
  ttlSeconds: number;
}

export type ParentMessage =
  | StartMessage
  | { type: 'measure-start' }
  | { type: 'measure-stop' }
  | { type: 'exit' };

export type ChildMessage =
  | {
      type: 'ready';
      url: string;
      /** Platform only: what the baseline needs, and the partner's client certificate and key (PEM). */
      material?: ServerMaterial;
      client?: { cert: string; key: string; ca: string };
    }
  | { type: 'measuring' }
  | { type: 'cpu'; userUs: number; systemUs: number; served: number }
  | { type: 'error'; message: string };

export const TOKEN_PATH = '/token';
