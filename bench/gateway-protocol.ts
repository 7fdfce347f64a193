// Messages between bench/gateway.ts (the load generator) and bench/gateway-server.ts (its child process).
import type { ServerMaterial } from './gateway-fixture.ts';

export type Target = 'baseline' | 'gateway';

export interface StartMessage {
  type: 'start';
  target: Target;
  material: ServerMaterial;
  /** Keep-alive connections from the proxy/gateway to the upstream (the gateway's default is 64). */
  upstreamConnections: number;
  /** The gateway's verified-token cache size; undefined keeps the gateway's default. */
  tokenCacheSize: number | undefined;
  verifyThreads?: number | undefined;
  /** pino level of the gateway's logger; decision lines go to /dev/null. */
  logLevel: string;
  /** base64url DPoP nonce secret (bench dpop: the load generator makes the nonces a client would be given). */
  dpopNonceSecret?: string;
}

export type ParentMessage =
  | StartMessage
  | { type: 'measure-start' }
  | { type: 'measure-stop' }
  | { type: 'exit' };

export type ChildMessage =
  | { type: 'ready'; url: string }
  | { type: 'measuring' }
  | { type: 'cpu'; userUs: number; systemUs: number; served: number }
  | { type: 'error'; message: string };

/** The protected API: a small JSON document, keep-alive. */
export const UPSTREAM_BODY = JSON.stringify({
  items: [
    { id: 'acc_0001', currency: 'EUR', balance: '1250.00' },
    { id: 'acc_0002', currency: 'GBP', balance: '80.15' },
  ],
});
