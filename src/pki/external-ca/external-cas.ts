import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import { AppError, invalidInput, notFound } from '../../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../../shared/page-cursor.ts';
import { CHANGE_KINDS, type Database, keysetAfter, publishChange, type Tx } from '../../storage/index.ts';
import { parseExternalCa } from './parse-external-ca.ts';

type Row = Database['external_cas'];

export const EXTERNAL_CA_DEFAULTS = {
  refreshSeconds: 3600,
  maxStalenessSeconds: 3600,
} as const;

const MAX_URLS = 4;

/** A registered CA as the admin API shows it (and enforcement reads it). */
export interface ExternalCaView {
  id: string;
  org_id: string;
  subject: string;
  spki_sha256: string;
  not_after: string;
  certificate_pem: string;
  crl_urls: string[];
  ocsp_url: string | null;
  refresh_seconds: number;
  max_staleness_seconds: number;
  crl: {
    this_update: string | null;
    next_update: string | null;
    crl_number: string | null;
    fetched_at: string | null;
    revoked_count: number;
    /** After this instant (or at once, when null) certificates of this CA are refused: issuer_revocation_stale. */
    stale_after: string | null;
    last_error: string | null;
  };
  created_at: string;
}

export interface RegisterExternalCaInput {
  orgId: string;
  certificatePem: string;
  /** Key pins no organisation may register: the platform's own CAs (their certificates are trusted already). */
  reservedPins?: readonly string[] | undefined;
  crlUrls?: string[] | undefined;
  ocspUrl?: string | undefined;
  refreshSeconds?: number | undefined;
  maxStalenessSeconds?: number | undefined;
}

/** When a CA's revocation state stops being fresh: its CRL's nextUpdate plus the tolerance; null if never fetched. */
export function staleAfter(row: Pick<Row, 'crl_next_update' | 'max_staleness_seconds'>): string | null {
  if (row.crl_next_update === null) return null;
  return new Date(Date.parse(row.crl_next_update) + row.max_staleness_seconds * 1000).toISOString();
}

export function revokedSerialsOf(row: Pick<Row, 'revoked_serials'>): string[] {
  const parsed: unknown = JSON.parse(row.revoked_serials);
  return Array.isArray(parsed) ? parsed.filter((s): s is string => typeof s === 'string') : [];
}

export function toExternalCaView(row: Row): ExternalCaView {
  return {
    id: row.id,
    org_id: row.org_id,
    subject: row.subject,
    spki_sha256: row.spki_sha256,
    not_after: row.not_after,
    certificate_pem: row.certificate_pem,
    crl_urls: JSON.parse(row.crl_urls) as string[],
    ocsp_url: row.ocsp_url,
    refresh_seconds: row.refresh_seconds,
    max_staleness_seconds: row.max_staleness_seconds,
    crl: {
      this_update: row.crl_this_update,
      next_update: row.crl_next_update,
      crl_number: row.crl_number,
      fetched_at: row.crl_fetched_at,
      revoked_count: revokedSerialsOf(row).length,
      stale_after: staleAfter(row),
      last_error: row.last_error,
    },
    created_at: row.created_at,
  };
}

/** What enforcement points need of a CA (the `external_ca.changed` payload, the snapshot entry). */
export function externalCaPayload(row: Row, status: 'active' | 'removed'): Record<string, unknown> {
  return {
    org_id: row.org_id,
    status,
    certificate_pem: row.certificate_pem,
    spki_sha256: row.spki_sha256,
    revoked_serials: status === 'active' ? revokedSerialsOf(row) : [],
    crl_next_update: row.crl_next_update,
    stale_after: staleAfter(row),
  };
}

function checkUrl(field: string, url: unknown): string {
  // RFC 5280 §4.2.1.13 / RFC 6960 App. A.1: CRLs and OCSP are served over http or https; they are signed.
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw invalidInput(`${field} must be absolute http(s) URLs`, { field });
  }
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '' || parsed.hash !== '') {
    throw invalidInput(`${field} must not carry credentials or a fragment`, { field });
  }
  return parsed.href;
}

