import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { invalidInput, isCodedError } from '../shared/app-error.ts';
import { normaliseName } from '../shared/names.ts';
import type { Database, Storage, Tx } from '../storage/index.ts';
import {
  APPLICATION_AUTH_METHODS,
  type ApplicationAuthMethod,
  createApplication,
  validateManualGrants,
  validateMetadata,
} from './applications.ts';
import type { ActionMeta } from './context.ts';
import { refuseMixedScripts, validateOrganisationName } from './organisation-name.ts';
import { type ContactInput, createOrganisation, validateContact } from './organisations.ts';

/**
 * Bulk import (issue 16): onboarding an existing partner base. One record is an organisation with its
 * contacts, roles and applications, each carrying the partner's id in the system it comes from
 * (`external_ref`). The whole input is validated first, collecting every finding; only a clean input is
 * written, in batches of organisations, each batch one transaction with one audit entry. A re-run skips what
 * an earlier run created (matched by external_ref), so an interrupted import is finished by running it again.
 */
export interface ImportApplication {
  external_ref: string;
  name: string;
  roles?: string[];
  auth_method?: ApplicationAuthMethod;
  environment?: 'sandbox' | 'production';
  metadata?: Record<string, unknown>;
}

export interface ImportOrganisation {
  external_ref: string;
  name: string;
  roles?: string[];
  contacts?: ContactInput[];
  applications?: ImportApplication[];
}

export interface ImportFinding {
  /** 1-based position of the record in the input (the line of an NDJSON file). */
  record: number;
  external_ref?: string | undefined;
  /** JSON path inside the record, e.g. `applications[2].auth_method`. */
  field: string;
  code: string;
  message: string;
}

export interface ImportSummary {
  organisations: { create: number; existing: number };
  applications: { create: number; existing: number };
}

