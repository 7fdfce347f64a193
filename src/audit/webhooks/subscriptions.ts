import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError, invalidInput, notFound } from '../../shared/app-error.ts';
import { FetchError, type UrlGuard } from '../../shared/guarded-fetch/index.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { redactUrl } from '../../shared/redact-url.ts';
import { type Database, keysetAfter, type Tx } from '../../storage/index.ts';
import { EVENT_TYPES, isEventType } from '../events/index.ts';
import { recordAuditEvent } from '../record-audit-event.ts';
import { newWebhookSecret, openSecret, sealSecret } from './secret-box.ts';

export const WEBHOOK_SCHEMES = ['jws', 'standard-webhooks'] as const;
export type WebhookScheme = (typeof WEBHOOK_SCHEMES)[number];

export interface WebhookSubscriptionView {
  id: string;
  url: string;
  /** Event types, or `["*"]` for every type. */
  event_types: string[];
  /** Only this organisation's events when set. */
  org_id: string | null;
  scheme: WebhookScheme;
  description: string | null;
  status: 'active' | 'disabled';
  /** During a secret rotation: until when the previous secret still signs too. */
  previous_secret_until: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface CreateSubscriptionInput {
  url: string;
  event_types: string[];
  org_id?: string | null | undefined;
  scheme: string;
  description?: string | null | undefined;
}

export interface UpdateSubscriptionInput {
  url?: string | undefined;
  event_types?: string[] | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
}

export interface WebhookMeta {
  actor: string;
  now: Date;
}

type Row = Database['webhook_subscriptions'];

const MAX_URL = 2048;
const MAX_DESCRIPTION = 500;
/** Rotation overlap bounds: the previous secret signs too for this long (default one day). */
export const ROTATION_OVERLAP = { min: 0, max: 7 * 86_400, default: 86_400 };

function viewOf(row: Row, now?: Date): WebhookSubscriptionView {
  const rotating =
    row.previous_secret_until !== null && (!now || row.previous_secret_until > now.toISOString());
  return {
    id: row.id,
    url: row.url,
    event_types: JSON.parse(row.event_types) as string[],
    org_id: row.org_id,
    scheme: row.scheme,
    description: row.description,
    status: row.status === 'disabled' ? 'disabled' : 'active',
    previous_secret_until: rotating ? row.previous_secret_until : null,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function checkEventTypes(types: unknown): string[] {
  if (!Array.isArray(types) || types.length === 0) {
    throw invalidInput('event_types: at least one event type, or "*"', { field: 'event_types' });
  }
  const unique = [...new Set(types)];
  for (const t of unique) {
    if (t !== '*' && !isEventType(t)) {
      throw invalidInput(
        `event_types: "${String(t)}" is not an event type (one of ${EVENT_TYPES.join(', ')}, or "*")`,
        { field: 'event_types' },
      );
    }
  }
  if (unique.includes('*') && unique.length > 1) {
    throw invalidInput('event_types: "*" already means every type; give it alone', { field: 'event_types' });
  }
  return unique as string[];
}

/**
 * The receiver's URL: https, no credentials or fragment, and an address the platform may send to (refused
 * here for loopback, private, link-local and reserved addresses unless allowed; checked again at connect time).
 */
async function checkUrl(url: unknown, guard: UrlGuard): Promise<string> {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL || !URL.canParse(url)) {
    throw invalidInput(`url: an absolute https URL of at most ${MAX_URL} characters`, { field: 'url' });
  }
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:') throw invalidInput('url: must be https', { field: 'url' });
  if (parsed.hash !== '') throw invalidInput('url: must not have a fragment', { field: 'url' });
  try {
    await guard.assertFetchable(url);
  } catch (err) {
    if (err instanceof FetchError) {
      throw new WebhookUrlRefused(err);
    }
    throw err;
  }
  return parsed.href;
}

/** The platform will not send there: `errors[0].code` says why (loopback_refused, private_address_refused, …). */
export class WebhookUrlRefused extends AppError {
  readonly findings: Array<{ field: string; code: string; message: string }>;
  constructor(err: FetchError) {
    super('webhook_url_refused', 400, `url: ${err.message}`);
    this.findings = [{ field: 'url', code: err.code, message: err.message }];
  }
}

function checkDescription(description: unknown): string | null {
  if (description === undefined || description === null || description === '') return null;
  if (typeof description !== 'string' || description.length > MAX_DESCRIPTION) {
    throw invalidInput(`description: at most ${MAX_DESCRIPTION} characters`, { field: 'description' });
  }
  return description;
}

async function findRow(db: Kysely<Database> | Tx['db'], id: string): Promise<Row> {
  const row = await db
    .selectFrom('webhook_subscriptions')
    .selectAll()
    .where('id', '=', id)
    .where('status', '!=', 'removed')
    .executeTakeFirst();
  if (!row) throw notFound('webhook subscription', id);
  return row;
}

/**
 * Subscribes a receiver. For `standard-webhooks` the platform generates the secret, returns it here once and
 * keeps it sealed under the KEK; `jws` needs none (receivers verify with the keys at /events/jwks). The
 * organisation, when given, must already have been checked to exist by the caller (the directory owns it).
 */
export async function createWebhookSubscription(
  tx: Tx,
  input: CreateSubscriptionInput,
  deps: WebhookMeta & { kek: string; urlGuard: UrlGuard },
): Promise<WebhookSubscriptionView & { secret?: string }> {
  if (!(WEBHOOK_SCHEMES as readonly string[]).includes(input.scheme)) {
    throw invalidInput(`scheme: one of ${WEBHOOK_SCHEMES.join(', ')}`, { field: 'scheme' });
  }
  const scheme = input.scheme as WebhookScheme;
  const eventTypes = checkEventTypes(input.event_types);
  const description = checkDescription(input.description);
  const url = await checkUrl(input.url, deps.urlGuard);
  const id = randomUUID();
  const secret = scheme === 'standard-webhooks' ? newWebhookSecret() : undefined;
  const now = deps.now.toISOString();
  const row: Row = {
    id,
    url,
    event_types: JSON.stringify(eventTypes),
    org_id: input.org_id ?? null,
    scheme,
    secret_enc: secret === undefined ? null : sealSecret(secret, deps.kek, id),
    previous_secret_enc: null,
    previous_secret_until: null,
    description,
    status: 'active',
    created_by: deps.actor,
    created_at: now,
    updated_at: now,
  };
  await tx.db.insertInto('webhook_subscriptions').values(row).execute();
  await recordAuditEvent(
    tx,
    {
      actor: deps.actor,
      action: 'webhook.create',
      targetType: 'webhook_subscription',
      targetId: id,
      // A receiver URL may carry its own token: the audit log keeps it redacted.
      details: { url: redactUrl(url), event_types: eventTypes, org_id: row.org_id, scheme },
    },
    deps.now,
  );
  return { ...viewOf(row), ...(secret === undefined ? {} : { secret }) };
}

/** Subscription pages: oldest first by (created_at, id). */
export const WEBHOOK_SUBSCRIPTION_PAGE_KEY_LENGTH = 2;

export interface WebhookSubscriptionFilter {
  orgId?: string | undefined;
  status?: 'active' | 'disabled' | undefined;
  /** Subscriptions delivering this event type: those naming it and those taking every type ("*"). */
  eventType?: string | undefined;
}

/** One page of the subscriptions not removed, keyset-paged oldest first by (created_at, id). */
export async function listWebhookSubscriptionsPage(
  db: Kysely<Database>,
  now: Date,
  filter: WebhookSubscriptionFilter,
  page: PageRequest,
): Promise<Page<WebhookSubscriptionView>> {
  let q = db.selectFrom('webhook_subscriptions').selectAll().where('status', '!=', 'removed');
  if (filter.orgId !== undefined) q = q.where('org_id', '=', filter.orgId);
  if (filter.status !== undefined) q = q.where('status', '=', filter.status);
  if (filter.eventType !== undefined) {
    // event_types is a JSON array of known type names (checked on write, and the filter is one of them): the
    // quoted name matches only itself — no other known name fits it even where `_` is a LIKE wildcard.
    const quoted = JSON.stringify(filter.eventType);
    q = q.where((eb) =>
      eb.or([eb('event_types', 'like', `%${quoted}%`), eb('event_types', 'like', '%"*"%')]),
    );
  }
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after));
  const rows = await q
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  const paged = toPage(rows, page.limit, (r) => [r.created_at, r.id]);
  return { items: paged.items.map((row) => viewOf(row, now)), next_cursor: paged.next_cursor };
}

