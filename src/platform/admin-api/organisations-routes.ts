import type { FastifyInstance } from 'fastify';
import {
  addContact,
  approveOrganisationRole,
  type ContactInput,
  createOrganisation,
  getOrganisation,
  listOrganisationsPage,
  ORGANISATION_PAGE_KEY,
  type OrgStatus,
  offboardOrganisation,
  setOrganisationStatus,
  withdrawOrganisationRole,
} from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { contactSchema, errorResponses, organisationSchema, reasonBody, uuidParam } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;
const tags = ['organisations'];

export function registerOrganisationRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });

  app.get(
    '/organisations',
    {
      schema: {
        tags,
        summary: 'List organisations, a page at a time (oldest first; next_cursor for the next page)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['active', 'suspended', 'offboarded'] },
            name_prefix: { type: 'string', minLength: 1, maxLength: 64 },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: organisationSchema },
              next_cursor: nextCursorSchema,
            },
          },
          400: { $ref: 'Problem#' },
        },
      },
    },
    async (request, reply) => {
      const q = request.query as {
        status?: OrgStatus;
        name_prefix?: string;
        limit?: string;
        cursor?: string;
      };
      const filter = { status: q.status, namePrefix: q.name_prefix };
      const page = pageRequest(q, ORGANISATION_PAGE_KEY.length);
      if (deps.listReader) {
        const json = await deps.listReader.page({
          list: 'organisations',
          filter,
          page,
          now: deps.clock().toISOString(),
        });
        return reply.type('application/json; charset=utf-8').send(json);
      }
      return listOrganisationsPage(deps.storage.db, filter, page);
    },
  );

  app.post(
    '/organisations',
    {
      schema: {
        tags,
        summary: 'Create an organisation',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            roles: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 100 } },
            contacts: { type: 'array', maxItems: 20, items: contactSchema },
          },
        },
        response: { 201: organisationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as { name: string; roles?: string[]; contacts?: ContactInput[] };
      const id = await deps.storage.transaction((tx) => createOrganisation(tx, body, meta(request.actor)));
      return reply
        .code(201)
        .header('location', `/admin/v1/organisations/${id}`)
        .send(await getOrganisation(deps.storage.db, id));
    },
  );

  app.get(
    '/organisations/:id',
    {
      schema: {
        tags,
        summary: 'Read an organisation',
        params: idParams,
        response: { 200: organisationSchema, ...errorResponses },
      },
    },
    async (request) => getOrganisation(deps.storage.db, (request.params as { id: string }).id),
  );

  app.post(
    '/organisations/:id/contacts',
    {
      schema: {
        tags,
        summary: 'Add a contact',
        params: idParams,
        body: contactSchema,
        response: { 201: organisationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await deps.storage.transaction((tx) =>
        addContact(tx, id, request.body as ContactInput, meta(request.actor)),
      );
      return reply.code(201).send(await getOrganisation(deps.storage.db, id));
    },
  );

  const transitions: Array<[string, OrgStatus, string]> = [
    [
      'suspend',
      'suspended',
      'Suspend: every client, certificate and token of the organisation is refused at once',
    ],
    ['activate', 'active', 'Re-activate a suspended organisation'],
    ['offboard', 'offboarded', 'Offboard (final): suspends its clients and revokes its certificates'],
  ];
  for (const [verb, status, summary] of transitions) {
    app.post(
      `/organisations/:id/${verb}`,
      {
        schema: {
          tags,
          summary,
          params: idParams,
          body: reasonBody,
          response: { 200: organisationSchema, ...errorResponses },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const reason = (request.body as { reason?: string } | undefined)?.reason;
        await deps.storage.transaction(async (tx) => {
          const m = { ...meta(request.actor), reason };
          if (status !== 'offboarded') return setOrganisationStatus(tx, id, status, m);
          const revoke = (t: typeof tx, orgId: string) =>
            deps.ca.revokeAllOfOrganisation(t, orgId, 'cessationOfOperation', m);
          return offboardOrganisation(tx, id, revoke, m);
        });
        return getOrganisation(deps.storage.db, id);
      },
    );
  }

  app.post(
    '/organisations/:id/roles',
    {
      schema: {
        tags,
        summary: 'Approve a role for the organisation: its applications may then be granted it',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: { role: { type: 'string', minLength: 1, maxLength: 100 } },
        },
        response: { 200: organisationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { role } = request.body as { role: string };
      await deps.storage.transaction((tx) =>
        approveOrganisationRole(tx, { orgId: id, role }, meta(request.actor)),
      );
      return getOrganisation(deps.storage.db, id);
    },
  );
  app.delete(
    '/organisations/:id/roles/:role',
    {
      schema: {
        tags,
        summary: 'Withdraw a role approval (409 while one of its applications holds the role)',
        params: {
          type: 'object',
          required: ['id', 'role'],
          properties: { id: uuidParam, role: { type: 'string', minLength: 1, maxLength: 100 } },
        },
        response: { 200: organisationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id, role } = request.params as { id: string; role: string };
      await deps.storage.transaction((tx) =>
        withdrawOrganisationRole(tx, { orgId: id, role }, meta(request.actor)),
      );
      return getOrganisation(deps.storage.db, id);
    },
  );
}
