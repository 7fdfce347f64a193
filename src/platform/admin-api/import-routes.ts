import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { ImportValidator, MAX_IMPORT_FINDINGS, writeImport } from '../../directory/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/json-depth.ts';
import type { AdminDeps } from './deps.ts';

/** Largest import body accepted (NDJSON or a JSON array): config `import.maxBytes` / ACCREDIT_IMPORT_MAX_BYTES. */
export const DEFAULT_IMPORT_MAX_BYTES = 64 * 1024 * 1024;
const MAX_LINE_BYTES = 4 * 1024 * 1024;
/**
 * How long one import batch may write before it commits (when the request gives no batch_size): no
 * transaction holds the database (SQLite: its one connection; both: the audit chain) for longer, whatever the
 * import's size, and the event loop gets a turn between batches.
 */
export const IMPORT_BATCH_MS = 200;
/** A JSON array body is validated this many records at a time, the event loop getting a turn in between. */
const VALIDATE_SLICE = 100;
export const NDJSON = 'application/x-ndjson';

const findingSchema = {
  type: 'object',
  properties: {
    record: { type: 'integer' },
    external_ref: { type: 'string' },
    field: { type: 'string' },
    code: { type: 'string' },
    message: { type: 'string' },
  },
} as const;
const countsSchema = {
  type: 'object',
  properties: { create: { type: 'integer' }, existing: { type: 'integer' } },
} as const;
const batchSchema = {
  type: 'object',
  properties: {
    batch: { type: 'integer' },
    organisations_created: { type: 'integer' },
    organisations_skipped: { type: 'integer' },
    applications_created: { type: 'integer' },
    applications_skipped: { type: 'integer' },
  },
} as const;

class ImportInvalid extends AppError {
  readonly findings: unknown[];
  constructor(findings: unknown[], total: number) {
    super('import_invalid', 400, `the import has ${total} finding(s); nothing was written`, {
      findings_total: total,
    });
    this.findings = findings;
  }
}

const tooLarge = (max: number) =>
  new AppError('body_too_large', 413, `the import is larger than ${max} bytes (import.maxBytes)`);

/** Feeds NDJSON lines to the validator as they arrive: memory holds the parsed records, never the raw body. */
async function readNdjson(stream: Readable, maxBytes: number, validator: ImportValidator): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let total = 0;
  const line = (text: string) => {
    const trimmed = text.trim();
    if (trimmed.length === 0) return;
    if (exceedsJsonDepth(trimmed, MAX_JSON_DEPTH)) {
      validator.addUnparseable(`the line nests deeper than ${MAX_JSON_DEPTH} levels`);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      validator.addUnparseable('the line is not valid JSON');
      return;
    }
    validator.add(parsed);
  };
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    pending += decoder.write(chunk as Buffer);
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      line(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE_BYTES) {
      throw new AppError('line_too_long', 413, `a line is longer than ${MAX_LINE_BYTES} bytes`);
    }
  }
  line(pending + decoder.end());
}

/**
 * POST /admin/v1/import (issue 16): onboard an existing partner base. The body is NDJSON (one organisation a
 * line, streamed) or a JSON array. Everything is validated first and every finding reported (400
 * import_invalid, or 200 with `findings` when ?dry_run=true); a clean import is written in batches, one
 * transaction and one audit entry each; a re-run skips what exists (matched by external_ref).
 */
export function registerImportRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { maxBytes?: number | undefined } = {},
): void {
  const maxBytes = options.maxBytes ?? DEFAULT_IMPORT_MAX_BYTES;
  // The NDJSON body reaches the handler as the request stream, read and bounded there.
  app.addContentTypeParser(NDJSON, (_request, payload, done) => done(null, payload));

  app.post(
    '/import',
    {
      bodyLimit: maxBytes,
      schema: {
        tags: ['import'],
        summary:
          'Bulk import organisations with their contacts, roles and applications (NDJSON or JSON array)',
        description:
          'One organisation per NDJSON line (application/x-ndjson) or a JSON array: {external_ref, name, roles?, contacts?, applications?: [{external_ref, name, roles?, auth_method?, environment?, metadata?}]}. The input is validated whole first; with findings nothing is written (400 import_invalid, every finding in `errors`). ?dry_run=true only validates and counts. Records are written in batches (one transaction and one audit entry each); organisations and applications whose external_ref exists are skipped, so a re-run finishes an interrupted import.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            dry_run: { type: 'string', enum: ['true', 'false'] },
            batch_size: { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              dry_run: { type: 'boolean' },
              valid: { type: 'boolean' },
              records: { type: 'integer' },
              summary: {
                type: 'object',
                properties: { organisations: countsSchema, applications: countsSchema },
              },
              findings: { type: 'array', items: findingSchema },
              findings_total: { type: 'integer' },
              import_id: { type: 'string' },
              batches: { type: 'array', items: batchSchema },
            },
          },
          400: { $ref: 'Problem#' },
          409: { $ref: 'Problem#' },
          413: { $ref: 'Problem#' },
        },
      },
    },
    async (request) => {
      const q = request.query as { dry_run?: 'true' | 'false'; batch_size?: string };
      const dryRun = q.dry_run === 'true';
      const now = deps.clock();
      const validator = await ImportValidator.open(deps.storage.db, now);
      const body = request.body as unknown;
      if (Array.isArray(body)) {
        // The event loop gets a turn every few records: a large array is never validated in one go.
        for (const [i, record] of body.entries()) {
          validator.add(record);
          if (i % VALIDATE_SLICE === VALIDATE_SLICE - 1) await yieldToLoop();
        }
      } else if (body && typeof (body as Readable).pipe === 'function') {
        await readNdjson(body as Readable, maxBytes, validator);
      } else {
        throw new AppError(
          'invalid_input',
          400,
          `the body must be NDJSON (${NDJSON}, one organisation a line) or a JSON array of organisations`,
        );
      }
      if (validator.count === 0) throw new AppError('invalid_input', 400, 'the import has no records');
      const summary =
        validator.findingsTotal === 0
          ? await validator.checkDirectory(deps.storage.db)
          : { organisations: { create: 0, existing: 0 }, applications: { create: 0, existing: 0 } };
      const findings = validator.findings.slice(0, MAX_IMPORT_FINDINGS);
      if (dryRun) {
        return {
          dry_run: true,
          valid: validator.findingsTotal === 0,
          records: validator.count,
          summary,
          findings,
          findings_total: validator.findingsTotal,
        };
      }
      if (validator.findingsTotal > 0) throw new ImportInvalid(findings, validator.findingsTotal);
      const importId = randomUUID();
      const batches = await writeImport(deps.storage, validator.records, {
        actor: request.actor,
        now,
        importId,
        batchSize: q.batch_size === undefined ? undefined : Number(q.batch_size),
        // Without an explicit batch_size a batch also ends after IMPORT_BATCH_MS of writing (issue 16).
        maxBatchMs: q.batch_size === undefined ? IMPORT_BATCH_MS : undefined,
      });
      return {
        dry_run: false,
        valid: true,
        records: validator.count,
        summary,
        findings: [],
        findings_total: 0,
        import_id: importId,
        batches,
      };
    },
  );
}
