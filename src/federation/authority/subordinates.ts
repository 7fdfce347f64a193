import type { JSONWebKeySet } from 'jose';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import { directoryStore } from '../../directory/index.ts';
import { AppError, conflict, invalidInput, notFound } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import {
  CHANGE_KINDS,
  type Database,
  keysetAfter,
  lockJournal,
  publishChange,
  type Tx,
} from '../../storage/index.ts';
import type { MetadataPolicy } from '../metadata-policy/index.ts';
import type { AuthorityActionMeta } from './action-meta.ts';
import { revokeTrustMarksOfSubject } from './trust-mark-store.ts';
import {
  type EntityIdOptions,
  validateConstraints,
  validateEntityId,
  validateEntityTypes,
  validateFederationJwks,
  validateMetadata,
  validateMetadataPolicy,
  validateMetadataPolicyCrit,
} from './validate-subordinate.ts';

type AnyDb = Kysely<Database> | Tx['db'];
type Row = Database['federation_subordinates'];

export interface SubordinateView {
  entity_id: string;
  org_id: string;
  is_intermediate: boolean;
  entity_types: string[];
  jwks: JSONWebKeySet;
  metadata: Record<string, Record<string, unknown>> | null;
  metadata_policy: Record<string, MetadataPolicy> | null;
  constraints: Record<string, unknown> | null;
  metadata_policy_crit: string[] | null;
  status: 'active' | 'removed';
  created_at: string;
  updated_at: string;
  removed_at: string | null;
}

/**
 * What the superior says about an Immediate Subordinate (§3.1.3). The subordinate's Federation Entity Keys are
 * required: they are what the Subordinate Statement vouches for, and fetching them from the subordinate's own
 * Entity Configuration would make registration depend on reaching it.
 */
export interface SubordinateInput {
  entityId: string;
  orgId: string;
  jwks: unknown;
  isIntermediate?: boolean | undefined;
  entityTypes?: unknown;
  metadata?: unknown;
  metadataPolicy?: unknown;
  constraints?: unknown;
  metadataPolicyCrit?: unknown;
}

