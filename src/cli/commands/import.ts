import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { type AdminClient, withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printJson, printTable } from '../output.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

interface Finding {
  record: number;
  external_ref?: string;
  field: string;
  code: string;
  message: string;
}
interface Counts {
  create: number;
  existing: number;
}
interface ImportAnswer {
  dry_run: boolean;
  valid: boolean;
  records: number;
  summary: { organisations: Counts; applications: Counts };
  findings: Finding[];
  findings_total: number;
  import_id?: string;
  batches?: Array<{
    batch: number;
    organisations_created: number;
    organisations_skipped: number;
    applications_created: number;
    applications_skipped: number;
  }>;
}

const NDJSON = 'application/x-ndjson';
/** Records per request after the whole-file check: each request is validated, then written in batches. */
const CHUNK = 1000;

/** An NDJSON file is streamed line by line; a JSON array (first character `[`) is read whole. */
function isJsonArray(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(256);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').trimStart().startsWith('[');
  } finally {
    closeSync(fd);
  }
}

async function* chunksOf(file: string, array: boolean): AsyncGenerator<string[]> {
  if (array) {
    const records = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
    for (let i = 0; i < records.length; i += CHUNK) {
      yield records.slice(i, i + CHUNK).map((r) => JSON.stringify(r));
    }
    return;
  }
  let chunk: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    chunk.push(line);
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

function send(client: AdminClient, file: string, array: boolean, query: string): Promise<ImportAnswer> {
  return client.call<ImportAnswer>('POST', `/import${query}`, undefined, {
    body: createReadStream(file),
    contentType: array ? 'application/json' : NDJSON,
  });
}

function printFindings(answer: ImportAnswer): void {
  printTable(answer.findings as unknown as Array<Record<string, unknown>>, [
    'record',
    'external_ref',
    'field',
    'code',
    'message',
  ]);
  if (answer.findings_total > answer.findings.length) {
    process.stdout.write(`… and ${answer.findings_total - answer.findings.length} more\n`);
  }
}

export function registerImportCommand(program: Command): void {
  program
    .command('import <file>')
    .description(
      'bulk import organisations with their contacts, roles and applications (NDJSON, one organisation a line, or a JSON array); validated whole first, re-runs skip what exists',
    )
    .option('--dry-run', 'only validate and count what would be created')
    .action((file: string, opts: { dryRun?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        if (!existsSync(file) || !statSync(file).isFile()) {
          throw new CliError(`${file}: no such file`, 'invalid_input');
        }
        const array = isJsonArray(file);
        await withAdminClient(g, async (client) => {
          process.stderr.write(`validating ${file}…\n`);
          const check = await send(client, file, array, '?dry_run=true');
          if (!check.valid || opts.dryRun) {
            if (g.json) printJson(check);
            else {
              process.stdout.write(
                `${check.records} records: ${check.valid ? 'valid' : `${check.findings_total} finding(s), nothing written`}\n` +
                  (check.valid
                    ? `would create ${check.summary.organisations.create} organisations (${check.summary.organisations.existing} exist) and ${check.summary.applications.create} applications (${check.summary.applications.existing} exist)\n`
                    : ''),
              );
              if (!check.valid) printFindings(check);
            }
            if (!check.valid) process.exitCode = 1;
            return;
          }
          const total = { organisations: 0, applications: 0, skipped: 0, records: 0 };
          for await (const chunk of chunksOf(file, array)) {
            const answer = await client.call<ImportAnswer>('POST', '/import', undefined, {
              body: `${chunk.join('\n')}\n`,
              contentType: NDJSON,
            });
            for (const b of answer.batches ?? []) {
              total.organisations += b.organisations_created;
              total.applications += b.applications_created;
              total.skipped += b.organisations_skipped;
            }
            total.records += chunk.length;
            process.stderr.write(
              `imported ${total.records}/${check.records} records (${total.organisations} organisations and ${total.applications} applications created)\n`,
            );
          }
          const result = {
            records: check.records,
            organisations_created: total.organisations,
            organisations_skipped: total.skipped,
            applications_created: total.applications,
          };
          if (g.json) printJson(result);
          else
            process.stdout.write(
              `imported ${check.records} records: ${total.organisations} organisations and ${total.applications} applications created, ${total.skipped} organisations already there\n`,
            );
        });
      });
    });
}