function seconds(
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidInput(`${field} must be an integer between ${min} and ${max}`, { field });
  }
  return value;
}

/**
 * Registers an organisation's CA (the caller has checked the organisation is active). Pinned by its key:
 * the same key cannot be registered twice, by this organisation or another. Its CRL is not fetched yet, so
 * until the first refresh its certificates are refused (fail closed).
 */
export async function registerExternalCa(
  tx: Tx,
  input: RegisterExternalCaInput,
  meta: { actor: string; now: Date },
): Promise<ExternalCaView> {
  const parsed = parseExternalCa(input.certificatePem, meta.now);
  if (input.reservedPins?.includes(parsed.spkiSha256)) {
    throw invalidInput("the platform's own CA cannot be registered as an organisation's CA", {
      field: 'certificate_pem',
    });
  }
  const crlUrls = (input.crlUrls ?? parsed.crlUrls).map((u) => checkUrl('crl_urls', u));
  if (crlUrls.length === 0) {
    throw invalidInput('the CA certificate names no CRL distribution point: give crl_urls', {
      field: 'crl_urls',
    });
  }
  if (crlUrls.length > MAX_URLS) throw invalidInput(`at most ${MAX_URLS} crl_urls`, { field: 'crl_urls' });
  // OCSP only when asked for: once configured, the token endpoint admits only on a current `good` answer.
  const ocspUrl = input.ocspUrl !== undefined ? checkUrl('ocsp_url', input.ocspUrl) : null;
  const refreshSeconds = seconds(
    'refresh_seconds',
    input.refreshSeconds,
    EXTERNAL_CA_DEFAULTS.refreshSeconds,
    60,
    86_400,
  );
  const maxStalenessSeconds = seconds(
    'max_staleness_seconds',
    input.maxStalenessSeconds,
    EXTERNAL_CA_DEFAULTS.maxStalenessSeconds,
    0,
    7 * 86_400,
  );
  const held = await tx.db
    .selectFrom('external_cas')
    .select(['id', 'org_id'])
    .where('spki_sha256', '=', parsed.spkiSha256)
    .executeTakeFirst();
  const taken = () =>
    new AppError('ca_already_registered', 409, 'a CA with this key is already registered', {
      field: 'certificate_pem',
      ...(held?.org_id === input.orgId ? { id: held.id } : {}),
    });
  if (held) throw taken();
  const at = meta.now.toISOString();
  const row: Row = {
    id: `ca_${randomUUID()}`,
    org_id: input.orgId,
    subject: parsed.subject,
    certificate_pem: parsed.certificatePem,
    spki_sha256: parsed.spkiSha256,
    not_after: parsed.notAfter.toISOString(),
    crl_urls: JSON.stringify(crlUrls),
    ocsp_url: ocspUrl,
    refresh_seconds: refreshSeconds,
    max_staleness_seconds: maxStalenessSeconds,
    crl_this_update: null,
    crl_next_update: null,
    crl_number: null,
    crl_fetched_at: null,
    revoked_serials: '[]',
    crl_der: null,
    last_error: null,
    next_refresh_at: at,
    created_at: at,
    updated_at: at,
  };
  try {
    await tx.db.insertInto('external_cas').values(row).execute();
  } catch (err) {
    // A concurrent registration of the same key won the unique pin.
    if (/unique|constraint|duplicate/i.test(String((err as Error).message))) throw taken();
    throw err;
  }
  await publishChange(
    tx,
    { kind: CHANGE_KINDS.externalCaChanged, entityId: row.id, payload: externalCaPayload(row, 'active') },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'external_ca.register',
      targetType: 'external_ca',
      targetId: row.id,
      details: { org_id: row.org_id, subject: row.subject, spki_sha256: row.spki_sha256, crl_urls: crlUrls },
    },
    meta.now,
  );
  return toExternalCaView(row);
}

