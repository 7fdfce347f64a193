import type { FastifyInstance } from 'fastify';
import {
  DECISIONS_PUSH_MAX_BYTES,
  DECISIONS_PUSH_MAX_ITEMS,
  DECISIONS_PUSH_PATH,
  type DecisionRecord,
  decisionRecordOf,
} from '../../gateway/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import type { DecisionRecorder } from '../decision-recorder.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { findEnforcementCredential } from './enforcement-credential-store.ts';

/** A pushed line may be this old (a batch that waited for a slow or unreachable platform) … */
export const PUSH_MAX_AGE_MS = 10 * 60_000;
/** … and this far ahead of the platform's clock (skew). */
export const PUSH_MAX_AHEAD_MS = 60_000;

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });

const lineSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['at', 'door', 'decision', 'reason', 'status', 'method', 'path', 'request_id', 'latency_ms'],
  properties: {
    at: { type: 'string', format: 'date-time', maxLength: 40 },
    door: { type: 'string', pattern: '^[a-z0-9_-]{1,32}$' },
    decision: { type: 'string', enum: ['allow', 'deny'] },
    reason: { type: 'string', pattern: '^[a-z0-9_]{1,64}$' },
    status: { type: 'integer', minimum: 100, maximum: 599 },
    method: { type: 'string', pattern: '^[A-Za-z]{1,16}$' },
    route: nullable({ type: 'string', maxLength: 512 }),
    path: { type: 'string', maxLength: 2048 },
    client_id: nullable({ type: 'string', minLength: 1, maxLength: 256 }),
    org_id: nullable({ type: 'string', minLength: 1, maxLength: 128 }),
    jti: nullable({ type: 'string', maxLength: 256 }),
    cert_subject: nullable({ type: 'string', maxLength: 1024 }),
    cert_x5t_s256: nullable({ type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' }),
    request_id: { type: 'string', minLength: 1, maxLength: 128 },
    latency_ms: { type: 'number', minimum: 0, maximum: 3_600_000 },
  },
} as const;

type PushedLine = {
  at: string;
  door: string;
  decision: 'allow' | 'deny';
  reason: string;
  status: number;
  method: string;
  route?: string | null;
  path: string;
  client_id?: string | null;
  org_id?: string | null;
  jti?: string | null;
  cert_subject?: string | null;
  cert_x5t_s256?: string | null;
  request_id: string;
  latency_ms: number;
};

/**
 * `POST /enforcement/v1/decisions` (issue 16, optional for standalone gateways): a batch of a gateway's
 * decision lines into the shared decision log, so that the console's log, charts and the go-live check see
 * traffic that never passed a platform node. Authenticated by an enforcement credential (Bearer, RFC 6750);
 * at most 1,000 lines and 1 MiB a request; lines older than 10 minutes or more than a minute ahead refuse the
 * batch. The receiving node's lines-per-second cap applies to them as to its own.
 */
export function registerDecisionPushRoute(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; recorder: () => DecisionRecorder | undefined },
): void {
  app.post(
    DECISIONS_PUSH_PATH,
    {
      bodyLimit: DECISIONS_PUSH_MAX_BYTES,
      // Authentication first: an unauthenticated caller learns nothing about the body's shape.
      preValidation: async (request, reply) => {
        const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(request.headers.authorization ?? '');
        const credential = match?.[1]
          ? await findEnforcementCredential(deps.storage.db, match[1])
          : undefined;
        if (credential) {
          (request as { enforcementCredential?: { name: string } }).enforcementCredential = credential;
          return;
        }
        reply.header(
          'www-authenticate',
          match
            ? 'Bearer realm="accredit-enforcement", error="invalid_token"'
            : 'Bearer realm="accredit-enforcement"',
        );
        await sendProblem(reply, problem(401, 'unauthorized', 'an enforcement credential is required'));
      },
      schema: {
        hide: true,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['decisions'],
          properties: {
            decisions: { type: 'array', maxItems: DECISIONS_PUSH_MAX_ITEMS, items: lineSchema },
          },
        },
      },
    },
    async (request, reply) => {
      const credential = (request as { enforcementCredential?: { name: string } }).enforcementCredential;
      if (!credential) return reply;
      const recorder = deps.recorder();
      if (!recorder) {
        return sendProblem(
          reply,
          problem(503, 'decision_log_unavailable', 'the decision log is not running'),
        );
      }
      const { decisions } = request.body as { decisions: PushedLine[] };
      const now = deps.clock().getTime();
      const lines: Array<{ entry: DecisionRecord; at: number }> = [];
      for (const [i, line] of decisions.entries()) {
        const at = Date.parse(line.at);
        if (!Number.isFinite(at) || at < now - PUSH_MAX_AGE_MS || at > now + PUSH_MAX_AHEAD_MS) {
          return sendProblem(
            reply,
            problem(
              400,
              'invalid_request',
              `decisions[${i}].at must be within the last ${PUSH_MAX_AGE_MS / 60_000} minutes of the platform's clock`,
            ),
          );
        }
        lines.push({ entry: decisionRecordOf(line), at });
      }
      recorder.ingest(lines, `gateway:${credential.name}`);
      return reply.code(202).send({ accepted: lines.length });
    },
  );
}
