import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, conflict, invalidInput, notFound } from '../shared/app-error.ts';
import { normaliseName } from '../shared/names.ts';
import { type PageRequest, toPage } from '../shared/page-cursor.ts';
import { CHANGE_KINDS, type Database, keysetAfter, publishChange, type Tx } from '../storage/index.ts';
import type { ActionMeta } from './context.ts';
import { refuseMixedScripts, validateOrganisationName } from './organisation-name.ts';

export const ORG_STATUSES = ['active', 'suspended', 'offboarded'] as const;
export type OrgStatus = (typeof ORG_STATUSES)[number];

export const CONTACT_KINDS = ['business', 'technical', 'security', 'billing'] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];

export interface ContactInput {
  kind: ContactKind;
  name: string;
  email: string;
  phone?: string | undefined;
}

export interface OrganisationView {
  id: string;
  name: string;
  status: OrgStatus;
  roles: string[];
  contacts: Array<ContactInput & { id: string }>;
  created_at: string;
  updated_at: string;
}

export interface CreateOrganisationInput {
  name: string;
  /** Roles this organisation's clients may hold; all defined roles when omitted. */
  roles?: string[] | undefined;
  contacts?: ContactInput[] | undefined;
}

// UTS #39 §4: names with equal skeletons look alike; the operator may see which organisation holds it.
const confusableName = (name: string, holder: { id: string; name: string }) =>
  new AppError(
    'confusable_name',
    409,
    `"${name}" looks like the name of organisation ${holder.id} ("${holder.name}")`,
    { organisation_id: holder.id },
  );

/** The column (name_skeleton, name_key) of a UNIQUE violation, or undefined for any other error. */
function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  const text = `${String(e?.constraint ?? '')} ${String(e?.message ?? '')}`;
  if (e?.code !== '23505' && !/UNIQUE constraint failed/i.test(text)) return undefined;
  return text.includes('name_skeleton') ? 'name_skeleton' : 'name_key';
}

const EMAIL = /^[^\s@<>()[\],;:"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

export function validateContact(contact: ContactInput, index: number): ContactInput {
  const field = `contacts[${index}]`;
  if (!(CONTACT_KINDS as readonly string[]).includes(contact.kind)) {
    throw invalidInput(`${field}.kind must be one of ${CONTACT_KINDS.join(', ')}`, {
      field: `${field}.kind`,
    });
  }
  const { name } = normaliseName(`${field}.name`, contact.name);
  if (typeof contact.email !== 'string' || contact.email.length > 254 || !EMAIL.test(contact.email)) {
    throw invalidInput(`${field}.email is not an e-mail address`, { field: `${field}.email` });
  }
  return { kind: contact.kind, name, email: contact.email, phone: contact.phone };
}

async function resolveRoles(tx: Tx, requested: string[] | undefined): Promise<string[]> {
  const defined = (await tx.db.selectFrom('roles').select('name').execute()).map((r) => r.name);
  if (requested === undefined) return defined.sort();
  const unknown = requested.filter((r) => !defined.includes(r));
  if (unknown.length > 0)
    throw invalidInput(`unknown role: ${unknown.join(', ')}`, { field: 'roles', unknown });
  return [...new Set(requested)].sort();
}

export async function createOrganisation(
  tx: Tx,
  input: CreateOrganisationInput,
  meta: ActionMeta,
): Promise<string> {
  const { name, key, skeleton } = validateOrganisationName(input.name);
  const contacts = (input.contacts ?? []).map(validateContact);
  const roles = await resolveRoles(tx, input.roles);
  const existing = await tx.db
    .selectFrom('organisations')
    .select('id')
    .where('name_key', '=', key)
    .executeTakeFirst();
  if (existing) throw conflict(`an organisation named "${name}" already exists`);
  const lookalike = await tx.db
    .selectFrom('organisations')
    .select(['id', 'name'])
    .where('name_skeleton', '=', skeleton)
    .executeTakeFirst();
  if (lookalike) throw confusableName(name, lookalike);
  refuseMixedScripts(name);
  const id = randomUUID();
  const at = meta.now.toISOString();
  try {
    await tx.db
      .insertInto('organisations')
      .values({
        id,
        name,
        name_key: key,
        name_skeleton: skeleton,
        status: 'active',
        created_at: at,
        updated_at: at,
      })
      .execute();
  } catch (err) {
    // Two creates that both passed the reads above: the UNIQUE indexes admit only the first (PostgreSQL 23505).
    const violated = uniqueViolation(err);
    if (violated === 'name_skeleton') {
      throw new AppError(
        'confusable_name',
        409,
        `"${name}" looks like the name of an organisation created at the same time`,
      );
    }
    if (violated) throw conflict(`an organisation named "${name}" already exists`);
    throw err;
  }
  for (const role of roles)
    await tx.db.insertInto('organisation_roles').values({ org_id: id, role }).execute();
  for (const c of contacts) {
    await tx.db
      .insertInto('contacts')
      .values({
        id: randomUUID(),
        org_id: id,
        kind: c.kind,
        name: c.name,
        email: c.email,
        phone: c.phone ?? null,
        created_at: at,
      })
      .execute();
  }
  // Enforcement points learn the new organisation from the feed like any later status change.
  await publishChange(
    tx,
    { kind: CHANGE_KINDS.orgStatus, entityId: id, payload: { status: 'active' } },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'organisation.create',
      targetType: 'organisation',
      targetId: id,
      details: { name, roles },
    },
    meta.now,
  );
  return id;
}

