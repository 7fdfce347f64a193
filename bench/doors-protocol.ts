// Messages between bench/doors.ts (the load generator) and bench/doors-server.ts (its child process).
import type { ServerMaterial } from './gateway-fixture.ts';

/** The doors measured; `gateway` (the own gateway, proxying to an upstream) is the baseline of every ratio. */
export const DOORS = ['gateway', 'auth_request', 'ext_authz', 'authzen', 'aws-lambda'] as const;
export type Door = (typeof DOORS)[number];

/** What an edge sends in `x-accredit-decision-secret` (decision.secretFile's content). */
export const DECISION_SECRET = 'bench-decision-secret-'.padEnd(48, 's');

export interface StartMessage {
  type: 'start';
  door: Door;
  material: ServerMaterial;
  logLevel: string;
}

/** The Lambda door has no listener: the child invokes the handler itself, one event at a time. */
export interface InvokeMessage {
  type: 'invoke';
  /** An API Gateway HTTP API (payload 2.0) REQUEST authorizer event. */
  event: unknown;
  warmupMs: number;
  durationMs: number;
}

export type ParentMessage =
  | StartMessage
  | InvokeMessage
  | { type: 'measure-start' }
  | { type: 'measure-stop' }
  | { type: 'exit' };

export interface InvokeResult {
  type: 'invoked';
  invocations: number;
  /** Invocations that did not answer an Allow policy (or threw); the first one's answer. */
  errors: number;
  firstError: string | undefined;
  windowMs: number;
  p50Ms: number;
  p99Ms: number;
  userUs: number;
  systemUs: number;
}

export type ChildMessage =
  /** `url` is the door's listener (the gateway's, or the decision listener's); empty for the Lambda door. */
  | { type: 'ready'; url: string }
  | { type: 'measuring' }
  | { type: 'cpu'; userUs: number; systemUs: number; served: number }
  | InvokeResult
  | { type: 'error'; message: string };