export const MAX_IMPORT_FINDINGS = 1000;
const CHECK_CHUNK = 100;
const REF = /^[\x21-\x7e]{1,200}$/;
const ORG_KEYS = new Set(['external_ref', 'name', 'roles', 'contacts', 'applications']);
const APP_KEYS = new Set(['external_ref', 'name', 'roles', 'auth_method', 'environment', 'metadata']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Collects records one at a time (the input is streamed), checking each on its own and against the ones
 * before it; `checkDirectory` then checks them against what is stored. `findings` empty ⇒ importable.
 */
export class ImportValidator {
  readonly records: ImportOrganisation[] = [];
  readonly findings: ImportFinding[] = [];
  findingsTotal = 0;
  private readonly roles: Set<string>;
  private readonly refs = new Map<string, number>();
  private readonly names = new Map<string, number>();
  private readonly skeletons = new Map<string, number>();
  private readonly now: Date;

  constructor(definedRoles: Iterable<string>, now: Date) {
    this.roles = new Set(definedRoles);
    this.now = now;
  }

  static async open(db: Kysely<Database>, now: Date): Promise<ImportValidator> {
    const roles = await db.selectFrom('roles').select(['name', 'status']).execute();
    return new ImportValidator(
      roles.filter((r) => r.status !== 'deprecated').map((r) => r.name),
      now,
    );
  }

  get count(): number {
    return this.records.length + this.rejected;
  }

  private rejected = 0;

  private find(record: number, ref: string | undefined, field: string, code: string, message: string) {
    this.findingsTotal++;
    if (this.findings.length < MAX_IMPORT_FINDINGS) {
      this.findings.push({ record, ...(ref ? { external_ref: ref } : {}), field, code, message });
    }
  }

  private findError(record: number, ref: string | undefined, prefix: string, err: unknown) {
    if (!isCodedError(err) || !err.expose) throw err;
    const field = typeof err.details?.field === 'string' ? err.details.field : '';
    this.find(record, ref, prefix + (field && prefix ? `.${field}` : field), err.code, err.message);
  }

  /** A record that is not JSON at all (a broken NDJSON line). */
  addUnparseable(message: string): void {
    this.rejected++;
    this.find(this.count, undefined, '', 'invalid_json', message);
  }

  add(raw: unknown): void {
    const at = this.count + 1;
    const before = this.findingsTotal;
    if (!isObject(raw)) {
      this.rejected++;
      this.find(at, undefined, '', 'invalid_record', 'each record must be a JSON object (an organisation)');
      return;
    }
    const ref = typeof raw.external_ref === 'string' ? raw.external_ref : undefined;
    for (const key of Object.keys(raw)) {
      if (!ORG_KEYS.has(key)) this.find(at, ref, key, 'invalid_input', `unknown property ${key}`);
    }
    if (ref === undefined || !REF.test(ref)) {
      this.find(
        at,
        ref,
        'external_ref',
        'invalid_input',
        'external_ref must be 1 to 200 printable ASCII characters',
      );
    } else if (this.refs.has(ref)) {
      this.find(
        at,
        ref,
        'external_ref',
        'duplicate',
        `external_ref also used by record ${this.refs.get(ref)}`,
      );
    } else this.refs.set(ref, at);

    let orgRoles = [...this.roles];
    try {
      const { name, key, skeleton } = validateOrganisationName(raw.name);
      refuseMixedScripts(name);
      const sameName = this.names.get(key) ?? this.skeletons.get(skeleton);
      if (sameName !== undefined) {
        this.find(at, ref, 'name', 'duplicate', `name looks like the name of record ${sameName}`);
      } else {
        this.names.set(key, at);
        this.skeletons.set(skeleton, at);
      }
    } catch (err) {
      this.findError(at, ref, '', err);
    }
    if (raw.roles !== undefined) {
      if (!Array.isArray(raw.roles) || !raw.roles.every((r) => typeof r === 'string')) {
        this.find(at, ref, 'roles', 'invalid_input', 'roles must be an array of role names');
      } else {
        const unknown = raw.roles.filter((r) => !this.roles.has(r));
        if (unknown.length > 0) {
          this.find(at, ref, 'roles', 'invalid_input', `unknown or deprecated role: ${unknown.join(', ')}`);
        }
        orgRoles = raw.roles as string[];
      }
    }
    if (raw.contacts !== undefined) {
      if (!Array.isArray(raw.contacts) || raw.contacts.length > 20) {
        this.find(at, ref, 'contacts', 'invalid_input', 'contacts must be an array of at most 20 contacts');
      } else {
        raw.contacts.forEach((c, i) => {
          try {
            if (!isObject(c)) throw invalidInput('a contact must be an object', { field: `contacts[${i}]` });
            validateContact(c as unknown as ContactInput, i);
          } catch (err) {
            this.findError(at, ref, '', err);
          }
        });
      }
    }
    if (raw.applications !== undefined) {
      if (!Array.isArray(raw.applications) || raw.applications.length > 10_000) {
        this.find(at, ref, 'applications', 'invalid_input', 'applications must be an array (at most 10,000)');
      } else {
        const appRefs = new Map<string, number>();
        const appNames = new Map<string, number>();
        raw.applications.forEach((app, i) => {
          this.addApplication(at, ref, `applications[${i}]`, i, app, orgRoles, appRefs, appNames);
        });
      }
    }
    if (this.findingsTotal === before) this.records.push(raw as unknown as ImportOrganisation);
    else this.rejected++;
  }

  private addApplication(
    at: number,
    ref: string | undefined,
    path: string,
    index: number,
    app: unknown,
    orgRoles: string[],
    appRefs: Map<string, number>,
    appNames: Map<string, number>,
  ) {
    if (!isObject(app)) {
      this.find(at, ref, path, 'invalid_input', 'an application must be an object');
      return;
    }
    for (const key of Object.keys(app)) {
      if (!APP_KEYS.has(key))
        this.find(at, ref, `${path}.${key}`, 'invalid_input', `unknown property ${key}`);
    }
    const appRef = app.external_ref;
    if (typeof appRef !== 'string' || !REF.test(appRef)) {
      this.find(
        at,
        ref,
        `${path}.external_ref`,
        'invalid_input',
        'external_ref must be 1 to 200 printable ASCII characters',
      );
    } else if (appRefs.has(appRef)) {
      this.find(
        at,
        ref,
        `${path}.external_ref`,
        'duplicate',
        `external_ref also used by applications[${appRefs.get(appRef)}]`,
      );
    } else appRefs.set(appRef, index);
    try {
      const { key } = normaliseName(`${path}.name`, app.name);
      if (appNames.has(key)) {
        this.find(
          at,
          ref,
          `${path}.name`,
          'duplicate',
          `name also used by applications[${appNames.get(key)}]`,
        );
      } else appNames.set(key, index);
    } catch (err) {
      this.findError(at, ref, '', err);
    }
    const method = app.auth_method ?? 'tls_client_auth';
    if (typeof method !== 'string' || !(APPLICATION_AUTH_METHODS as readonly string[]).includes(method)) {
      this.find(
        at,
        ref,
        `${path}.auth_method`,
        'invalid_input',
        `auth_method must be one of ${APPLICATION_AUTH_METHODS.join(', ')}`,
      );
    }
    if (app.environment !== undefined && app.environment !== 'sandbox' && app.environment !== 'production') {
      this.find(at, ref, `${path}.environment`, 'invalid_input', 'environment must be sandbox or production');
    }
    if (app.roles !== undefined) {
      if (
        !Array.isArray(app.roles) ||
        app.roles.length > 50 ||
        !app.roles.every((r) => typeof r === 'string')
      ) {
        this.find(
          at,
          ref,
          `${path}.roles`,
          'invalid_input',
          'roles must be an array of at most 50 role names',
        );
      } else {
        const outside = app.roles.filter((r) => !orgRoles.includes(r));
        if (outside.length > 0) {
          this.find(
            at,
            ref,
            `${path}.roles`,
            'role_not_approved',
            `not a role of the organisation: ${outside.join(', ')}`,
          );
        }
      }
    }
    if (app.metadata !== undefined && !isObject(app.metadata)) {
      this.find(at, ref, `${path}.metadata`, 'invalid_input', 'metadata must be an object');
    } else if (
      typeof method === 'string' &&
      (APPLICATION_AUTH_METHODS as readonly string[]).includes(method)
    ) {
      try {
        const metadata = (app.metadata ?? {}) as Record<string, unknown>;
        validateMetadata(method as ApplicationAuthMethod, metadata, this.now);
        validateManualGrants(metadata);
      } catch (err) {
        this.findError(at, ref, `${path}.metadata`, err);
      }
    }
  }

  /**
   * Checks the collected records against the directory: an organisation whose external_ref exists is
   * "existing" (its missing applications are added); one whose name is taken by another organisation is a
   * finding, as is an application whose name is taken in its organisation by one not of this import.
   */
  async checkDirectory(db: Kysely<Database>): Promise<ImportSummary> {
    const summary: ImportSummary = {
      organisations: { create: 0, existing: 0 },
      applications: { create: 0, existing: 0 },
    };
    // 100 records a query: each chunk's names are normalised and compared in one go between two turns of the
    // event loop, so a chunk is a short slice of work (issue 16).
    for (let start = 0; start < this.records.length; start += CHECK_CHUNK) {
      const chunk = this.records.slice(start, start + CHECK_CHUNK);
      const known = await existingOrganisations(
        db,
        chunk.map((r) => r.external_ref),
      );
      const named = new Map(
        (
          await db
            .selectFrom('organisations')
            .select(['id', 'name_key', 'name_skeleton', 'external_ref'])
            .where((eb) =>
              eb.or([
                eb(
                  'name_key',
                  'in',
                  chunk.map((r) => validateOrganisationName(r.name).key),
                ),
                eb(
                  'name_skeleton',
                  'in',
                  chunk.map((r) => validateOrganisationName(r.name).skeleton),
                ),
              ]),
            )
            .execute()
        ).flatMap((o) => [
          [o.name_key, o],
          [o.name_skeleton ?? '', o],
        ]),
      );
      for (const [offset, record] of chunk.entries()) {
        const at = start + offset + 1;
        const orgId = known.get(record.external_ref);
        const apps = record.applications ?? [];
        if (orgId === undefined) {
          const { key, skeleton } = validateOrganisationName(record.name);
          const holder = named.get(key) ?? named.get(skeleton);
          if (holder) {
            this.find(
              at,
              record.external_ref,
              'name',
              'conflict',
              `an organisation named like "${record.name}" already exists (${holder.id})`,
            );
          }
          summary.organisations.create++;
          summary.applications.create += apps.length;
          continue;
        }
        summary.organisations.existing++;
        const existingApps = await db
          .selectFrom('applications')
          .select(['external_ref', 'name_key'])
          .where('org_id', '=', orgId)
          .where('status', '!=', 'deleted')
          .execute();
        const refs = new Set(existingApps.map((a) => a.external_ref));
        const names = new Set(existingApps.filter((a) => a.external_ref === null).map((a) => a.name_key));
        for (const [i, app] of apps.entries()) {
          if (refs.has(app.external_ref)) summary.applications.existing++;
          else {
            summary.applications.create++;
            if (names.has(normaliseName('name', app.name).key)) {
              this.find(
                at,
                record.external_ref,
                `applications[${i}].name`,
                'conflict',
                `the organisation already has an application named "${app.name}"`,
              );
            }
          }
        }
      }
      await yieldToLoop();
    }
    return summary;
  }
}

async function existingOrganisations(db: Kysely<Database> | Tx['db'], refs: string[]) {
  if (refs.length === 0) return new Map<string, string>();
  const rows = await db
    .selectFrom('organisations')
    .select(['id', 'external_ref'])
    .where('external_ref', 'in', refs)
    .execute();
  return new Map(rows.map((r) => [r.external_ref as string, r.id]));
}

export interface ImportProgress {
  batch: number;
  organisations_created: number;
  organisations_skipped: number;
  applications_created: number;
  applications_skipped: number;
}

export class ImportBatchError extends Error {
  readonly code = 'import_batch_failed';
  readonly status: number;
  readonly expose = true;
  readonly details: Record<string, unknown>;
  constructor(batch: number, committed: ImportProgress[], record: number, cause: unknown) {
    const coded = isCodedError(cause) && cause.expose;
    super(
      `batch ${batch} (from record ${record}) was rolled back: ${coded ? cause.message : 'storage error'}; ${committed.length} earlier batch(es) are committed, run the import again to finish`,
      { cause },
    );
    this.status = coded ? 409 : 500;
    this.details = { batch, record, batches_committed: committed.length, committed };
  }
}

/**
 * Writes validated records in batches of at most `batchSize` organisations, one transaction and one audit entry
 * per batch; the event loop gets a turn between organisations and applications, so enforcement keeps
 * answering meanwhile (on SQLite the transaction holds the one connection: other storage users wait, the
 * gateway does not). With `maxBatchMs` a batch also ends once it has written for that long (after at least one
 * organisation), and the loop gets a turn between batches: no transaction holds the database for longer, and
 * no commit is larger, whatever the size of the import (issue 16). Without it, batches are exactly `batchSize`.
 */
export async function writeImport(
  storage: Storage,
  records: readonly ImportOrganisation[],
  meta: ActionMeta & {
    importId: string;
    batchSize?: number;
    maxBatchMs?: number | undefined;
    onBatch?: (p: ImportProgress) => void;
  },
): Promise<ImportProgress[]> {
  const size = meta.batchSize ?? 500;
  const done: ImportProgress[] = [];
  for (let start = 0, batch = 1; start < records.length; batch++) {
    const chunk = records.slice(start, start + size);
    let progress = emptyProgress(batch);
    let written = 0;
    let current = start + 1;
    try {
      await storage.transaction(async (tx) => {
        // A transaction retried by the storage layer starts its batch again.
        progress = emptyProgress(batch);
        written = 0;
        const began = performance.now();
        const known = await existingOrganisations(
          tx.db,
          chunk.map((r) => r.external_ref),
        );
        for (const [offset, record] of chunk.entries()) {
          if (written > 0 && meta.maxBatchMs !== undefined && performance.now() - began >= meta.maxBatchMs) {
            break;
          }
          current = start + offset + 1;
          await importOrganisation(tx, record, known.get(record.external_ref), progress, meta);
          written++;
          await yieldToLoop();
        }
        await recordAuditEvent(
          tx,
          {
            actor: meta.actor,
            action: 'import.batch',
            targetType: 'import',
            targetId: meta.importId,
            details: { ...progress, first_record: start + 1, last_record: start + written },
          },
          meta.now,
        );
      });
    } catch (err) {
      throw new ImportBatchError(batch, done, current, err);
    }
    done.push(progress);
    meta.onBatch?.(progress);
    start += written;
    await yieldToLoop();
  }
  return done;
}

const emptyProgress = (batch: number): ImportProgress => ({
  batch,
  organisations_created: 0,
  organisations_skipped: 0,
  applications_created: 0,
  applications_skipped: 0,
});

async function importOrganisation(
  tx: Tx,
  record: ImportOrganisation,
  existingId: string | undefined,
  progress: ImportProgress,
  meta: ActionMeta,
) {
  let orgId = existingId;
  if (orgId === undefined) {
    orgId = await createOrganisation(
      tx,
      { name: record.name, roles: record.roles, contacts: record.contacts },
      meta,
    );
    await tx.db
      .updateTable('organisations')
      .set({ external_ref: record.external_ref })
      .where('id', '=', orgId)
      .execute();
    progress.organisations_created++;
  } else progress.organisations_skipped++;
  const apps = record.applications ?? [];
  if (apps.length === 0) return;
  const present = new Set(
    (
      await tx.db
        .selectFrom('applications')
        .select('external_ref')
        .where('org_id', '=', orgId)
        .where('external_ref', 'is not', null)
        .execute()
    ).map((a) => a.external_ref),
  );
  for (const app of apps) {
    if (present.has(app.external_ref)) {
      progress.applications_skipped++;
      continue;
    }
    const roles = app.roles ?? [];
    const clientId = await createApplication(
      tx,
      {
        orgId,
        name: app.name,
        roles,
        authMethod: app.auth_method ?? 'tls_client_auth',
        metadata: app.metadata,
        environment: app.environment,
        allowNoRoles: roles.length === 0,
      },
      meta,
    );
    // The event loop gets a turn between applications too: enforcement never waits for a whole organisation.
    await yieldToLoop();
    await tx.db
      .updateTable('applications')
      .set({ external_ref: app.external_ref })
      .where('client_id', '=', clientId)
      .execute();
    progress.applications_created++;
  }
}