/** A partial update; `null` clears an optional member. */
export interface SubordinatePatch {
  orgId?: string | undefined;
  jwks?: unknown;
  isIntermediate?: boolean | undefined;
  entityTypes?: unknown;
  metadata?: unknown;
  metadataPolicy?: unknown;
  constraints?: unknown;
  metadataPolicyCrit?: unknown;
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

export function subordinateView(row: Row): SubordinateView {
  return {
    entity_id: row.entity_id,
    org_id: row.org_id,
    is_intermediate: Boolean(row.is_intermediate),
    entity_types: JSON.parse(row.entity_types) as string[],
    jwks: JSON.parse(row.jwks) as JSONWebKeySet,
    metadata: parse(row.metadata),
    metadata_policy: parse(row.metadata_policy),
    constraints: parse(row.constraints),
    metadata_policy_crit: parse(row.metadata_policy_crit),
    status: row.status,
    created_at: row.created_at,
    updated_at: row.updated_at,
    removed_at: row.removed_at,
  };
}

interface Normalised {
  jwks: string;
  is_intermediate: number;
  entity_types: string;
  metadata: string | null;
  metadata_policy: string | null;
  constraints: string | null;
  metadata_policy_crit: string | null;
}

/** Validates every member together: the policy is checked with the crit list that will accompany it. */
function normalise(input: {
  jwks: unknown;
  isIntermediate: boolean;
  entityTypes: unknown;
  metadata: unknown;
  metadataPolicy: unknown;
  constraints: unknown;
  metadataPolicyCrit: unknown;
}): Normalised {
  const jwks = validateFederationJwks(input.jwks);
  const metadata = input.metadata == null ? null : validateMetadata(input.metadata);
  const crit =
    input.metadataPolicyCrit == null ? undefined : validateMetadataPolicyCrit(input.metadataPolicyCrit);
  const policy = input.metadataPolicy == null ? null : validateMetadataPolicy(input.metadataPolicy, crit);
  if (crit && !policy) {
    throw invalidInput('metadata_policy_crit needs a metadata_policy', { field: 'metadata_policy_crit' });
  }
  const constraints = input.constraints == null ? null : validateConstraints(input.constraints);
  // Without explicit types, they are what the statement speaks about; an Intermediate is always a
  // federation_entity (it publishes federation endpoints, §5.1.1).
  const types = new Set(
    input.entityTypes == null
      ? [...Object.keys(metadata ?? {}), ...Object.keys(policy ?? {})]
      : validateEntityTypes(input.entityTypes),
  );
  if (input.isIntermediate) types.add('federation_entity');
  return {
    jwks: JSON.stringify(jwks),
    is_intermediate: input.isIntermediate ? 1 : 0,
    entity_types: JSON.stringify([...types].sort()),
    metadata: json(metadata),
    metadata_policy: json(policy),
    constraints: json(constraints),
    metadata_policy_crit: json(crit),
  };
}

async function requireLinkableOrganisation(db: AnyDb, orgId: unknown): Promise<string> {
  if (typeof orgId !== 'string' || orgId.length === 0) {
    throw invalidInput('org_id is required: every subordinate belongs to an organisation', {
      field: 'org_id',
    });
  }
  const status = await directoryStore(db).organisationStatus(orgId);
  if (!status) throw notFound('organisation', orgId);
  if (status === 'offboarded') {
    throw new AppError('invalid_transition', 409, `organisation ${orgId} is offboarded`);
  }
  return orgId;
}

async function findRow(db: AnyDb, entityId: string): Promise<Row | undefined> {
  return db
    .selectFrom('federation_subordinates')
    .selectAll()
    .where('entity_id', '=', entityId)
    .executeTakeFirst();
}

/** The subordinate registered (or once registered) under this Entity Identifier, if any. */
export async function findSubordinate(db: AnyDb, entityId: string): Promise<SubordinateView | undefined> {
  const row = await findRow(db, entityId);
  return row ? subordinateView(row) : undefined;
}

export async function getSubordinate(db: AnyDb, entityId: string): Promise<SubordinateView> {
  const row = await findRow(db, entityId);
  if (!row) throw notFound('federation subordinate', entityId);
  return subordinateView(row);
}

/**
 * Registers an Immediate Subordinate. Adding one that was removed brings it back with the new registration; an
 * active one is a conflict. The platform's own Entity Identifier is never its own subordinate (§8.1.2).
 */
export async function addSubordinate(
  tx: Tx,
  input: SubordinateInput,
  options: EntityIdOptions & { authorityEntityId: string },
  meta: AuthorityActionMeta,
): Promise<SubordinateView> {
  const entityId = validateEntityId(input.entityId, 'entity_id', options);
  if (entityId === options.authorityEntityId) {
    throw invalidInput('entity_id is the platform’s own Entity Identifier', { field: 'entity_id' });
  }
  const orgId = await requireLinkableOrganisation(tx.db, input.orgId);
  // Concurrent adds of one Entity Identifier take turns (PostgreSQL), so the second sees the first: 409, not 500.
  await lockJournal(tx);
  const values = normalise({
    jwks: input.jwks,
    isIntermediate: input.isIntermediate === true,
    entityTypes: input.entityTypes,
    metadata: input.metadata,
    metadataPolicy: input.metadataPolicy,
    constraints: input.constraints,
    metadataPolicyCrit: input.metadataPolicyCrit,
  });
  const existing = await findRow(tx.db, entityId);
  if (existing?.status === 'active') throw conflict(`federation subordinate ${entityId} already exists`);
  const at = meta.now.toISOString();
  if (existing) {
    await tx.db
      .updateTable('federation_subordinates')
      .set({ ...values, org_id: orgId, status: 'active', updated_at: at, removed_at: null })
      .where('entity_id', '=', entityId)
      .execute();
  } else {
    await tx.db
      .insertInto('federation_subordinates')
      .values({
        ...values,
        entity_id: entityId,
        org_id: orgId,
        status: 'active',
        created_at: at,
        updated_at: at,
        removed_at: null,
      })
      .execute();
  }
  await publishChange(
    tx,
    { kind: CHANGE_KINDS.federationSubordinate, entityId, payload: { status: 'active', org_id: orgId } },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.subordinate.add',
      targetType: 'federation_subordinate',
      targetId: entityId,
      details: {
        org_id: orgId,
        is_intermediate: values.is_intermediate === 1,
        entity_types: JSON.parse(values.entity_types),
        kids: (JSON.parse(values.jwks) as JSONWebKeySet).keys.map((k) => k.kid),
        readded: existing !== undefined,
      },
    },
    meta.now,
  );
  return getSubordinate(tx.db, entityId);
}

