import type { Storage } from '../../storage/index.ts';
import type { SsfReceiver } from './receivers.ts';
import { loadStream } from './streams.ts';

/** RFC 8936 §2.6 error: `{err, description}` with HTTP 400 (or the status given). */
export class PollError extends Error {
  readonly err: string;
  readonly status: number;
  constructor(err: string, description: string, status = 400) {
    super(description);
    this.err = err;
    this.status = status;
  }
}

/** A poll request (RFC 8936 §2.4), read and bounded. */
export interface PollRequest {
  maxEvents: number;
  returnImmediately: boolean;
  ack: string[];
  setErrs: Record<string, { err: string; description: string }>;
}

export interface PollAnswer {
  sets: Record<string, string>;
  moreAvailable: boolean;
}

const JTI = /^[\x21-\x7e]{1,128}$/;
const MAX_ACKS = 1000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 8936 §2.4: every member optional; `maxEvents` absent means the transmitter's bound. */
export function readPollRequest(body: unknown, maxEventsBound: number): PollRequest {
  if (body === undefined || body === null) body = {};
  if (!isObject(body)) throw new PollError('invalid_request', 'the poll request is a JSON object');
  const { maxEvents, returnImmediately, ack, setErrs } = body;
  if (maxEvents !== undefined && (!Number.isInteger(maxEvents) || (maxEvents as number) < 0)) {
    throw new PollError('invalid_request', 'maxEvents: a non-negative integer');
  }
  if (returnImmediately !== undefined && typeof returnImmediately !== 'boolean') {
    throw new PollError('invalid_request', 'returnImmediately: a boolean');
  }
  if (
    ack !== undefined &&
    (!Array.isArray(ack) || ack.length > MAX_ACKS || !ack.every((j) => typeof j === 'string' && JTI.test(j)))
  ) {
    throw new PollError('invalid_request', `ack: an array of at most ${MAX_ACKS} jti strings`);
  }
  const errs: PollRequest['setErrs'] = {};
  if (setErrs !== undefined) {
    if (!isObject(setErrs) || Object.keys(setErrs).length > MAX_ACKS) {
      throw new PollError('invalid_request', 'setErrs: an object of jti → {err, description}');
    }
    for (const [jti, value] of Object.entries(setErrs)) {
      if (!JTI.test(jti) || !isObject(value) || typeof value.err !== 'string' || value.err.length > 64) {
        throw new PollError('invalid_request', 'setErrs: each value is {err, description}');
      }
      const description = typeof value.description === 'string' ? value.description.slice(0, 256) : '';
      errs[jti] = { err: value.err, description };
    }
  }
  return {
    maxEvents: Math.min((maxEvents as number | undefined) ?? maxEventsBound, maxEventsBound),
    returnImmediately: (returnImmediately as boolean | undefined) ?? false,
    ack: (ack as string[] | undefined) ?? [],
    setErrs: errs,
  };
}

/**
 * One poll pass in one transaction: acknowledged SETs and SETs the receiver reported errors for are done
 * (RFC 8936 §2.4.2, §2.4.3; only this stream's), then the SETs due are returned, oldest first, and held
 * back from the next poll for `redeliverAfterMs` so a receiver that has not acknowledged them yet is not
 * answered with them again at once (§2.4: unacknowledged SETs are re-offered). A paused stream holds its SETs.
 */
export async function pollOnce(
  storage: Storage,
  receiver: SsfReceiver,
  streamId: string,
  request: PollRequest,
  deps: { now: Date; redeliverAfterMs: number; takeSets: boolean },
): Promise<PollAnswer> {
  return storage.transaction(async (tx) => {
    const stream = await loadStream(tx.db, receiver, streamId);
    const done = [...request.ack, ...Object.keys(request.setErrs)];
    if (done.length > 0) {
      await tx.db
        .deleteFrom('ssf_queued_sets')
        .where('stream_id', '=', stream.streamId)
        .where('jti', 'in', done)
        .execute();
    }
    if (!deps.takeSets || request.maxEvents === 0 || stream.status !== 'enabled') {
      return { sets: {}, moreAvailable: false };
    }
    const now = deps.now.toISOString();
    const rows = await tx.db
      .selectFrom('ssf_queued_sets')
      .select(['seq', 'jti', 'token'])
      .where('stream_id', '=', stream.streamId)
      .where('failed_at', 'is', null)
      .where('next_attempt_at', '<=', now)
      .orderBy('seq')
      .limit(request.maxEvents + 1)
      .execute();
    const taken = rows.slice(0, request.maxEvents);
    if (taken.length > 0) {
      await tx.db
        .updateTable('ssf_queued_sets')
        .set((eb) => ({
          next_attempt_at: new Date(deps.now.getTime() + deps.redeliverAfterMs).toISOString(),
          attempts: eb('attempts', '+', 1),
        }))
        .where(
          'seq',
          'in',
          taken.map((r) => r.seq),
        )
        .execute();
    }
    return {
      sets: Object.fromEntries(taken.map((r) => [r.jti, r.token])),
      moreAvailable: rows.length > request.maxEvents,
    };
  });
}
