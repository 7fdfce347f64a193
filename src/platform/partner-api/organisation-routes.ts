import type { FastifyInstance } from 'fastify';
import {
  addContact,
  CONTACT_KINDS,
  CONTACT_PAGE_KEY,
  type ContactInput,
  type ContactKind,
  getOrganisation,
  listContactsPage,
  organisationLiveAt,
  removeContact,
} from '../../directory/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import { contactSchema } from '../admin-api/schemas.ts';
import type { PartnerDeps } from './deps.ts';
import { idParams, metaOf, orgOf, orgParams, partnerErrors, tags } from './lookup.ts';

const contactView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: [...CONTACT_KINDS] },
    name: { type: 'string' },
    email: { type: 'string' },
    phone: { type: 'string' },
  },
} as const;

const profileSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string', description: 'set by the operator: it is in the certificates’ subject' },
    status: { type: 'string', enum: ['active', 'suspended', 'offboarded'] },
    created_at: { type: 'string' },
    live_at: { type: ['string', 'null'], description: 'when the organisation passed the go-live gate' },
    roles: { type: 'array', items: { type: 'string' }, description: 'the roles approved for it' },
    contacts: { type: 'array', items: contactView },
    member_role: { type: 'string' },
  },
} as const;

/** The organisation's profile and its contacts (the name is the operator's: it is in certificates). */
export function registerPartnerOrganisationRoutes(app: FastifyInstance, deps: PartnerDeps): void {
  app.get(
    '/organisations/:orgId',
    {
      schema: {
        tags,
        summary: 'The organisation’s profile: status, go-live, approved roles, contacts',
        params: orgParams,
        response: { 200: profileSchema, ...partnerErrors },
      },
    },
    async (request) => {
      const orgId = orgOf(request);
      const org = await getOrganisation(deps.storage.db, orgId);
      return {
        id: org.id,
        name: org.name,
        status: org.status,
        created_at: org.created_at,
        live_at: await organisationLiveAt(deps.storage.db, orgId),
        roles: org.roles,
        contacts: org.contacts,
        member_role: request.partner?.role,
      };
    },
  );

  app.get(
    '/organisations/:orgId/contacts',
    {
      schema: {
        tags,
        summary: 'The organisation’s contacts (business, technical, security, billing), a page at a time',
        params: orgParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: [...CONTACT_KINDS] }, ...pageQueryProperties },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: contactView }, next_cursor: nextCursorSchema },
          },
          ...partnerErrors,
        },
      },
    },
    async (request) => {
      const q = request.query as { kind?: ContactKind; limit?: string; cursor?: string };
      return listContactsPage(
        deps.storage.db,
        orgOf(request),
        { kind: q.kind },
        pageRequest(q, CONTACT_PAGE_KEY.length),
      );
    },
  );

  app.post(
    '/organisations/:orgId/contacts',
    {
      config: { memberRole: 'org_admin' },
      schema: {
        tags,
        summary: 'Add a contact (org_admin)',
        params: orgParams,
        body: contactSchema,
        response: { 201: contactView, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request);
      const body = request.body as ContactInput;
      const id = await deps.storage.transaction((tx) => addContact(tx, orgId, body, metaOf(deps, request)));
      const contact = (await getOrganisation(deps.storage.db, orgId)).contacts.find((c) => c.id === id);
      return reply.code(201).send(contact);
    },
  );

  app.delete(
    '/organisations/:orgId/contacts/:id',
    {
      config: { memberRole: 'org_admin' },
      schema: {
        tags,
        summary: 'Remove a contact (org_admin)',
        params: idParams,
        response: { 204: { type: 'null' }, ...partnerErrors },
      },
    },
    async (request, reply) => {
      const orgId = orgOf(request);
      const { id } = request.params as { id: string };
      await deps.storage.transaction((tx) => removeContact(tx, orgId, id, metaOf(deps, request)));
      return reply.code(204).send();
    },
  );
}
