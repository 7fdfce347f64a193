import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, notFound } from '../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import { type Database, keysetAfter, type Tx } from '../storage/index.ts';
import type { ActionMeta } from './context.ts';

type Db = Kysely<Database> | Tx['db'];

/**
 * The go-live gate (issue 15): when the organisation passed it (ISO-8601), or null while it works in the
 * sandbox only. Production credentials are issued to partner members only once this is set.
 */
export async function organisationLiveAt(db: Db, orgId: string): Promise<string | null> {
  const row = await db
    .selectFrom('organisations')
    .select('live_at')
    .where('id', '=', orgId)
    .executeTakeFirst();
  return row?.live_at ?? null;
}

/** How old (from its receipt) a passed sandbox run may be to open the gate. */
export const GO_LIVE_RUN_MAX_AGE_DAYS = 30;
const DAY_MS = 86_400_000;

export type TestplanOutcome = 'passed' | 'failed';
export type Environment = 'sandbox' | 'production';

/** One submitted run as lists show it (without its cases). */
export interface TestplanRunSummary {
  id: string;
  org_id: string;
  org_name: string;
  client_id: string;
  environment: Environment;
  cert_x5t_s256: string;
  started_at: string;
  finished_at: string;
  received_at: string;
  outcome: TestplanOutcome;
}

/** One run with its report: the cases as submitted and what the platform observed itself. */
export interface TestplanRunView extends TestplanRunSummary {
  report: Record<string, unknown>;
}

/** Who may submit a run: the application behind a certificate, with its organisation and environment. */
export interface SubmittingApplication {
  client_id: string;
  org_id: string;
  status: string;
  org_status: string;
  environment: Environment;
}

export async function submittingApplication(
  db: Db,
  clientId: string,
): Promise<SubmittingApplication | undefined> {
  const row = await db
    .selectFrom('applications as a')
    .innerJoin('organisations as o', 'o.id', 'a.org_id')
    .select(['a.client_id', 'a.org_id', 'a.status', 'o.status as org_status', 'a.environment'])
    .where('a.client_id', '=', clientId)
    .executeTakeFirst();
  if (!row) return undefined;
  return { ...row, environment: row.environment ?? 'production' };
}

export interface TestplanRunInput {
  orgId: string;
  clientId: string;
  environment: Environment;
  certX5tS256: string;
  startedAt: string;
  finishedAt: string;
  outcome: TestplanOutcome;
  report: Record<string, unknown>;
}

/** Records a run (the partner's report and the platform's judgement of it); audited as the client. */
export async function recordTestplanRun(tx: Tx, input: TestplanRunInput, meta: ActionMeta): Promise<string> {
  const id = `run_${randomUUID()}`;
  await tx.db
    .insertInto('testplan_runs')
    .values({
      id,
      org_id: input.orgId,
      client_id: input.clientId,
      environment: input.environment,
      cert_x5t_s256: input.certX5tS256,
      started_at: input.startedAt,
      finished_at: input.finishedAt,
      received_at: meta.now.toISOString(),
      outcome: input.outcome,
      report: JSON.stringify(input.report),
    })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'testplan.run_recorded',
      targetType: 'testplan_run',
      targetId: id,
      details: {
        org_id: input.orgId,
        client_id: input.clientId,
        environment: input.environment,
        outcome: input.outcome,
      },
    },
    meta.now,
  );
  return id;
}

function runQuery(db: Db) {
  return db
    .selectFrom('testplan_runs as r')
    .innerJoin('organisations as o', 'o.id', 'r.org_id')
    .select([
      'r.id',
      'r.org_id',
      'o.name as org_name',
      'r.client_id',
      'r.environment',
      'r.cert_x5t_s256',
      'r.started_at',
      'r.finished_at',
      'r.received_at',
      'r.outcome',
    ]);
}

