import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decisionLineFields } from '../../gateway/index.ts';
import { AppError, invalidInput } from '../../shared/app-error.ts';
import type {
  DecisionFilter,
  DecisionRecorder,
  DecisionSubscription,
  RecordedDecision,
} from '../decision-recorder.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { findOperator } from '../operator-tokens.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const tags = ['decisions'];
const DEFAULT_HEARTBEAT_SECONDS = 15;
/** A reader this far behind is cut off rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

const filterProperties = {
  decision: { type: 'string', enum: ['allow', 'deny'] },
  reason: { type: 'string', pattern: '^[a-z0-9_]{1,64}$' },
  org_id: { type: 'string', minLength: 1, maxLength: 128 },
  client_id: { type: 'string', minLength: 1, maxLength: 256 },
  door: { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' },
} as const;

type FilterQuery = {
  decision?: 'allow' | 'deny';
  reason?: string;
  org_id?: string;
  client_id?: string;
  door?: string;
};

const filterOf = (q: FilterQuery): DecisionFilter => ({
  decision: q.decision,
  reason: q.reason,
  org_id: q.org_id,
  client_id: q.client_id,
  door: q.door,
});

function inRange(name: string, raw: string | undefined, min: number, max: number, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidInput(`${name} must be from ${min} to ${max}`, { field: name });
  }
  return n;
}

/** The decision as it goes out: the tap's record already has credential-looking path parts redacted. */
const itemOf = (d: RecordedDecision) => ({ id: d.id, at: d.at, ...decisionLineFields(d) });

/** Whether the caller behind a long-lived request is still an operator (its session or token not ended). */
async function stillOperator(deps: AdminDeps, request: FastifyRequest): Promise<boolean> {
  if (request.consoleCaller) {
    const caller = await deps.callers?.resolve(request.headers.cookie);
    return caller?.operator !== undefined;
  }
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(request.headers.authorization ?? '');
  return match?.[1] ? (await findOperator(deps.storage.db, match[1])) !== undefined : false;
}

function recorderOf(deps: AdminDeps): DecisionRecorder {
  if (!deps.decisionRecorder) {
    throw new AppError('decision_log_unavailable', 503, 'the decision log is not running');
  }
  return deps.decisionRecorder;
}

/**
 * The live decision log of every node's doors (issue 15; shared through the database since issue 16): the
 * recent decisions with filters, a stream of the next ones (Server-Sent Events), and per-organisation
 * traffic per minute.
 */
export function registerDecisionRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.get(
    '/decisions',
    {
      schema: {
        tags,
        summary: 'Recent enforcement decisions, newest first (page with before = next_before)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterProperties,
            limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
            before: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as FilterQuery & { limit?: string; before?: string };
      const limit = inRange('limit', q.limit, 1, 500, 100);
      const page = await recorderOf(deps).list(
        filterOf(q),
        limit,
        q.before === undefined ? undefined : Number(q.before),
      );
      return { items: page.items.map(itemOf), next_before: page.next_before };
    },
  );

  app.get(
    '/decisions/stream',
    {
      schema: {
        tags,
        summary:
          'The next matching decisions of every node as Server-Sent Events (event "decision", id = decision ' +
          'id; resumes after Last-Event-ID with at most the newest 1000 still held)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...filterProperties,
            heartbeat_seconds: { type: 'string', pattern: '^[0-9]{1,3}$' },
          },
        },
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', pattern: '^[0-9]{1,15}$' } },
        },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const q = request.query as FilterQuery & { heartbeat_seconds?: string };
      const heartbeatSeconds = inRange(
        'heartbeat_seconds',
        q.heartbeat_seconds,
        1,
        120,
        DEFAULT_HEARTBEAT_SECONDS,
      );
      const recorder = recorderOf(deps);
      const lastEventId = request.headers['last-event-id'];
      const after = typeof lastEventId === 'string' ? Number(lastEventId) : undefined;
      const res = reply.raw;
      let heartbeat: NodeJS.Timeout | undefined;
      let ended = false;
      let subscription: DecisionSubscription | undefined;
      const end = (reason?: string) => {
        if (ended) return;
        ended = true;
        if (heartbeat) clearInterval(heartbeat);
        subscription?.close();
        if (reason && !res.writableEnded) res.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
        res.end();
      };
      let started = false;
      const pendingReplay: RecordedDecision[] = [];
      const send = (entry: RecordedDecision) => {
        if (!started) {
          pendingReplay.push(entry);
          return;
        }
        if (ended) return;
        res.write(`id: ${entry.id}\nevent: decision\ndata: ${JSON.stringify(itemOf(entry))}\n\n`);
        if (res.writableLength > MAX_BUFFERED_BYTES) end('slow_reader');
      };
      subscription = await recorder.subscribe(filterOf(q), send, {
        after,
        onClose: () => end('shutting_down'),
      });
      if (!subscription) {
        reply.header('retry-after', '30');
        return sendProblem(
          reply,
          problem(429, 'too_many_streams', 'too many decision log streams are open; retry later'),
        );
      }
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 5000\n: decisions\n\n`);
      started = true;
      for (const entry of pendingReplay.splice(0)) send(entry);
      res.once('close', () => end());
      heartbeat = setInterval(() => {
        // A comment line (SSE): keeps proxies from timing out; each one re-checks the session or token.
        stillOperator(deps, request).then(
          (ok) => {
            if (!ok) end('session_ended');
            else if (!ended) res.write(`: ${deps.clock().toISOString()}\n\n`);
          },
          () => end('session_check_failed'),
        );
      }, heartbeatSeconds * 1000);
      heartbeat.unref();
      // The reader may have gone while the stream was being set up (its close event is then already past).
      if (ended || res.destroyed || !res.socket || res.socket.destroyed) end();
    },
  );

  app.get(
    '/decisions/stats',
    {
      schema: {
        tags,
        summary:
          'Requests, denials and p50/p95 latency per minute, per organisation and in total; denials by reason',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { minutes: { type: 'string', pattern: '^[0-9]{1,4}$' } },
        },
        response: errorResponses,
      },
    },
    async (request) => {
      const q = request.query as { minutes?: string };
      const minutes = inRange('minutes', q.minutes, 1, 1440, 60);
      return await recorderOf(deps).stats(minutes);
    },
  );
}
