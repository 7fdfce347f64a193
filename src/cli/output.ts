import { writeFileSync } from 'node:fs';

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table for humans; --json prints the same rows as JSON. */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

export function printFields(fields: Array<[string, unknown]>): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) {
    process.stdout.write(
      `${`${k}:`.padEnd(width + 2)}${Array.isArray(v) ? v.join(', ') : String(v ?? '')}\n`,
    );
  }
}

/**
 * A certificate the platform just issued (or renewed): written to `out` when given; --json prints the answer (with
 * `written_to`), else the fields, then the PEM itself unless it went to a file.
 */
export function printIssuedCertificate(
  issued: { certificate_pem: string },
  fields: Array<[string, unknown]>,
  options: { out: string | undefined; json: boolean },
): void {
  if (options.out) writeFileSync(options.out, issued.certificate_pem);
  if (options.json) {
    printJson({ ...issued, ...(options.out ? { written_to: options.out } : {}) });
    return;
  }
  printFields(fields);
  if (options.out) process.stdout.write(`certificate written to ${options.out}\n`);
  else process.stdout.write(issued.certificate_pem);
}
