import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CertificateResolver } from '../authorization-server/index.ts';
import { recordTestplanRun, submittingApplication } from '../directory/index.ts';
import { certificateStore } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Storage } from '../storage/index.ts';
import { GO_LIVE_REQUIRED_CASES } from '../testplan/index.ts';
import type { ClientDecisions } from './client-decisions.ts';
import { readBoundedBody } from './est/read-bounded-body.ts';
import { PROBLEM_CONTENT_TYPE, type Problem, problem } from './http/problem.ts';

/** Where `accredit testplan run --report-to` submits its report, on the mTLS listener. */
export const TESTPLAN_RUNS_PATH = '/partner/v1/testplan-runs';
export const MAX_TESTPLAN_REPORT_BYTES = 256 * 1024;
export const MAX_TESTPLAN_CASES = 200;
/** How far the platform's own observations may lie outside the run's reported window (clock skew). */
export const OBSERVATION_SLACK_MS = 5_000;
const MAX_RUN_MS = 3_600_000;
const MAX_AGE_MS = 86_400_000;
const MAX_FUTURE_MS = 60_000;

const STATUSES = new Set(['pass', 'fail', 'skip']);
const CASE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export interface SubmittedCase {
  id: string;
  title: string;
  status: 'pass' | 'fail' | 'skip';
  expected: string;
  got: string;
  ms: number;
  delayMs?: number;
}

/** The body `accredit testplan run --report-to` sends. */
export interface SubmittedReport {
  tool: { name: string; version: string };
  target?: string;
  started_at: string;
  finished_at: string;
  cases: SubmittedCase[];
}

type Checked = { ok: true; report: SubmittedReport } | { ok: false; errors: string[] };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], at: string): string[] {
  return Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => `${at}${k}: unknown property`);
}

function text(value: unknown, at: string, max: number, errors: string[], min = 0): void {
  if (typeof value !== 'string') errors.push(`${at}: must be a string`);
  else if (value.length < min || value.length > max) errors.push(`${at}: must be ${min}–${max} characters`);
}

function duration(value: unknown, at: string, errors: string[]): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_RUN_MS)
    errors.push(`${at}: must be an integer number of milliseconds from 0 to ${MAX_RUN_MS}`);
}

/** Strict validation of a submitted report: every field, its type, its bounds; nothing unknown. */
export function checkReport(body: unknown, now: Date): Checked {
  const errors: string[] = [];
  if (!isObject(body)) return { ok: false, errors: ['the body must be a JSON object'] };
  errors.push(...unknownKeys(body, ['tool', 'target', 'started_at', 'finished_at', 'cases'], '/'));
  if (!isObject(body.tool)) errors.push('/tool: must be an object {name, version}');
  else {
    errors.push(...unknownKeys(body.tool, ['name', 'version'], '/tool/'));
    text(body.tool.name, '/tool/name', 64, errors, 1);
    text(body.tool.version, '/tool/version', 64, errors, 1);
  }
  if (body.target !== undefined) text(body.target, '/target', 2048, errors);
  const times: number[] = [];
  for (const key of ['started_at', 'finished_at'] as const) {
    const v = body[key];
    if (typeof v !== 'string' || !ISO_TIME.test(v) || Number.isNaN(Date.parse(v)))
      errors.push(`/${key}: must be an RFC 3339 date-time`);
    else times.push(Date.parse(v));
  }
  if (times.length === 2) {
    const [started, finished] = times as [number, number];
    if (finished < started) errors.push('/finished_at: is before started_at');
    if (finished - started > MAX_RUN_MS) errors.push('/finished_at: a run lasts at most an hour');
    if (finished > now.getTime() + MAX_FUTURE_MS) errors.push('/finished_at: is in the future');
    if (started < now.getTime() - MAX_AGE_MS) errors.push('/started_at: is more than a day ago');
  }
  if (!Array.isArray(body.cases)) errors.push('/cases: must be an array');
  else if (body.cases.length === 0 || body.cases.length > MAX_TESTPLAN_CASES)
    errors.push(`/cases: must hold 1–${MAX_TESTPLAN_CASES} cases`);
  else {
    const seen = new Set<string>();
    body.cases.forEach((c: unknown, i: number) => {
      const at = `/cases/${i}`;
      if (!isObject(c)) {
        errors.push(`${at}: must be an object`);
        return;
      }
      errors.push(...unknownKeys(c, ['id', 'title', 'status', 'expected', 'got', 'ms', 'delayMs'], `${at}/`));
      if (typeof c.id !== 'string' || !CASE_ID.test(c.id))
        errors.push(`${at}/id: must be a case id (lower-case letters, digits, -)`);
      else if (seen.has(c.id)) errors.push(`${at}/id: ${c.id} appears twice`);
      else seen.add(c.id);
      text(c.title, `${at}/title`, 500, errors);
      if (typeof c.status !== 'string' || !STATUSES.has(c.status))
        errors.push(`${at}/status: must be pass, fail or skip`);
      text(c.expected, `${at}/expected`, 1000, errors);
      text(c.got, `${at}/got`, 2000, errors);
      duration(c.ms, `${at}/ms`, errors);
      if (c.delayMs !== undefined) duration(c.delayMs, `${at}/delayMs`, errors);
    });
  }
  if (errors.length > 0) return { ok: false, errors: errors.slice(0, 50) };
  return { ok: true, report: body as unknown as SubmittedReport };
}

