import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Decision, DecisionCore, ForwardedCertificate, RequestFacts } from '../decision/types.ts';
import { GATEWAY_REASONS } from '../gateway-error.ts';
import { problemBody } from '../send-problem.ts';
import { requestIdOf } from './http-door.ts';

/** OpenID AuthZEN Authorization API 1.0 endpoints (§6, §7, §9). */
export const AUTHZEN_PATHS = {
  evaluation: '/access/v1/evaluation',
  evaluations: '/access/v1/evaluations',
  metadata: '/.well-known/authzen-configuration',
} as const;

const MAX_BODY = 1024 * 1024;
const MAX_EVALUATIONS = 100;
const SEMANTICS = new Set(['execute_all', 'deny_on_first_deny', 'permit_on_first_permit']);

type Json = Record<string, unknown>;

class BadRequest extends Error {}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function send(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BadRequest('the request body is too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The PDP metadata (§9): where its evaluation endpoints are, under the listener's public base URL. */
export function authzenMetadata(baseUrl: string): Json {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    policy_decision_point: base,
    access_evaluation_endpoint: `${base}${AUTHZEN_PATHS.evaluation}`,
    access_evaluations_endpoint: `${base}${AUTHZEN_PATHS.evaluations}`,
  };
}

interface Evaluation {
  facts: RequestFacts;
  subjectId: string;
  certificate: ForwardedCertificate | undefined | 'refused';
}

/**
 * One AuthZEN request → the door's facts: subject {type, id, properties: {token, token_type ("Bearer", the
 * default, or "DPoP"), client_certificate (PEM)}} is the calling client, action.name the HTTP method,
 * resource {type: "route", id: the request path, properties: {query: the query string, origin: the external
 * base URL the client addressed, for the DPoP proof's htu}}, and context.dpop the DPoP proof (RFC 9449; also
 * read from subject.properties.dpop).
 */
function factsOf(item: Json, requestId: string): Evaluation {
  const { subject, action, resource, context } = item;
  if (!isObject(subject) || !str(subject.type) || !str(subject.id)) {
    throw new BadRequest('subject with type and id is required');
  }
  if (!isObject(action) || !str(action.name)) throw new BadRequest('action with name is required');
  if (!isObject(resource) || !str(resource.type) || !str(resource.id)) {
    throw new BadRequest('resource with type and id is required');
  }
  if (resource.type !== 'route') throw new BadRequest('resource.type must be "route"');
  const props = isObject(subject.properties) ? subject.properties : {};
  const rprops = isObject(resource.properties) ? resource.properties : {};
  const token = str(props.token);
  const query = str(rprops.query);
  const origin = str(rprops.origin);
  const tokenType = str(props.token_type) ?? 'Bearer';
  if (!/^(bearer|dpop)$/i.test(tokenType))
    throw new BadRequest('subject.properties.token_type must be Bearer or DPoP');
  const proof = str(isObject(context) ? context.dpop : undefined) ?? str(props.dpop);
  let certificate: ForwardedCertificate | undefined | 'refused';
  const pem = str(props.client_certificate);
  if (pem !== undefined) {
    try {
      certificate = { leaf: new X509Certificate(pem), chain: [], source: 'rfc9440' };
    } catch {
      certificate = 'refused';
    }
  }
  const path = resource.id as string;
  return {
    subjectId: subject.id as string,
    certificate,
    facts: {
      method: (action.name as string).toUpperCase(),
      target: query === undefined ? path : `${path}${query.startsWith('?') ? '' : '?'}${query}`,
      authorization: token === undefined ? undefined : `${tokenType} ${token}`,
      dpop: proof,
      ...(origin !== undefined ? { origin } : {}),
      certificate: certificate === 'refused' ? undefined : certificate,
      requestId,
    },
  };
}

/** §6 response: decision plus a context naming the reason (and, when allowed, who the caller is). */
function resultOf(decision: Decision): Json {
  if (decision.allow) {
    const id = decision.identity;
    return {
      decision: true,
      context: {
        reason: decision.reason,
        status: 200,
        client_id: id.clientId,
        org_id: id.orgId,
        scopes: id.scopes,
        roles: id.roles,
        jti: id.jti,
        cert_x5t_s256: id.certX5tS256,
        route: id.route,
        ...(decision.dpopNonce !== undefined ? { dpop_nonce: decision.dpopNonce } : {}),
        ...(decision.responseHeaders !== undefined ? { response_headers: decision.responseHeaders } : {}),
      },
    };
  }
  return {
    decision: false,
    context: {
      reason: decision.reason,
      status: decision.status,
      detail: decision.detail,
      ...(decision.challenge !== undefined ? { www_authenticate: decision.challenge } : {}),
      ...(decision.dpopNonce !== undefined ? { dpop_nonce: decision.dpopNonce } : {}),
      // Rate limits (429 rate_limited): Retry-After, RateLimit-Policy, RateLimit for the enforcement point.
      ...(decision.responseHeaders !== undefined ? { response_headers: decision.responseHeaders } : {}),
    },
  };
}

async function evaluate(core: DecisionCore, evaluation: Evaluation): Promise<Decision> {
  const started = performance.now();
  let decision: Decision;
  if (evaluation.certificate === 'refused') {
    decision = {
      allow: false,
      status: 403,
      reason: GATEWAY_REASONS.certificateUntrusted,
      detail: 'subject.properties.client_certificate is not a PEM certificate',
      challenge: undefined,
    };
  } else {
    const decided = core.decide(evaluation.facts);
    decision = decided instanceof Promise ? await decided : decided;
    // The subject named is the client the token was issued to, or the answer is about someone else.
    if (
      decision.allow &&
      decision.identity.clientId !== undefined &&
      decision.identity.clientId !== evaluation.subjectId
    ) {
      decision = {
        allow: false,
        status: 403,
        reason: 'subject_mismatch',
        detail: 'subject.id is not the client the access token was issued to',
        challenge: undefined,
        identity: decision.identity,
      };
    }
  }
  core.record('authzen', evaluation.facts, decision, performance.now() - started);
  return decision;
}

function merged(defaults: Json, item: Json): Json {
  return {
    subject: item.subject ?? defaults.subject,
    action: item.action ?? defaults.action,
    resource: item.resource ?? defaults.resource,
    context: item.context ?? defaults.context,
  };
}

/** POST /access/v1/evaluation and /access/v1/evaluations (§6, §7), over the same decision core. */
export async function handleAuthzen(
  core: DecisionCore,
  which: 'evaluation' | 'evaluations',
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const requestId = requestIdOf(req.headers);
  const refuse = (status: number, reason: string, detail: string) => {
    const text = problemBody(status, reason, detail, { requestId, instance: req.url ?? '' });
    res.writeHead(status, {
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      'x-request-id': requestId,
    });
    res.end(text);
  };
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    req.resume();
    refuse(405, 'method_not_allowed', 'use POST');
    return;
  }
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    req.resume();
    refuse(415, 'unsupported_media_type', 'the body must be application/json');
    return;
  }
  try {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (err) {
      if (err instanceof BadRequest) throw err;
      throw new BadRequest('the body is not JSON');
    }
    if (!isObject(body)) throw new BadRequest('the body must be a JSON object');
    const items = body.evaluations;
    if (which === 'evaluation' || items === undefined || (Array.isArray(items) && items.length === 0)) {
      // §7.1: without evaluations the batch endpoint answers like the single one.
      const decision = await evaluate(core, factsOf(body, requestId));
      send(res, 200, resultOf(decision), requestId);
      return;
    }
    if (!Array.isArray(items) || items.length > MAX_EVALUATIONS) {
      throw new BadRequest(`evaluations must be an array of at most ${MAX_EVALUATIONS} requests`);
    }
    const options = isObject(body.options) ? body.options : {};
    const semantic = options.evaluations_semantic ?? 'execute_all';
    if (typeof semantic !== 'string' || !SEMANTICS.has(semantic)) {
      throw new BadRequest('options.evaluations_semantic is not one this PDP knows');
    }
    // Every item is checked before any is evaluated: a malformed batch is refused whole.
    const evaluations = items.map((item, i) => {
      if (!isObject(item)) throw new BadRequest(`evaluations[${i}] must be an object`);
      return factsOf(merged(body as Json, item), items.length === 1 ? requestId : `${requestId}.${i}`);
    });
    const results: Json[] = [];
    for (const evaluation of evaluations) {
      const decision = await evaluate(core, evaluation);
      results.push(resultOf(decision));
      if (semantic === 'deny_on_first_deny' && !decision.allow) break;
      if (semantic === 'permit_on_first_permit' && decision.allow) break;
    }
    send(res, 200, { evaluations: results }, requestId);
  } catch (err) {
    if (!(err instanceof BadRequest)) throw err;
    refuse(400, 'invalid_request', err.message);
  }
}
