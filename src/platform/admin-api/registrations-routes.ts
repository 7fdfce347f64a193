import type { FastifyInstance } from 'fastify';
import { listRegistrationRecords, type RegistrationRecord } from '../../authorization-server/index.ts';
import { getApplication, organisationNames } from '../../directory/index.ts';
import { getSubordinate } from '../../federation/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest, toPage } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';

const anyObject = { type: ['object', 'null'], additionalProperties: true } as const;

export const registrationViewSchema = {
  type: 'object',
  properties: {
    client_id: { type: 'string' },
    type: { type: 'string', enum: ['dynamic', 'federation'] },
    org_id: { type: 'string' },
    org_name: { type: ['string', 'null'] },
    application_name: { type: ['string', 'null'] },
    application_status: { type: ['string', 'null'] },
    environment: { type: ['string', 'null'] },
    status: { type: 'string' },
    ended_reason: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    refreshed_at: { type: ['string', 'null'] },
    expires_at: { type: ['string', 'null'] },
    software_statement: {
      type: ['object', 'null'],
      description: 'DCR: the software statement and initial access token it was registered with',
      properties: {
        software_id: { type: ['string', 'null'] },
        jti: { type: ['string', 'null'] },
        initial_access_token_id: { type: ['string', 'null'] },
      },
    },
    trust_chain: {
      type: ['object', 'null'],
      description: 'Federation: the chain the registration rests on, as recorded',
      properties: {
        kind: { type: 'string', enum: ['explicit', 'automatic'] },
        entity_ids: {
          type: 'array',
          items: { type: 'string' },
          description:
            'the client, its authority hint, the platform’s subordinate it passes through, the platform, the trust anchor',
        },
        trust_anchor: { type: 'string' },
        authority_hint: { type: 'string' },
        via_subordinate: { type: 'string' },
        trust_mark_types: { type: 'array', items: { type: 'string' } },
      },
    },
    metadata_policy: {
      ...anyObject,
      description: 'Federation: the metadata policy the platform’s Subordinate Statement applies',
    },
    metadata: { ...anyObject, description: 'the resulting client metadata the platform holds' },
  },
} as const;

function chainOf(rec: Extract<RegistrationRecord, { type: 'federation' }>, platform: string): string[] {
  const ids = [rec.client_id, rec.authority_hint, rec.via_subordinate, platform, rec.trust_anchor];
  return ids.filter((id, i) => id && ids.indexOf(id) === i);
}

/**
 * The operator console's registrations view (issue 15): what the authorization server recorded for dynamic
 * (RFC 7591) and federation (OpenID Federation 1.0 §12) registrations, joined with the directory's
 * application and organisation and, for federation, the policy of the platform's Subordinate Statement.
 */
export function registerRegistrationRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  fed: { entityId: string },
): void {
  app.get(
    '/registrations',
    {
      schema: {
        tags: ['registrations'],
        summary:
          'Dynamic and federation registrations, newest first, with the statement or chain behind each',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: ['dynamic', 'federation'] },
            client_id: { type: 'string', maxLength: 2048 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: registrationViewSchema },
              next_cursor: nextCursorSchema,
            },
          },
          400: { $ref: 'Problem#' },
        },
      },
    },
    async (request) => {
      const q = request.query as {
        type?: 'dynamic' | 'federation';
        client_id?: string;
        limit?: string;
        cursor?: string;
      };
      const db = deps.storage.db;
      const now = deps.clock();
      const page = pageRequest(q, 2);
      const found = await listRegistrationRecords(db, {
        type: q.type,
        clientId: q.client_id,
        limit: page.limit + 1,
        after: page.after,
      });
      const { items: records, next_cursor } = toPage(found.slice(0, page.limit + 1), page.limit, (r) => [
        r.created_at,
        r.client_id,
      ]);
      const orgNames = await organisationNames(db, [...new Set(records.map((r) => r.org_id))]);
      const policies = new Map<string, Record<string, unknown> | null>();
      const items = [];
      for (const rec of records) {
        const app = await getApplication(db, rec.client_id, now).catch(() => undefined);
        const base = {
          client_id: rec.client_id,
          type: rec.type,
          org_id: rec.org_id,
          org_name: orgNames.get(rec.org_id) ?? null,
          application_name: app?.name ?? null,
          application_status: app?.status ?? null,
          environment: ((app as { environment?: string } | undefined)?.environment ?? null) as string | null,
          status: rec.status,
          created_at: rec.created_at,
          metadata: app?.metadata ?? null,
        };
        if (rec.type === 'dynamic') {
          items.push({
            ...base,
            ended_reason: null,
            refreshed_at: rec.token_rotated_at,
            expires_at: null,
            software_statement: {
              software_id: rec.software_id,
              jti: rec.ssa_jti,
              initial_access_token_id: rec.iat_id,
            },
            trust_chain: null,
            metadata_policy: null,
          });
          continue;
        }
        if (!policies.has(rec.via_subordinate)) {
          const sub = await getSubordinate(db, rec.via_subordinate).catch(() => undefined);
          policies.set(rec.via_subordinate, (sub?.metadata_policy as Record<string, unknown> | null) ?? null);
        }
        items.push({
          ...base,
          ended_reason: rec.ended_reason,
          refreshed_at: rec.resolved_at,
          expires_at: rec.expires_at,
          software_statement: null,
          trust_chain: {
            kind: rec.kind,
            entity_ids: chainOf(rec, fed.entityId),
            trust_anchor: rec.trust_anchor,
            authority_hint: rec.authority_hint,
            via_subordinate: rec.via_subordinate,
            trust_mark_types: rec.trust_mark_types,
          },
          metadata_policy: policies.get(rec.via_subordinate) ?? null,
        });
      }
      return { items, next_cursor };
    },
  );
}
