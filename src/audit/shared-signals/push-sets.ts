import type { Logger } from 'pino';
import { FetchError, type GuardedSender } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';
import { DELIVERY_METHODS, SET_MEDIA_TYPE } from './ssf-vocabulary.ts';
import type { SecretSealer } from './streams.ts';

export interface PushDeps {
  storage: Storage;
  poster: GuardedSender;
  sealer: SecretSealer;
  logger: Logger;
  now: () => Date;
  /** Attempts before a SET is given up (kept with its last error, never sent again). Default 12. */
  maxAttempts?: number;
  /** How long a claimed SET is held from other pushers while its POST is in flight. */
  leaseMs?: number;
}

// Refusals that another attempt cannot change: the operator or the receiver must (a new endpoint resets them).
const PERMANENT: ReadonlySet<string> = new Set([
  'invalid_url',
  'https_required',
  'loopback_refused',
  'private_address_refused',
  'reserved_address_refused',
]);

const backoffMs = (attempts: number) => Math.min(1000 * 2 ** Math.max(attempts - 1, 0), 10 * 60_000);

type Outcome = { delivered: true } | { delivered: false; permanent: boolean; error: string };

/** RFC 8935 §2.3: a 400 answer's `{err, description}` names why the recipient refused the SET. */
function refusalOf(body: string, contentType: string): string {
  if (contentType === 'application/json') {
    try {
      const parsed = JSON.parse(body) as { err?: unknown };
      if (typeof parsed.err === 'string' && /^[\w.-]{1,64}$/.test(parsed.err)) return parsed.err;
    } catch {
      // not JSON after all: the status says enough
    }
  }
  return 'invalid_request';
}

async function deliver(
  deps: PushDeps,
  target: { endpointUrl: string; authorization: string | null },
  token: string,
): Promise<Outcome> {
  try {
    const answer = await deps.poster.post({
      url: target.endpointUrl,
      headers: {
        'content-type': SET_MEDIA_TYPE,
        accept: 'application/json',
        ...(target.authorization ? { authorization: target.authorization } : {}),
      },
      body: token,
    });
    // RFC 8935 §2.2: 202 Accepted acknowledges the SET (any 2xx is taken as acceptance).
    if (answer.status >= 200 && answer.status < 300) return { delivered: true };
    // §2.3: 400 with an error code: the recipient refused this SET; sending it again changes nothing.
    if (answer.status === 400) {
      return {
        delivered: false,
        permanent: true,
        error: `refused: ${refusalOf(answer.body, answer.contentType)}`,
      };
    }
    return { delivered: false, permanent: false, error: `HTTP ${answer.status}` };
  } catch (err) {
    if (err instanceof FetchError)
      return { delivered: false, permanent: PERMANENT.has(err.code), error: err.code };
    return { delivered: false, permanent: false, error: 'network_error' };
  }
}

/**
 * One push pass (RFC 8935): every enabled push stream's due SETs, oldest first, POSTed as
 * `application/secevent+jwt` with the receiver's authorization header. Each SET is claimed first (its next
 * attempt moved past the lease) so two nodes never push the same SET at once; delivered SETs are deleted,
 * refused ones kept as failed, others retried with exponential backoff. A stream stops at its first failure
 * so an unreachable receiver is not hammered. Returns how many were delivered. (The transmitter itself runs
 * each stream on its own through `duePushStreams`, so a slow receiver never delays another's.)
 */
export async function pushDueSets(deps: PushDeps, batch = 100): Promise<number> {
  const results = await Promise.all((await duePushStreams(deps)).map((stream) => stream.push(batch)));
  return results.reduce((a, b) => a + b, 0);
}

