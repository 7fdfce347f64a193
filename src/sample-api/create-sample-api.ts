import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GATEWAY_SECRET_HEADER } from '../gateway/index.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { SampleData } from './sample-data.ts';

export interface SampleApiOptions {
  /**
   * The secret the gateway sends in x-accredit-gateway-secret (at least 32 characters): any request without
   * it is refused before its identity headers are read, so a local process cannot pose as the gateway.
   */
  gatewaySecret: string;
  /** Request bodies larger than this are refused with 413 (default 64 KiB). */
  maxBodyBytes?: number;
  clock?: Clock;
}

interface Caller {
  clientId: string;
  orgId: string;
}

class HttpProblem extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const NAME = /^[\p{L}\p{N} .,'&()-]{1,100}$/u;
const CURRENCY = /^[A-Z]{3}$/;
const AMOUNT = /^(?!0+(?:\.0+)?$)\d{1,12}(?:\.\d{1,2})?$/;
const REPORT = /^[a-z0-9][a-z0-9_-]{0,63}(?:\.csv)?$/;

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendProblem(res: ServerResponse, problem: HttpProblem): void {
  const text = JSON.stringify({
    type: `urn:accredit:sample:${problem.code}`,
    title: problem.message,
    status: problem.status,
    code: problem.code,
  });
  res.writeHead(problem.status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** Compared as digests: timingSafeEqual needs equal lengths, and the length must not leak either. */
function checkGatewaySecret(req: IncomingMessage, expected: Buffer): void {
  const presented = req.headers[GATEWAY_SECRET_HEADER];
  if (typeof presented !== 'string' || !timingSafeEqual(sha256(presented), expected)) {
    throw new HttpProblem(401, 'not_from_gateway', 'requests must come through the gateway');
  }
}

const notFound = () => new HttpProblem(404, 'not_found', 'no such resource');

/** The gateway is the only caller: identity comes from its x-accredit-* headers and from nowhere else. */
function callerOf(req: IncomingMessage): Caller {
  const clientId = req.headers['x-accredit-client-id'];
  const orgId = req.headers['x-accredit-org-id'];
  if (typeof clientId !== 'string' || clientId === '' || typeof orgId !== 'string' || orgId === '') {
    throw new HttpProblem(401, 'unauthenticated', 'caller identity is missing');
  }
  return { clientId, orgId };
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(?:;|$)/i.test(type)) {
    throw new HttpProblem(415, 'unsupported_media_type', 'the body must be application/json');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new HttpProblem(413, 'body_too_large', 'the body is too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpProblem(413, 'body_too_large', 'the body is too large');
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpProblem(400, 'invalid_input', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw notFound();
  }
}

function methodNotAllowed(allowed: string): HttpProblem {
  return new HttpProblem(405, 'method_not_allowed', `allowed: ${allowed}`);
}

/**
 * The example partner API the embedded platform ships behind its gateway: accounts, payments and reports of
 * the calling organisation, with object-level authorisation (another org's account is a 404, never a 403
 * that would confirm it exists).
 */
export function createSampleApi(options: SampleApiOptions): Server {
  if (typeof options.gatewaySecret !== 'string' || !/^[\x21-\x7e]{32,}$/.test(options.gatewaySecret)) {
    throw new Error('sample API: gatewaySecret must be at least 32 visible ASCII characters');
  }
  const gatewaySecret = sha256(options.gatewaySecret);
  const data = new SampleData();
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const clock = options.clock ?? systemClock;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] as string;
    const parts = path.split('/').slice(1);
    checkGatewaySecret(req, gatewaySecret);
    if (path === '/health') {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
      return send(res, 200, { status: 'ok' });
    }
    if (parts[0] !== 'v1') throw notFound();
    const caller = callerOf(req);
    const [, resource, id, ...rest] = parts;
    if (rest.length > 0) throw notFound();

    if (resource === 'accounts' && id === undefined) {
      if (method === 'GET')
        return send(res, 200, { org_id: caller.orgId, accounts: data.accountsOf(caller.orgId) });
      if (method === 'POST') {
        const body = await readJson(req, maxBody);
        if (typeof body.name !== 'string' || !NAME.test(body.name)) {
          throw new HttpProblem(400, 'invalid_input', 'name must be 1 to 100 letters, digits or punctuation');
        }
        const currency = body.currency ?? 'EUR';
        if (typeof currency !== 'string' || !CURRENCY.test(currency)) {
          throw new HttpProblem(400, 'invalid_input', 'currency must be an ISO 4217 code');
        }
        const account = data.createAccount(caller.orgId, body.name, currency);
        return send(res, 201, account, { location: `/v1/accounts/${account.id}` });
      }
      throw methodNotAllowed('GET, POST');
    }
    if (resource === 'accounts' && id !== undefined) {
      if (method !== 'GET') throw methodNotAllowed('GET');
      const account = data.accountOf(caller.orgId, segment(id));
      if (!account) throw notFound();
      return send(res, 200, account);
    }
    if (resource === 'payments' && id === undefined) {
      if (method !== 'POST') throw methodNotAllowed('POST');
      const body = await readJson(req, maxBody);
      const { from_account: from, currency } = body;
      const amount = typeof body.amount === 'number' ? String(body.amount) : body.amount;
      if (typeof from !== 'string' || typeof amount !== 'string' || !AMOUNT.test(amount)) {
        throw new HttpProblem(400, 'invalid_input', 'from_account and a positive amount are required');
      }
      if (typeof currency !== 'string' || !CURRENCY.test(currency)) {
        throw new HttpProblem(400, 'invalid_input', 'currency must be an ISO 4217 code');
      }
      // Object ownership: paying from another organisation's account is indistinguishable from a missing one.
      if (!data.accountOf(caller.orgId, from)) throw notFound();
      const payment = data.createPayment(caller.orgId, {
        from_account: from,
        amount,
        currency,
        created_at: clock().toISOString(),
      });
      return send(res, 201, payment, { location: `/v1/payments/${payment.id}` });
    }
    if (resource === 'reports' && id !== undefined) {
      if (method !== 'GET') throw methodNotAllowed('GET');
      if (!REPORT.test(segment(id))) throw notFound();
      const rows = data
        .accountsOf(caller.orgId)
        .map((a) => `${a.id},${JSON.stringify(a.name)},${a.currency},${(a.balance_minor / 100).toFixed(2)}`);
      const csv = ['account_id,name,currency,balance', ...rows].join('\n') + '\n';
      res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-length': Buffer.byteLength(csv),
      });
      res.end(csv);
      return;
    }
    throw notFound();
  }

  return createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const problem =
        err instanceof HttpProblem
          ? err
          : new HttpProblem(500, 'internal_error', 'an internal error occurred');
      if (!res.headersSent) {
        // A refused upload is not read to the end: close the connection instead of draining it.
        if (problem.status === 413 || problem.code === 'not_from_gateway')
          res.setHeader('connection', 'close');
        sendProblem(res, problem);
      } else {
        res.destroy();
      }
    });
  });
}