/** Removes a CA: every certificate it issued stops authenticating at once (the feed tells every enforcement point). */
export async function removeExternalCa(
  tx: Tx,
  orgId: string,
  id: string,
  meta: { actor: string; now: Date },
): Promise<void> {
  const row = await tx.db
    .selectFrom('external_cas')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw notFound('certificate authority', id);
  await tx.db.deleteFrom('external_cas').where('id', '=', id).execute();
  await publishChange(
    tx,
    { kind: CHANGE_KINDS.externalCaChanged, entityId: id, payload: externalCaPayload(row, 'removed') },
    meta.now,
  );
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'external_ca.remove',
      targetType: 'external_ca',
      targetId: id,
      details: { org_id: orgId, subject: row.subject, spki_sha256: row.spki_sha256 },
    },
    meta.now,
  );
}

/** The PKI's registered external CAs as other roles may read them, bound to one handle or transaction. */
export function externalCaStore(db: Kysely<Database>) {
  return {
    async ofOrganisation(orgId: string): Promise<ExternalCaView[]> {
      const rows = await db
        .selectFrom('external_cas')
        .selectAll()
        .where('org_id', '=', orgId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toExternalCaView);
    },
    /**
     * One page of an organisation's CAs, keyset-paged oldest first by (created_at, id). `expired`: only the
     * CAs whose certificate ended (true) or is still valid (false) at `now`.
     */
    async pageOfOrganisation(
      orgId: string,
      filter: { expired?: boolean | undefined; now: Date },
      page: PageRequest,
    ): Promise<Page<ExternalCaView>> {
      let q = db.selectFrom('external_cas').selectAll().where('org_id', '=', orgId);
      if (filter.expired === true) q = q.where('not_after', '<=', filter.now.toISOString());
      if (filter.expired === false) q = q.where('not_after', '>', filter.now.toISOString());
      const after = page.after;
      if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after));
      const rows = await q
        .orderBy('created_at')
        .orderBy('id')
        .limit(page.limit + 1)
        .execute();
      const paged = toPage(rows, page.limit, (r) => [r.created_at, r.id]);
      return { items: paged.items.map(toExternalCaView), next_cursor: paged.next_cursor };
    },
    async byId(id: string): Promise<ExternalCaView | undefined> {
      const row = await db.selectFrom('external_cas').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toExternalCaView(row) : undefined;
    },
    /** Every registered CA with its revocation state (what enforcement and the token endpoint consult). */
    async all(): Promise<Array<ExternalCaView & { revoked_serials: string[] }>> {
      const rows = await db.selectFrom('external_cas').selectAll().orderBy('id').execute();
      return rows.map((row) => ({ ...toExternalCaView(row), revoked_serials: revokedSerialsOf(row) }));
    },
  };
}

export type ExternalCaStore = ReturnType<typeof externalCaStore>;

/** External CA pages: oldest first by (created_at, id). */
export const EXTERNAL_CA_PAGE_KEY_LENGTH = 2;

/**
 * What a TLS-terminating edge needs to accept these CAs' clients at the handshake: every registered CA
 * certificate, and the last verified CRL of each (nginx and Envoy check a CRL for every level once given any).
 * Public by nature: a TLS server names its acceptable CAs to every client in its CertificateRequest.
 */
export async function externalCaEdgeMaterial(
  db: Kysely<Database>,
): Promise<{ certificatePems: string[]; crlDers: Buffer[] }> {
  const rows = await db
    .selectFrom('external_cas')
    .select(['certificate_pem', 'crl_der'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return {
    certificatePems: rows.map((r) => r.certificate_pem),
    crlDers: rows.flatMap((r) => (r.crl_der === null ? [] : [Buffer.from(r.crl_der, 'base64')])),
  };
}