/**
 * The verdict: passed iff every case the gate requires passed, no case failed, and the platform saw within
 * the run's window at least one allowed and one refused request of the client with that certificate.
 */
export function judgeRun(
  cases: readonly SubmittedCase[],
  observed: { allowed: number; denied: number },
): { outcome: 'passed' | 'failed'; reasons: string[] } {
  const reasons: string[] = [];
  const byId = new Map(cases.map((c) => [c.id, c]));
  for (const id of GO_LIVE_REQUIRED_CASES) {
    const c = byId.get(id);
    if (!c) reasons.push(`required case ${id} is missing`);
    else if (c.status !== 'pass') reasons.push(`required case ${id} did not pass (${c.status})`);
  }
  for (const c of cases) {
    if (c.status === 'fail' && !GO_LIVE_REQUIRED_CASES.includes(c.id)) reasons.push(`case ${c.id} failed`);
  }
  if (observed.allowed < 1)
    reasons.push('the platform saw no allowed request of this client with this certificate during the run');
  if (observed.denied < 1)
    reasons.push('the platform saw no refused request of this client with this certificate during the run');
  return { outcome: reasons.length === 0 ? 'passed' : 'failed', reasons };
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    // A body left unread (refused before it was read) is not drained: the connection ends.
    ...(res.req?.complete === false ? { connection: 'close' } : {}),
  });
  res.end(text);
}

const sendProblem = (res: ServerResponse, p: Problem) => send(res, p.status, p, PROBLEM_CONTENT_TYPE);

export interface TestplanSubmissionOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** The mTLS listener's resolver: the TLS peer certificate, or one a configured trusted proxy forwarded. */
  resolveCertificate: CertificateResolver;
  decisions: ClientDecisions;
}

/**
 * `POST /partner/v1/testplan-runs` on the mTLS listener (issue 15): a sandbox client submits its test-plan
 * report, authenticated by its client certificate alone (platform-issued, unexpired, unrevoked, of an active
 * application of an active organisation). The run is recorded for THAT application and organisation, with
 * the application's environment, and judged: the partner's cases and what the platform itself observed.
 */