export async function addContact(
  tx: Tx,
  orgId: string,
  input: ContactInput,
  meta: ActionMeta,
): Promise<string> {
  await requireOrganisation(tx.db, orgId);
  const c = validateContact(input, 0);
  const id = randomUUID();
  await tx.db
    .insertInto('contacts')
    .values({
      id,
      org_id: orgId,
      kind: c.kind,
      name: c.name,
      email: c.email,
      phone: c.phone ?? null,
      created_at: meta.now.toISOString(),
    })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'organisation.contact.add',
      targetType: 'organisation',
      targetId: orgId,
      details: { kind: c.kind },
    },
    meta.now,
  );
  return id;
}

/** Removes one contact of the organisation; another organisation's contact is not found. */
export async function removeContact(
  tx: Tx,
  orgId: string,
  contactId: string,
  meta: ActionMeta,
): Promise<void> {
  const contact = await tx.db
    .selectFrom('contacts')
    .select(['id', 'kind'])
    .where('id', '=', contactId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!contact) throw notFound('contact', contactId);
  await tx.db.deleteFrom('contacts').where('id', '=', contactId).where('org_id', '=', orgId).execute();
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'organisation.contact.remove',
      targetType: 'organisation',
      targetId: orgId,
      details: { kind: contact.kind, contact: contactId },
    },
    meta.now,
  );
}

export async function requireOrganisation(db: Kysely<Database> | Tx['db'], id: string) {
  const org = await db.selectFrom('organisations').selectAll().where('id', '=', id).executeTakeFirst();
  if (!org) throw notFound('organisation', id);
  return org;
}

export async function getOrganisation(
  db: Kysely<Database> | Tx['db'],
  id: string,
): Promise<OrganisationView> {
  const org = await requireOrganisation(db, id);
  const roles = await db
    .selectFrom('organisation_roles')
    .select('role')
    .where('org_id', '=', id)
    .orderBy('role')
    .execute();
  const contacts = await db
    .selectFrom('contacts')
    .selectAll()
    .where('org_id', '=', id)
    .orderBy('created_at')
    .execute();
  return {
    id: org.id,
    name: org.name,
    status: org.status,
    roles: roles.map((r) => r.role),
    contacts: contacts.map((c) => ({
      id: c.id,
      kind: c.kind,
      name: c.name,
      email: c.email,
      phone: c.phone ?? undefined,
    })),
    created_at: org.created_at,
    updated_at: org.updated_at,
  };
}

