// What every benchmark command shares: bad options are a usage error (exit code 2), progress goes to stderr.

export class UsageError extends Error {}

export function progressOf(command: string): (line: string) => void {
  return (line) => {
    process.stderr.write(`[bench ${command}] ${line}\n`);
  };
}

/** A numeric option: absent → `fallback`; otherwise finite, ≥ `min` and, when asked, an integer. */
export function number(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  integer: boolean,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${raw}"`);
  }
  return value;
}