export async function updateSubordinate(
  tx: Tx,
  entityId: string,
  patch: SubordinatePatch,
  meta: AuthorityActionMeta,
): Promise<SubordinateView> {
  const row = await findRow(tx.db, entityId);
  if (!row || row.status === 'removed') throw notFound('federation subordinate', entityId);
  const current = subordinateView(row);
  const orgId =
    patch.orgId === undefined ? row.org_id : await requireLinkableOrganisation(tx.db, patch.orgId);
  const pick = <T>(next: T | undefined, old: unknown) => (next === undefined ? old : next);
  const values = normalise({
    jwks: pick(patch.jwks, current.jwks),
    isIntermediate: patch.isIntermediate ?? current.is_intermediate,
    // The registered types stay unless replaced; they are a registration fact, not derived on update.
    entityTypes: pick(patch.entityTypes, current.entity_types),
    metadata: pick(patch.metadata, current.metadata),
    metadataPolicy: pick(patch.metadataPolicy, current.metadata_policy),
    constraints: pick(patch.constraints, current.constraints),
    metadataPolicyCrit: pick(patch.metadataPolicyCrit, current.metadata_policy_crit),
  });
  await tx.db
    .updateTable('federation_subordinates')
    .set({ ...values, org_id: orgId, updated_at: meta.now.toISOString() })
    .where('entity_id', '=', entityId)
    .execute();
  await publishChange(
    tx,
    { kind: CHANGE_KINDS.federationSubordinate, entityId, payload: { status: 'active', org_id: orgId } },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.subordinate.update',
      targetType: 'federation_subordinate',
      targetId: entityId,
      details: {
        changed: Object.entries(patch)
          .filter(([, v]) => v !== undefined)
          .map(([k]) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
        ...(orgId !== row.org_id ? { org_id: orgId } : {}),
      },
    },
    meta.now,
  );
  return getSubordinate(tx.db, entityId);
}

/**
 * Marks a subordinate removed: the fetch endpoint answers not_found from now on, the Trust Marks issued to it are
 * revoked, and the change is published so that every process stops trusting it at once.
 */
export async function removeSubordinate(
  tx: Tx,
  entityId: string,
  meta: AuthorityActionMeta & { reason?: string | undefined },
): Promise<SubordinateView> {
  const row = await findRow(tx.db, entityId);
  if (!row || row.status === 'removed') throw notFound('federation subordinate', entityId);
  const at = meta.now.toISOString();
  await tx.db
    .updateTable('federation_subordinates')
    .set({ status: 'removed', removed_at: at, updated_at: at })
    .where('entity_id', '=', entityId)
    .execute();
  const revoked = await revokeTrustMarksOfSubject(tx, entityId, meta);
  await publishChange(
    tx,
    {
      kind: CHANGE_KINDS.federationSubordinate,
      entityId,
      payload: { status: 'removed', org_id: row.org_id },
    },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.subordinate.remove',
      targetType: 'federation_subordinate',
      targetId: entityId,
      details: {
        org_id: row.org_id,
        revoked_trust_marks: revoked,
        ...(meta.reason ? { reason: meta.reason } : {}),
      },
    },
    meta.now,
  );
  return getSubordinate(tx.db, entityId);
}

export interface SubordinateFilter {
  orgId?: string | undefined;
  status?: 'active' | 'removed' | undefined;
  intermediate?: boolean | undefined;
}

export async function listSubordinates(
  db: AnyDb,
  filter: SubordinateFilter = {},
): Promise<SubordinateView[]> {
  let q = db.selectFrom('federation_subordinates').selectAll().orderBy('entity_id');
  if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.intermediate !== undefined) q = q.where('is_intermediate', '=', filter.intermediate ? 1 : 0);
  return (await q.execute()).map(subordinateView);
}

/** Subordinate pages: by Entity Identifier (unique), ascending. */
export const SUBORDINATE_PAGE_KEY_LENGTH = 1;

/** One page of subordinates, keyset-paged by entity_id after `page.after`. */
export async function listSubordinatesPage(
  db: AnyDb,
  filter: SubordinateFilter,
  page: PageRequest,
): Promise<Page<SubordinateView>> {
  let q = db.selectFrom('federation_subordinates').selectAll();
  if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.intermediate !== undefined) q = q.where('is_intermediate', '=', filter.intermediate ? 1 : 0);
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['entity_id'], after));
  const rows = await q
    .orderBy('entity_id')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.entity_id]);
  return { items: paged.items.map(subordinateView), next_cursor: paged.next_cursor };
}

/**
 * The subordinates the platform currently vouches for: registered, not removed, and linked to an active
 * organisation (suspending an organisation stops its Subordinate Statements like it stops its tokens).
 */
export function servedSubordinates(db: AnyDb) {
  return db
    .selectFrom('federation_subordinates as s')
    .where('s.status', '=', 'active')
    .where('s.org_id', 'in', directoryStore(db).activeOrganisationIds());
}

export async function findServedSubordinate(
  db: AnyDb,
  entityId: string,
): Promise<SubordinateView | undefined> {
  const row = await servedSubordinates(db)
    .selectAll('s')
    .where('s.entity_id', '=', entityId)
    .executeTakeFirst();
  return row ? subordinateView(row) : undefined;
}