/** The sort key of a contact page: oldest first, ties by id. */
export const CONTACT_PAGE_KEY = ['created_at', 'id'] as const;

/** One page of an organisation's contacts (oldest first), optionally of one kind; 404 for an unknown one. */
export async function listContactsPage(
  db: Kysely<Database>,
  orgId: string,
  filter: { kind?: ContactKind | undefined },
  page: PageRequest,
) {
  await requireOrganisation(db, orgId);
  let q = db.selectFrom('contacts').selectAll().where('org_id', '=', orgId);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, CONTACT_PAGE_KEY, after));
  const rows = await q
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (c) => [c.created_at, c.id]);
  return {
    items: paged.items.map((c) => ({
      id: c.id,
      kind: c.kind,
      name: c.name,
      email: c.email,
      phone: c.phone ?? undefined,
    })),
    next_cursor: paged.next_cursor,
  };
}

export async function listOrganisations(db: Kysely<Database>, filter: { status?: OrgStatus } = {}) {
  let q = db
    .selectFrom('organisations')
    .select(['id', 'name', 'status', 'created_at', 'updated_at'])
    .orderBy('name_key');
  if (filter.status) q = q.where('status', '=', filter.status);
  return q.execute();
}

/** The names of the given organisations (a page's worth), by id. */
export async function organisationNames(
  db: Kysely<Database>,
  ids: readonly string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('organisations')
    .select(['id', 'name'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(rows.map((o) => [o.id, o.name]));
}

/** The sort key of an organisation page: oldest first, ties by id. */
export const ORGANISATION_PAGE_KEY = ['created_at', 'id'] as const;

/** One page of organisations, keyset-paged by (created_at, id) after `page.after`. */
export async function listOrganisationsPage(
  db: Kysely<Database>,
  filter: { status?: OrgStatus | undefined; namePrefix?: string | undefined },
  page: PageRequest,
) {
  let q = db.selectFrom('organisations').select(['id', 'name', 'status', 'created_at', 'updated_at']);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.namePrefix) {
    const key = filter.namePrefix.normalize('NFC').trimStart().replace(/\s+/g, ' ').toLocaleLowerCase('en');
    q = q.where(sql<boolean>`name_key LIKE ${`${key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} ESCAPE '\\'`);
  }
  if (page.after) {
    const after = page.after;
    q = q.where((eb) => keysetAfter(eb, ORGANISATION_PAGE_KEY, after));
  }
  const rows = await q
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, (o) => [o.created_at, o.id]);
}

// Offboarded is final: a partner that left is re-onboarded as a new organisation, with a new audit trail.
const TRANSITIONS: Record<OrgStatus, readonly OrgStatus[]> = {
  active: ['suspended', 'offboarded'],
  suspended: ['active', 'offboarded'],
  offboarded: [],
};

/** Changes status and publishes it: every client, certificate and token of the org follows at once. */
export async function setOrganisationStatus(
  tx: Tx,
  id: string,
  status: OrgStatus,
  meta: ActionMeta & { reason?: string | undefined },
): Promise<{ changed: boolean }> {
  const org = await requireOrganisation(tx.db, id);
  if (org.status === status) return { changed: false };
  if (!TRANSITIONS[org.status].includes(status)) {
    throw new AppError(
      'invalid_transition',
      409,
      `organisation ${id} is ${org.status} and cannot become ${status}`,
    );
  }
  await tx.db
    .updateTable('organisations')
    .set({ status, updated_at: meta.now.toISOString() })
    .where('id', '=', id)
    .execute();
  await publishChange(tx, { kind: CHANGE_KINDS.orgStatus, entityId: id, payload: { status } }, meta.now);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: `organisation.${status === 'active' ? 'activate' : status === 'suspended' ? 'suspend' : 'offboard'}`,
      targetType: 'organisation',
      targetId: id,
      details: { from: org.status, to: status, ...(meta.reason ? { reason: meta.reason } : {}) },
    },
    meta.now,
  );
  return { changed: true };
}
