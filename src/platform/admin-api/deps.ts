import type {} from '@fastify/swagger';
import type { CallerResolver, ConsoleCaller } from '../../console/index.ts';
import type { CertificateAuthority } from '../../pki/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';
import type { DecisionRecorder } from '../decision-recorder.ts';
import type { DecisionTaps } from '../decision-taps.ts';
import type { ListReader } from './list-reader.ts';

export interface AdminDeps {
  storage: Storage;
  clock: Clock;
  ca: CertificateAuthority;
  /** Refuses client metadata URLs the platform would not fetch (the partner fetcher's address policy). */
  urlGuard: UrlGuard;
  /** Console sessions (issue 15): operator accounts signed in through the platform's own AS. */
  callers?: CallerResolver;
  /** Every enforcement decision of this process's doors (the console's decision log, charts, metrics). */
  decisions?: DecisionTaps;
  /** The recent decisions, live subscribers, per-organisation traffic (the console's decision log, charts). */
  decisionRecorder?: DecisionRecorder;
  /** Issue 16: long lists read and serialised off the event loop (SQLite file databases). */
  listReader?: ListReader;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: string;
    /** Set when the request came with a console session cookie instead of a bearer token. */
    consoleCaller?: ConsoleCaller;
  }
}