/** The most recent runs first (at most `limit`), of one organisation and/or one outcome. */
export async function listTestplanRuns(
  db: Db,
  filter: { orgId?: string; outcome?: TestplanOutcome; limit?: number } = {},
): Promise<TestplanRunSummary[]> {
  let q = runQuery(db);
  if (filter.orgId !== undefined) q = q.where('r.org_id', '=', filter.orgId);
  if (filter.outcome !== undefined) q = q.where('r.outcome', '=', filter.outcome);
  return q
    .orderBy('r.received_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(filter.limit ?? 200)
    .execute();
}

export interface TestplanRunFilter {
  orgId?: string | undefined;
  outcome?: TestplanOutcome | undefined;
  environment?: Environment | undefined;
  clientId?: string | undefined;
  /** Received at or after this instant (ISO-8601). */
  receivedFrom?: string | undefined;
  /** Received before this instant (ISO-8601). */
  receivedBefore?: string | undefined;
}

/** The sort key of a test-plan run page: newest receipt first, ties by id (descending). */
export const TESTPLAN_RUN_PAGE_KEY = ['r.received_at', 'r.id'] as const;

/** One page of test-plan runs, newest first, keyset-paged by (received_at, id) descending. */
export async function listTestplanRunsPage(
  db: Db,
  filter: TestplanRunFilter,
  page: PageRequest,
): Promise<Page<TestplanRunSummary>> {
  let q = runQuery(db);
  if (filter.orgId !== undefined) q = q.where('r.org_id', '=', filter.orgId);
  if (filter.outcome !== undefined) q = q.where('r.outcome', '=', filter.outcome);
  if (filter.environment !== undefined) q = q.where('r.environment', '=', filter.environment);
  if (filter.clientId !== undefined) q = q.where('r.client_id', '=', filter.clientId);
  if (filter.receivedFrom !== undefined) q = q.where('r.received_at', '>=', filter.receivedFrom);
  if (filter.receivedBefore !== undefined) q = q.where('r.received_at', '<', filter.receivedBefore);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, TESTPLAN_RUN_PAGE_KEY, after, true));
  const rows = await q
    .orderBy('r.received_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, (r) => [r.received_at, r.id]);
}

/** One run with its report; with `orgId`, only if it is that organisation's (else 404, as if it did not exist). */
export async function getTestplanRun(db: Db, id: string, orgId?: string): Promise<TestplanRunView> {
  let q = runQuery(db).select('r.report').where('r.id', '=', id);
  if (orgId !== undefined) q = q.where('r.org_id', '=', orgId);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('test-plan run', id);
  const { report, ...rest } = row;
  return { ...rest, report: JSON.parse(report) as Record<string, unknown> };
}

/** Why a run cannot open the gate, or undefined when it can. */
function ineligibility(run: TestplanRunSummary, now: Date): string | undefined {
  if (run.outcome !== 'passed') return `run ${run.id} did not pass`;
  if (run.environment !== 'sandbox') return `run ${run.id} was not run with a sandbox application`;
  if (now.getTime() - Date.parse(run.received_at) > GO_LIVE_RUN_MAX_AGE_DAYS * DAY_MS)
    return `run ${run.id} is older than ${GO_LIVE_RUN_MAX_AGE_DAYS} days`;
  return undefined;
}

export interface GoLiveStatus {
  live_at: string | null;
  live_run_id: string | null;
  /** The newest run that would open the gate now, if any. */
  eligible_run_id: string | null;
  requirements: string[];
  /** The organisation's active sandbox applications (what the test plan runs with). */
  sandbox_applications: Array<{ client_id: string; name: string }>;
}

export const GO_LIVE_REQUIREMENTS = [
  'a test-plan run submitted over mTLS with the certificate of one of the organisation’s sandbox applications',
  'every case the gate requires passed, and no case failed',
  'the platform itself saw, within the run, an allowed and a refused request of that client with that certificate',
  `received at most ${GO_LIVE_RUN_MAX_AGE_DAYS} days ago`,
];