export function createTestplanSubmission(options: TestplanSubmissionOptions) {
  const { storage, clock, logger } = options;

  async function submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      return sendProblem(res, problem(415, 'unsupported_media_type', 'send the report as application/json'));
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_TESTPLAN_REPORT_BYTES) {
      return sendProblem(
        res,
        problem(413, 'request_too_large', `the report must be at most ${MAX_TESTPLAN_REPORT_BYTES} bytes`),
      );
    }
    const now = clock();
    const presented = options.resolveCertificate(req, now);
    if (presented && 'refused' in presented) {
      return sendProblem(
        res,
        problem(403, 'certificate_refused', `forwarded client certificate refused: ${presented.refused}`),
      );
    }
    if (!presented) {
      return sendProblem(
        res,
        problem(401, 'certificate_required', 'present the sandbox application’s certificate (mTLS)'),
      );
    }
    if (!presented.chainTrusted) {
      return sendProblem(
        res,
        problem(403, 'certificate_untrusted', 'the client certificate does not chain to this platform’s CA'),
      );
    }
    const record = await certificateStore(storage.db).byThumbprint(presented.x5t);
    if (!record) {
      return sendProblem(res, problem(403, 'certificate_unknown', 'the client certificate is not on record'));
    }
    if (record.status !== 'active') {
      return sendProblem(res, problem(403, 'certificate_revoked', 'the client certificate is revoked'));
    }
    if (new Date(record.not_after) <= now || new Date(record.not_before) > now) {
      return sendProblem(res, problem(403, 'certificate_expired', 'the client certificate is not valid now'));
    }
    const app = await submittingApplication(storage.db, record.client_id);
    if (app?.status !== 'active' || app.org_status !== 'active' || app.org_id !== record.org_id) {
      return sendProblem(
        res,
        problem(403, 'application_not_active', 'the certificate’s application or organisation is not active'),
      );
    }
    const body = await readBoundedBody(req, MAX_TESTPLAN_REPORT_BYTES);
    if (body === 'too_large') {
      return sendProblem(
        res,
        problem(413, 'request_too_large', `the report must be at most ${MAX_TESTPLAN_REPORT_BYTES} bytes`),
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return sendProblem(res, problem(400, 'invalid_json', 'the body is not JSON'));
    }
    const checked = checkReport(parsed, now);
    if (!checked.ok) {
      return sendProblem(res, problem(400, 'invalid_report', checked.errors[0], { errors: checked.errors }));
    }
    const report = checked.report;
    const from = Date.parse(report.started_at) - OBSERVATION_SLACK_MS;
    const to = Date.parse(report.finished_at) + OBSERVATION_SLACK_MS;
    const observed = await options.decisions.count(app.client_id, presented.x5t, from, to);
    const verdict = judgeRun(report.cases, observed);
    const startedAt = new Date(report.started_at).toISOString();
    const finishedAt = new Date(report.finished_at).toISOString();
    const id = await storage.transaction((tx) =>
      recordTestplanRun(
        tx,
        {
          orgId: app.org_id,
          clientId: app.client_id,
          environment: app.environment,
          certX5tS256: presented.x5t,
          startedAt,
          finishedAt,
          outcome: verdict.outcome,
          report: {
            tool: report.tool,
            ...(report.target !== undefined ? { target: report.target } : {}),
            cases: report.cases,
            observed: { ...observed, scope: 'all platform nodes' },
            reasons: verdict.reasons,
          },
        },
        { actor: `client:${app.client_id}`, now },
      ),
    );
    logger.info(
      { run_id: id, client_id: app.client_id, org_id: app.org_id, outcome: verdict.outcome },
      'test-plan run recorded',
    );
    res.setHeader('location', `/partner/v1/organisations/${app.org_id}/testplan-runs/${id}`);
    send(res, 201, { id, outcome: verdict.outcome, reasons: verdict.reasons });
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return sendProblem(res, problem(405, 'method_not_allowed', 'submit a run with POST'));
      }
      await submit(req, res);
    } catch (err) {
      logger.error({ err }, 'test-plan submission failed');
      if (!res.headersSent)
        sendProblem(res, problem(500, 'server_error', 'the request could not be completed'));
    }
  };
}

/** Routes the submission path to `submit`, everything else to `next`. */
export function withTestplanSubmission(
  submit: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if ((req.url ?? '').split('?')[0] === TESTPLAN_RUNS_PATH) void submit(req, res);
    else next(req, res);
  };
}
