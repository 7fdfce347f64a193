import type { FastifyInstance } from 'fastify';
import { getApplication, getOrganisation } from '../../directory/index.ts';
import {
  MAX_LIFETIME_DAYS,
  POLICY_KEY_ALGORITHMS,
  type RotationPolicyScope,
  removeRotationPolicy,
  rotationPolicyStore,
  setRotationPolicy,
} from '../../pki/index.ts';
import { notFound } from '../../shared/app-error.ts';
import type { AdminDeps } from './deps.ts';
import { certificateSchema, errorResponses, uuidParam } from './schemas.ts';

const tags = ['rotation policy'];

const settingsProperties = {
  lifetime_days: { type: ['integer', 'null'], minimum: 1, maximum: MAX_LIFETIME_DAYS },
  key_algorithms: {
    type: ['array', 'null'],
    minItems: 1,
    maxItems: POLICY_KEY_ALGORITHMS.length,
    items: { type: 'string', enum: [...POLICY_KEY_ALGORITHMS] },
  },
  renewals_before_review: { type: ['integer', 'null'], minimum: 0, maximum: 10_000 },
} as const;

const policyResponse = {
  type: 'object',
  properties: {
    scope: { type: 'string' },
    subject_id: { type: 'string' },
    policy: {
      type: ['object', 'null'],
      properties: {
        ...settingsProperties,
        updated_at: { type: 'string' },
        updated_by: { type: 'string' },
      },
    },
    effective: {
      type: 'object',
      properties: {
        lifetime_days: { type: 'integer' },
        key_algorithms: { type: 'array', items: { type: 'string' } },
        renewals_before_review: { type: ['integer', 'null'] },
      },
    },
  },
} as const;

const serialParams = {
  type: 'object',
  required: ['serial'],
  properties: { serial: { type: 'string', pattern: '^[0-9A-Fa-f:]{1,80}$' } },
} as const;

/**
 * Rotation policies (issue 13) of organisations and applications — lifetime, allowed key algorithms,
 * renewals before an operator's review — and the operator's side of renewal: renew, approve a renewal.
 */
export function registerRotationPolicyRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  /** The organisation the policy's subject is (or belongs to); 404 when the subject does not exist. */
  async function organisationOf(
    scope: RotationPolicyScope,
    id: string,
  ): Promise<{ orgId: string; clientId?: string }> {
    if (scope === 'organisation') {
      await getOrganisation(deps.storage.db, id);
      return { orgId: id };
    }
    const application = await getApplication(deps.storage.db, id, deps.clock());
    if (application.status === 'deleted') throw notFound('application', id);
    return { orgId: application.org_id, clientId: id };
  }

  async function answer(scope: RotationPolicyScope, id: string) {
    const { orgId, clientId } = await organisationOf(scope, id);
    const stored = await rotationPolicyStore(deps.storage.db).get(scope, id);
    const effective = await deps.ca.rotationPolicyOf(deps.storage.db, orgId, clientId);
    return {
      scope,
      subject_id: id,
      policy: stored
        ? {
            lifetime_days: stored.lifetime_days,
            key_algorithms: stored.key_algorithms,
            renewals_before_review: stored.renewals_before_review,
            updated_at: stored.updated_at,
            updated_by: stored.updated_by,
          }
        : null,
      effective: {
        lifetime_days: effective.lifetimeDays,
        key_algorithms: effective.keyAlgorithms,
        renewals_before_review: effective.renewalsBeforeReview,
      },
    };
  }

  for (const [scope, base, param] of [
    ['organisation', '/organisations/:id/rotation-policy', { id: uuidParam }],
    [
      'application',
      '/applications/:id/rotation-policy',
      { id: { type: 'string', minLength: 1, maxLength: 255 } },
    ],
  ] as const) {
    const params = { type: 'object', required: ['id'], properties: param } as const;
    app.get(
      base,
      {
        schema: {
          tags,
          summary: `Read the ${scope}'s rotation policy and the policy in force (application over organisation over platform)`,
          params,
          response: { 200: policyResponse, ...errorResponses },
        },
      },
      async (request) => answer(scope, (request.params as { id: string }).id),
    );
    app.put(
      base,
      {
        schema: {
          tags,
          summary: `Set the ${scope}'s rotation policy; a field left out or null inherits`,
          params,
          body: { type: 'object', additionalProperties: false, properties: settingsProperties },
          response: { 200: policyResponse, ...errorResponses },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        await organisationOf(scope, id);
        await deps.storage.transaction((tx) =>
          setRotationPolicy(tx, scope, id, request.body as Record<string, unknown>, meta(request.actor)),
        );
        return answer(scope, id);
      },
    );
    app.delete(
      base,
      {
        schema: {
          tags,
          summary: `Remove the ${scope}'s rotation policy; the next level's applies`,
          params,
          response: { 204: { type: 'null' }, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        await organisationOf(scope, id);
        const removed = await deps.storage.transaction((tx) =>
          removeRotationPolicy(tx, scope, id, meta(request.actor)),
        );
        if (!removed) throw notFound(`rotation policy of ${scope}`, id);
        return reply.code(204).send();
      },
    );
  }

  app.post(
    '/certificates/:serial/renew',
    {
      schema: {
        tags: ['certificates'],
        summary:
          'Renew a certificate for an operator: a new key from the CSR, any time in its validity, the review count starts again',
        params: serialParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['csr'],
          properties: { csr: { type: 'string', minLength: 1, maxLength: 16384 } },
        },
        response: { 201: certificateSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { serial } = request.params as { serial: string };
      const { csr } = request.body as { csr: string };
      const issued = await deps.storage.transaction((tx) =>
        deps.ca.renew(tx, { serial, csrPem: csr, byOperator: true }, meta(request.actor)),
      );
      return reply.code(201).header('location', `/admin/v1/certificates/${issued.serial}`).send(issued);
    },
  );

  app.post(
    '/certificates/:serial/approve-renewal',
    {
      schema: {
        tags: ['certificates'],
        summary: 'Review: allow one more renewal of this certificate past the rotation policy’s review limit',
        params: serialParams,
        response: { 200: certificateSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { serial } = request.params as { serial: string };
      return deps.storage.transaction((tx) => deps.ca.approveRenewal(tx, serial, meta(request.actor)));
    },
  );
}
