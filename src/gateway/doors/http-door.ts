import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type {
  Decision,
  DecisionCore,
  DenyStatus,
  ForwardedCertificate,
  RequestFacts,
} from '../decision/types.ts';
import { GATEWAY_REASONS } from '../gateway-error.ts';
import { sendDecisionProblem } from '../send-problem.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The edge's request id when it is a plain token (Envoy and nginx make UUIDs), so logs correlate; else ours. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const id = headers['x-request-id'];
  return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
}

export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A refusal the door itself makes before the core is asked (a certificate header it cannot read). */
export function unreadableCertificate(): Extract<Decision, { allow: false }> {
  return {
    allow: false,
    status: 403,
    reason: GATEWAY_REASONS.certificateUntrusted,
    detail: 'the forwarded client certificate is not usable',
    challenge: undefined,
  };
}

export function badRequest(detail: string): Extract<Decision, { allow: false }> {
  return { allow: false, status: 400, reason: GATEWAY_REASONS.invalidPath, detail, challenge: undefined };
}

/**
 * Asks the core and answers the edge in the shape nginx auth_request and Envoy ext_authz (HTTP service) both
 * read: 200 with the identity headers to forward upstream, or the refusal's status with its problem body
 * and WWW-Authenticate, which the edge passes to the client. One decision line per request.
 */
export async function answerHttpDoor(
  door: string,
  core: DecisionCore,
  req: IncomingMessage,
  res: ServerResponse,
  facts: RequestFacts,
  certificate: ForwardedCertificate | undefined | 'refused',
  refusal?: Extract<Decision, { allow: false }>,
  /** Statuses the edge cannot pass on, and what to answer instead (nginx auth_request: 429 → 403). */
  statusMap?: Partial<Record<number, DenyStatus>>,
): Promise<void> {
  const started = performance.now();
  req.resume();
  let decision: Decision;
  if (refusal !== undefined) decision = refusal;
  else if (certificate === 'refused') decision = unreadableCertificate();
  else {
    const decided = core.decide(facts);
    decision = decided instanceof Promise ? await decided : decided;
  }
  const instance = pathOf(facts.target);
  if (decision.allow) {
    const nonce = decision.dpopNonce === undefined ? {} : { 'dpop-nonce': decision.dpopNonce };
    res.writeHead(200, {
      ...decision.headers,
      ...decision.responseHeaders,
      ...nonce,
      'cache-control': 'no-store',
      'content-length': 0,
    });
    res.end();
  } else {
    res.setHeader('x-accredit-reason', decision.reason);
    const status = statusMap?.[decision.status];
    const answered = status === undefined ? decision : { ...decision, status };
    sendDecisionProblem(res, answered, { requestId: facts.requestId, instance });
  }
  core.record(door, facts, decision, performance.now() - started);
}

export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}