export async function goLiveStatus(db: Db, orgId: string, now: Date): Promise<GoLiveStatus> {
  const org = await db
    .selectFrom('organisations')
    .select(['live_at', 'live_run_id'])
    .where('id', '=', orgId)
    .executeTakeFirst();
  if (!org) throw notFound('organisation', orgId);
  const passed = await listTestplanRuns(db, { orgId, outcome: 'passed', limit: 50 });
  const eligible = passed.find((r) => ineligibility(r, now) === undefined);
  const apps = await db
    .selectFrom('applications')
    .select(['client_id', 'name'])
    .where('org_id', '=', orgId)
    .where('environment', '=', 'sandbox')
    .where('status', '=', 'active')
    .orderBy('name')
    .execute();
  return {
    live_at: org.live_at ?? null,
    live_run_id: org.live_run_id ?? null,
    eligible_run_id: eligible?.id ?? null,
    requirements: GO_LIVE_REQUIREMENTS,
    sandbox_applications: apps,
  };
}

/**
 * Opens the gate with a run: this organisation's, passed, sandbox, received at most 30 days ago. Already
 * live → 409. Audited as `organisation.live`.
 */
export async function goLive(tx: Tx, orgId: string, runId: string, meta: ActionMeta): Promise<GoLiveStatus> {
  const org = await tx.db
    .selectFrom('organisations')
    .select(['live_at', 'status'])
    .where('id', '=', orgId)
    .executeTakeFirst();
  if (!org) throw notFound('organisation', orgId);
  if (org.live_at) throw new AppError('already_live', 409, `the organisation is live since ${org.live_at}`);
  const run = await getTestplanRun(tx.db, runId, orgId);
  const why = ineligibility(run, meta.now);
  if (why) throw new AppError('run_not_eligible', 409, why);
  const liveAt = meta.now.toISOString();
  await tx.db
    .updateTable('organisations')
    .set({ live_at: liveAt, live_run_id: runId })
    .where('id', '=', orgId)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'organisation.live',
      targetType: 'organisation',
      targetId: orgId,
      details: { run_id: runId, client_id: run.client_id },
    },
    meta.now,
  );
  return goLiveStatus(tx.db, orgId, meta.now);
}

/**
 * An operator takes the go-live back: production applications stay, new ones need the gate again.
 * Audited as `organisation.live_revoked`.
 */
export async function revokeGoLive(
  tx: Tx,
  orgId: string,
  reason: string | undefined,
  meta: ActionMeta,
): Promise<void> {
  const org = await tx.db
    .selectFrom('organisations')
    .select(['live_at', 'live_run_id'])
    .where('id', '=', orgId)
    .executeTakeFirst();
  if (!org) throw notFound('organisation', orgId);
  if (!org.live_at) throw new AppError('not_live', 409, 'the organisation has not gone live');
  await tx.db
    .updateTable('organisations')
    .set({ live_at: null, live_run_id: null })
    .where('id', '=', orgId)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'organisation.live_revoked',
      targetType: 'organisation',
      targetId: orgId,
      details: { live_at: org.live_at, run_id: org.live_run_id, ...(reason ? { reason } : {}) },
    },
    meta.now,
  );
}

/** Which organisations are live (the operator's go-live page). */
export interface LiveOrganisation {
  id: string;
  name: string;
  live_at: string;
  live_run_id: string | null;
}

/** The organisations that passed the go-live gate, most recently live first, keyset-paged by (live_at, id). */
export async function liveOrganisations(db: Db, page: PageRequest): Promise<Page<LiveOrganisation>> {
  let q = db
    .selectFrom('organisations')
    .select(['id', 'name', 'live_at', 'live_run_id'])
    .where('live_at', 'is not', null);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['live_at', 'id'], after, true));
  const rows = await q
    .orderBy('live_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return toPage(
    rows.map((r) => ({
      id: r.id,
      name: r.name,
      live_at: r.live_at as string,
      live_run_id: r.live_run_id ?? null,
    })),
    page.limit,
    (r) => [r.live_at, r.id],
  );
}