export async function getWebhookSubscription(
  db: Kysely<Database>,
  id: string,
  now: Date,
): Promise<WebhookSubscriptionView> {
  return viewOf(await findRow(db, id), now);
}

export async function updateWebhookSubscription(
  tx: Tx,
  id: string,
  input: UpdateSubscriptionInput,
  deps: WebhookMeta & { urlGuard: UrlGuard },
): Promise<WebhookSubscriptionView> {
  const row = await findRow(tx.db, id);
  const next: Row = { ...row, updated_at: deps.now.toISOString() };
  if (input.url !== undefined) next.url = await checkUrl(input.url, deps.urlGuard);
  if (input.event_types !== undefined) next.event_types = JSON.stringify(checkEventTypes(input.event_types));
  if (input.description !== undefined) next.description = checkDescription(input.description);
  if (input.enabled !== undefined) next.status = input.enabled ? 'active' : 'disabled';
  await tx.db
    .updateTable('webhook_subscriptions')
    .set({
      url: next.url,
      event_types: next.event_types,
      description: next.description,
      status: next.status,
      updated_at: next.updated_at,
    })
    .where('id', '=', id)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: deps.actor,
      action: 'webhook.update',
      targetType: 'webhook_subscription',
      targetId: id,
      details: {
        ...(input.url !== undefined ? { url: redactUrl(next.url) } : {}),
        ...(input.event_types !== undefined ? { event_types: JSON.parse(next.event_types) } : {}),
        ...(input.enabled !== undefined ? { status: next.status } : {}),
      },
    },
    deps.now,
  );
  return viewOf(next, deps.now);
}

