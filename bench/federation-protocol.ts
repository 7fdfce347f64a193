// Messages between bench/federation.ts (the resolver under test) and bench/federation-server.ts (its child
// process serving the federation).
import type { JSONWebKeySet } from 'jose';

/** What the child's federation looks like, sent once its servers listen. */
export interface FederationLayout {
  /** PEM of the CA that signed every server's 127.0.0.1 certificate. */
  caPem: string;
  trustAnchor: { entityId: string; jwks: JSONWebKeySet };
  intermediate: string;
  /** The leaf carrying a Trust Mark issued by the Intermediate (status endpoint published). */
  leaf: string;
  /** A sibling leaf under the same Intermediate, without Trust Marks. */
  bareLeaf: string;
  trustMarkType: string;
}

export type ParentMessage = { type: 'measure-start' } | { type: 'measure-stop' } | { type: 'exit' };

export type ChildMessage =
  | ({ type: 'ready' } & FederationLayout)
  | { type: 'measuring' }
  /** CPU time of the servers' process and the HTTPS requests they answered since `measure-start`. */
  | { type: 'stats'; userUs: number; systemUs: number; requests: number }
  | { type: 'error'; message: string };