/** The enabled push streams with SETs due now, each ready to push. */
export async function duePushStreams(
  deps: PushDeps,
): Promise<Array<{ streamId: string; push(batch?: number): Promise<number> }>> {
  const now = deps.now();
  const due = await deps.storage.db
    .selectFrom('ssf_queued_sets')
    .innerJoin('ssf_streams', 'ssf_streams.stream_id', 'ssf_queued_sets.stream_id')
    .select(['ssf_queued_sets.stream_id', 'ssf_streams.endpoint_url', 'ssf_streams.authorization_header'])
    .where('ssf_streams.delivery_method', '=', DELIVERY_METHODS.push)
    .where('ssf_streams.status', '=', 'enabled')
    .where('ssf_queued_sets.failed_at', 'is', null)
    .where('ssf_queued_sets.next_attempt_at', '<=', now.toISOString())
    .groupBy(['ssf_queued_sets.stream_id', 'ssf_streams.endpoint_url', 'ssf_streams.authorization_header'])
    .execute();
  return due.map((stream) => ({
    streamId: stream.stream_id,
    async push(batch = 100) {
      if (!stream.endpoint_url) return 0;
      let authorization: string | null = null;
      try {
        authorization = stream.authorization_header ? deps.sealer.open(stream.authorization_header) : null;
      } catch (err) {
        // Another KEK, or a damaged row: no attempt can succeed; give the SETs up (the receiver re-supplies it).
        deps.logger.error({ err, streamId: stream.stream_id }, 'SSF push credential cannot be opened');
        await deps.storage.db
          .updateTable('ssf_queued_sets')
          .set({ failed_at: deps.now().toISOString(), last_error: 'credential_unreadable' })
          .where('stream_id', '=', stream.stream_id)
          .where('failed_at', 'is', null)
          .execute();
        return 0;
      }
      return pushStream(deps, stream.stream_id, { endpointUrl: stream.endpoint_url, authorization }, batch);
    },
  }));
}

async function pushStream(
  deps: PushDeps,
  streamId: string,
  target: { endpointUrl: string; authorization: string | null },
  batch: number,
): Promise<number> {
  const db = deps.storage.db;
  const maxAttempts = deps.maxAttempts ?? 12;
  const leaseMs = deps.leaseMs ?? 30_000;
  const rows = await db
    .selectFrom('ssf_queued_sets')
    .select(['seq', 'jti', 'token', 'attempts', 'next_attempt_at'])
    .where('stream_id', '=', streamId)
    .where('failed_at', 'is', null)
    .where('next_attempt_at', '<=', deps.now().toISOString())
    .orderBy('seq')
    .limit(batch)
    .execute();
  let delivered = 0;
  for (const row of rows) {
    const claimedAt = deps.now();
    const claim = await db
      .updateTable('ssf_queued_sets')
      .set({ next_attempt_at: new Date(claimedAt.getTime() + leaseMs).toISOString() })
      .where('seq', '=', row.seq)
      .where('next_attempt_at', '=', row.next_attempt_at)
      .executeTakeFirst();
    if (Number(claim.numUpdatedRows) !== 1) continue;
    const outcome = await deliver(deps, target, row.token);
    if (outcome.delivered) {
      await db.deleteFrom('ssf_queued_sets').where('seq', '=', row.seq).execute();
      delivered++;
      continue;
    }
    const attempts = Number(row.attempts) + 1;
    const giveUp = outcome.permanent || attempts >= maxAttempts;
    const at = deps.now();
    await db
      .updateTable('ssf_queued_sets')
      .set({
        attempts,
        last_error: outcome.error,
        next_attempt_at: new Date(at.getTime() + backoffMs(attempts)).toISOString(),
        failed_at: giveUp ? at.toISOString() : null,
      })
      .where('seq', '=', row.seq)
      .execute();
    deps.logger.warn(
      { streamId, jti: row.jti, attempts, error: outcome.error, gaveUp: giveUp },
      giveUp ? 'SSF push gave up on a SET' : 'SSF push failed; retried with backoff',
    );
    // A refused SET says nothing about the next one; any other failure is the receiver's, so wait for it.
    if (outcome.error.startsWith('refused:')) continue;
    break;
  }
  return delivered;
}

/**
 * Drops SETs nobody will take: given up more than `keepMs` ago, or queued more than `keepMs` ago and still
 * undelivered (a poll stream nobody polls, a stream paused for good). Bounds the queue; returns the count.
 */
export async function pruneQueuedSets(storage: Storage, now: Date, keepMs: number): Promise<number> {
  const before = new Date(now.getTime() - keepMs).toISOString();
  const result = await storage.db
    .deleteFrom('ssf_queued_sets')
    .where((eb) => eb.or([eb('failed_at', '<', before), eb('queued_at', '<', before)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
