import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  FEED_CHANGES_LIMIT,
  FEED_CHANGES_PATH,
  type FeedChangesAnswer,
  type FeedSnapshotAnswer,
} from '../../doors/feed-poll-protocol.ts';
import type { FeedChange } from '../../gateway/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { findEnforcementCredential } from './enforcement-credential-store.ts';
import { takeEnforcementSnapshot } from './take-snapshot.ts';

const SEQ = /^(0|[1-9][0-9]{0,15})$/;

export interface PollRouteOptions {
  storage: Storage;
  clock: Clock;
  /** Changes kept for pollers (default 10 000); one further behind gets a snapshot. */
  replayCapacity?: number;
}

/**
 * `GET /enforcement/v1/changes?after=SEQ`: the change feed for enforcement points that poll instead of holding
 * a stream (the AWS Lambda authorizer, frozen between invocations). It follows the platform's change feed from
 * registration and keeps the latest changes, so a poll is answered from memory: 204 when nothing is newer, the
 * changes after SEQ when all are held, else a snapshot. Never a gap; a change the platform has applied is in
 * the answer to the next poll (the feed delivers it before the call that made it answers).
 */
export function registerPollRoute(app: FastifyInstance, options: PollRouteOptions): void {
  const { storage, clock } = options;
  const capacity = options.replayCapacity ?? 10_000;
  const held: FeedChange[] = [];
  // Every committed change with seq in (coveredFrom, lastSeq] has been seen; the newest `capacity` are held.
  let coveredFrom = storage.feed.lastSeq;
  let lastSeq = coveredFrom;
  const unsubscribe = storage.feed.subscribe((change) => {
    if (change.seq <= lastSeq) return;
    held.push({
      seq: change.seq,
      at: change.at,
      kind: change.kind,
      entityId: change.entityId,
      payload: change.payload,
    });
    if (held.length > capacity) coveredFrom = held.shift()!.seq;
    lastSeq = change.seq;
  });
  app.addHook('onClose', async () => {
    unsubscribe();
  });

  async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    const credential = match?.[1] ? await findEnforcementCredential(storage.db, match[1]) : undefined;
    if (credential) return credential;
    reply.header(
      'www-authenticate',
      match
        ? 'Bearer realm="accredit-enforcement", error="invalid_token"'
        : 'Bearer realm="accredit-enforcement"',
    );
    await sendProblem(reply, problem(401, 'unauthorized', 'an enforcement credential is required'));
    return undefined;
  }

  /** The held changes after `after`, bounded; undefined when they cannot all be replayed from memory. */
  function replay(after: number): FeedChangesAnswer | undefined {
    if (after < coveredFrom || after > lastSeq || coveredFrom < 0) return undefined;
    const changes: FeedChange[] = [];
    for (const change of held) {
      if (change.seq <= after) continue;
      if (changes.length === FEED_CHANGES_LIMIT) return { seq: changes.at(-1)!.seq, changes, more: true };
      changes.push(change);
    }
    return { seq: changes.at(-1)?.seq ?? after, changes, more: false };
  }

  app.get(FEED_CHANGES_PATH, { schema: { hide: true } }, async (request, reply) => {
    const credential = await authenticate(request, reply);
    if (!credential) return reply;
    const raw = (request.query as Record<string, unknown>).after;
    if (raw !== undefined && (typeof raw !== 'string' || !SEQ.test(raw))) {
      return sendProblem(reply, problem(400, 'invalid_request', 'after: a sequence number'));
    }
    reply.header('cache-control', 'no-store');
    const after = raw === undefined ? undefined : Number(raw);
    // A poller that saw a snapshot taken a moment ago may be ahead of what this process has delivered yet.
    if (after !== undefined && after > lastSeq) await storage.feed.sync();
    const answer = after === undefined ? undefined : replay(after);
    if (answer === undefined) {
      const snapshot = await takeEnforcementSnapshot(storage, clock());
      request.log.info(
        { enforcement_credential: credential.name, seq: snapshot.seq },
        'enforcement feed snapshot polled',
      );
      return reply.send({ seq: snapshot.seq, snapshot } satisfies FeedSnapshotAnswer);
    }
    if (answer.changes.length === 0) return reply.code(204).send();
    return reply.send(answer);
  });
}
