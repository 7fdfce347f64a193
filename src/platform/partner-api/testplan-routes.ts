import type { FastifyInstance } from 'fastify';
import {
  type Environment,
  GO_LIVE_RUN_MAX_AGE_DAYS,
  getTestplanRun,
  goLive,
  goLiveStatus,
  listTestplanRunsPage,
  TESTPLAN_RUN_PAGE_KEY,
  type TestplanOutcome,
} from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { Storage } from '../../storage/index.ts';
import { errorResponses } from '../admin-api/schemas.ts';
import { CA_BUNDLE_PATH } from '../paths.ts';
import type { PartnerDeps } from './deps.ts';

const tags = ['test plan and go-live'];
const idText = { type: 'string', minLength: 1, maxLength: 64 } as const;
const orgParams = {
  type: 'object',
  required: ['orgId'],
  properties: { orgId: idText },
} as const;
const runParams = {
  type: 'object',
  required: ['orgId', 'id'],
  properties: { orgId: idText, id: idText },
} as const;

export const runSummarySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    org_id: { type: 'string' },
    org_name: { type: 'string' },
    client_id: { type: 'string' },
    environment: { type: 'string', enum: ['sandbox', 'production'] },
    cert_x5t_s256: { type: 'string' },
    started_at: { type: 'string' },
    finished_at: { type: 'string' },
    received_at: { type: 'string' },
    outcome: { type: 'string', enum: ['passed', 'failed'] },
  },
} as const;

export const runSchema = {
  type: 'object',
  properties: {
    ...runSummarySchema.properties,
    report: {
      type: 'object',
      description:
        'The cases as the test plan reported them, what the platform observed itself (on every node), and the reasons a run failed',
      additionalProperties: true,
    },
  },
} as const;

const goLiveSchema = {
  type: 'object',
  properties: {
    live_at: { type: ['string', 'null'] },
    live_run_id: { type: ['string', 'null'] },
    eligible_run_id: { type: ['string', 'null'] },
    requirements: { type: 'array', items: { type: 'string' } },
    sandbox_applications: {
      type: 'array',
      items: {
        type: 'object',
        properties: { client_id: { type: 'string' }, name: { type: 'string' } },
      },
    },
    platform: {
      type: 'object',
      description:
        'What `accredit testplan run` needs: the issuer, the gateway, the mTLS base, the CA bundle',
      properties: {
        issuer: { type: 'string' },
        api: { type: 'string' },
        report_to: { type: 'string' },
        ca_bundle: { type: 'string' },
      },
    },
  },
} as const;

const platformUrls = (deps: PartnerDeps) => ({
  issuer: deps.urls.public,
  api: deps.urls.gateway,
  report_to: deps.urls.mtls,
  ca_bundle: `${deps.urls.public.replace(/\/+$/, '')}${CA_BUNDLE_PATH}`,
});

/** `?outcome=&environment=&client_id=&received_from=&received_before=&limit=&cursor=` of a run list. */
export const runListFilters = {
  outcome: { type: 'string', enum: ['passed', 'failed'] },
  environment: { type: 'string', enum: ['sandbox', 'production'] },
  client_id: { type: 'string', minLength: 1, maxLength: 255 },
  received_from: { type: 'string', format: 'date-time', description: 'received at or after (ISO-8601)' },
  received_before: { type: 'string', format: 'date-time', description: 'received before (ISO-8601)' },
  ...pageQueryProperties,
} as const;

export const runListResponse = {
  type: 'object',
  properties: { items: { type: 'array', items: runSummarySchema }, next_cursor: nextCursorSchema },
} as const;

/** One page of test-plan runs (of one organisation when `orgId` is given), newest first. */
export async function runsPage(db: Storage['db'], orgId: string | undefined, query: unknown) {
  const q = query as {
    outcome?: TestplanOutcome;
    environment?: Environment;
    client_id?: string;
    received_from?: string;
    received_before?: string;
    limit?: string;
    cursor?: string;
  };
  const instant = (value: string | undefined) =>
    value === undefined ? undefined : new Date(value).toISOString();
  return listTestplanRunsPage(
    db,
    {
      orgId,
      outcome: q.outcome,
      environment: q.environment,
      clientId: q.client_id,
      receivedFrom: instant(q.received_from),
      receivedBefore: instant(q.received_before),
    },
    pageRequest(q, TESTPLAN_RUN_PAGE_KEY.length),
  );
}

const forbidden = { 403: { $ref: 'Problem#' } } as const;

/**
 * Issue 15, the partner's side of the go-live gate: the organisation's test-plan runs (submitted over mTLS by
 * its sandbox clients), the gate's state, and going live with a passed sandbox run (org_admin only).
 */
export function registerTestplanRoutes(app: FastifyInstance, deps: PartnerDeps): void {
  app.get(
    '/organisations/:orgId/testplan-runs',
    {
      schema: {
        tags,
        summary: 'List the organisation’s test-plan runs, a page at a time (newest first)',
        params: orgParams,
        querystring: { type: 'object', additionalProperties: false, properties: runListFilters },
        response: { 200: runListResponse, ...errorResponses, ...forbidden },
      },
    },
    async (request) => runsPage(deps.storage.db, request.partner!.orgId, request.query),
  );

  app.get(
    '/organisations/:orgId/testplan-runs/:id',
    {
      schema: {
        tags,
        summary: 'Read one test-plan run with its cases',
        params: runParams,
        response: { 200: runSchema, ...errorResponses, ...forbidden },
      },
    },
    async (request) =>
      getTestplanRun(deps.storage.db, (request.params as { id: string }).id, request.partner!.orgId),
  );

  app.get(
    '/organisations/:orgId/go-live',
    {
      schema: {
        tags,
        summary: 'The go-live gate: whether the organisation is live, and the run that could take it live',
        params: orgParams,
        response: { 200: goLiveSchema, ...errorResponses, ...forbidden },
      },
    },
    async (request) => ({
      ...(await goLiveStatus(deps.storage.db, request.partner!.orgId, deps.clock())),
      platform: platformUrls(deps),
    }),
  );

  app.post(
    '/organisations/:orgId/go-live',
    {
      config: { memberRole: 'org_admin' },
      schema: {
        tags,
        summary: `Go live with a passed sandbox run received at most ${GO_LIVE_RUN_MAX_AGE_DAYS} days ago`,
        params: orgParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['run_id'],
          properties: { run_id: idText },
        },
        response: { 200: goLiveSchema, ...errorResponses, ...forbidden },
      },
    },
    async (request) => {
      const { run_id } = request.body as { run_id: string };
      const orgId = request.partner!.orgId;
      const status = await deps.storage.transaction((tx) =>
        goLive(tx, orgId, run_id, { actor: request.actor, now: deps.clock() }),
      );
      return { ...status, platform: platformUrls(deps) };
    },
  );
}
