import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FEED_ACK_PATH, FEED_PATH } from '../../gateway/index.ts';
import type { Storage } from '../../storage/index.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { findEnforcementCredential } from './enforcement-credential-store.ts';
import type { FeedHub } from './feed-hub.ts';

const SEQ = /^(0|[1-9][0-9]{0,15})$/;
const DEFAULT_HEARTBEAT_MS = 5000;

function intParam(value: unknown): number | undefined | 'bad' {
  if (value === undefined) return undefined;
  return typeof value === 'string' && SEQ.test(value) ? Number(value) : 'bad';
}

/**
 * `GET /enforcement/v1/feed`: the access-affecting state as server-sent events, for enforcement points holding
 * a credential an operator granted (Bearer, RFC 6750); without one nothing of the feed is sent.
 */
export function registerFeedRoute(app: FastifyInstance, deps: { storage: Storage; hub: FeedHub }): void {
  async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    const credential = match?.[1] ? await findEnforcementCredential(deps.storage.db, match[1]) : undefined;
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

  app.post(
    FEED_ACK_PATH,
    {
      schema: {
        hide: true,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['stream', 'seq'],
          properties: {
            stream: { type: 'string', minLength: 1, maxLength: 64 },
            seq: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    async (request, reply) => {
      const credential = await authenticate(request, reply);
      if (!credential) return reply;
      const { stream, seq } = request.body as { stream: string; seq: number };
      if (!deps.hub.acknowledge(credential.id, stream, seq)) {
        return sendProblem(reply, problem(404, 'not_found', 'no such feed stream of this credential'));
      }
      return reply.code(204).send();
    },
  );

  app.get(FEED_PATH, { schema: { hide: true } }, async (request, reply) => {
    const credential = await authenticate(request, reply);
    if (!credential) return reply;
    const query = request.query as Record<string, unknown>;
    // WHATWG SSE §9.2.4: a reconnecting EventSource names the last id it saw in Last-Event-ID.
    const lastEventId = request.headers['last-event-id'];
    const after = intParam(query.after ?? (typeof lastEventId === 'string' ? lastEventId : undefined));
    const heartbeat = intParam(query.heartbeat_ms);
    if (
      after === 'bad' ||
      heartbeat === 'bad' ||
      (heartbeat !== undefined && (heartbeat < 200 || heartbeat > 60_000))
    ) {
      return sendProblem(
        reply,
        problem(400, 'invalid_request', 'after/Last-Event-ID: a sequence number; heartbeat_ms: 200 to 60000'),
      );
    }
    if (!deps.hub.hasRoom()) {
      reply.header('retry-after', '5');
      return sendProblem(reply, problem(503, 'feed_busy', 'too many enforcement feed clients; retry later'));
    }
    reply.hijack();
    request.log.info({ enforcement_credential: credential.name, after }, 'enforcement feed stream opened');
    await deps.hub.open(reply.raw, {
      credentialId: credential.id,
      after,
      heartbeatMs: heartbeat ?? DEFAULT_HEARTBEAT_MS,
    });
  });
}