/** Removes a subscription: nothing more is queued for it and its pending deliveries are cancelled. */
export async function removeWebhookSubscription(
  tx: Tx,
  id: string,
  deps: WebhookMeta,
): Promise<WebhookSubscriptionView> {
  const row = await findRow(tx.db, id);
  const now = deps.now.toISOString();
  await tx.db
    .updateTable('webhook_subscriptions')
    .set({ status: 'removed', secret_enc: null, previous_secret_enc: null, updated_at: now })
    .where('id', '=', id)
    .execute();
  await tx.db
    .updateTable('webhook_deliveries')
    .set({ status: 'cancelled', claim_token: null, updated_at: now })
    .where('subscription_id', '=', id)
    .where('status', '=', 'pending')
    .execute();
  await recordAuditEvent(
    tx,
    { actor: deps.actor, action: 'webhook.remove', targetType: 'webhook_subscription', targetId: id },
    deps.now,
  );
  return { ...viewOf(row, deps.now), updated_at: now };
}

/**
 * A new Standard Webhooks secret, returned once; the previous one keeps signing alongside it for
 * `overlapSeconds` so receivers can switch without losing a delivery (both signatures are sent).
 */
export async function rotateWebhookSecret(
  tx: Tx,
  id: string,
  overlapSeconds: number,
  deps: WebhookMeta & { kek: string },
): Promise<WebhookSubscriptionView & { secret: string }> {
  const row = await findRow(tx.db, id);
  if (row.scheme !== 'standard-webhooks' || row.secret_enc === null) {
    throw new AppError('conflict', 409, 'only a standard-webhooks subscription has a secret to rotate');
  }
  if (
    !Number.isInteger(overlapSeconds) ||
    overlapSeconds < ROTATION_OVERLAP.min ||
    overlapSeconds > ROTATION_OVERLAP.max
  ) {
    throw invalidInput(
      `overlap_seconds: an integer from ${ROTATION_OVERLAP.min} to ${ROTATION_OVERLAP.max}`,
      { field: 'overlap_seconds' },
    );
  }
  const secret = newWebhookSecret();
  const next: Row = {
    ...row,
    secret_enc: sealSecret(secret, deps.kek, id),
    previous_secret_enc: overlapSeconds > 0 ? row.secret_enc : null,
    previous_secret_until:
      overlapSeconds > 0 ? new Date(deps.now.getTime() + overlapSeconds * 1000).toISOString() : null,
    updated_at: deps.now.toISOString(),
  };
  await tx.db
    .updateTable('webhook_subscriptions')
    .set({
      secret_enc: next.secret_enc,
      previous_secret_enc: next.previous_secret_enc,
      previous_secret_until: next.previous_secret_until,
      updated_at: next.updated_at,
    })
    .where('id', '=', id)
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: deps.actor,
      action: 'webhook.rotate_secret',
      targetType: 'webhook_subscription',
      targetId: id,
      details: { overlap_seconds: overlapSeconds },
    },
    deps.now,
  );
  return { ...viewOf(next, deps.now), secret };
}

/** The secrets a subscription signs with now: the current one, and the previous one during a rotation. */
export function signingSecretsOf(
  row: Pick<Row, 'id' | 'secret_enc' | 'previous_secret_enc' | 'previous_secret_until'>,
  kek: string,
  now: Date,
): string[] {
  const secrets: string[] = [];
  if (row.secret_enc) secrets.push(openSecret(row.secret_enc, kek, row.id));
  if (row.previous_secret_enc && row.previous_secret_until && row.previous_secret_until > now.toISOString()) {
    secrets.push(openSecret(row.previous_secret_enc, kek, row.id));
  }
  return secrets;
}
