// What every benchmark command shares: bad options are a usage error (exit code 2), progress goes to stderr.
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export function progressOf(command: string): (line: string) => void {
  return (line) => {
    process.stderr.write(`[bench ${command}] ${line}\n`);
  };
}

const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Parses a benchmark's own string options plus `--json` and `--help`; anything else is a usage error. */
export function parseBenchArgs<const Options extends Record<string, { type: 'string' }>>(
  argv: string[],
  options: Options,
) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...options, ...COMMON_OPTIONS },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
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

/**
 * The entry point every benchmark shares (`node bench/X.ts` and `bench/run.ts X`): parse, print help, run,
 * print the result or JSON. Returns the exit code: 0 whatever the figures, 1 when the run broke, 2 on bad options.
 */
export async function runBenchCommand<Options extends { json: boolean }, Result>(
  argv: string[],
  command: {
    name: string;
    help: string;
    parse(argv: string[]): Options | 'help';
    run(options: Options): Promise<Result>;
    format(result: Result): string;
  },
): Promise<number> {
  let options: Options | 'help';
  try {
    options = command.parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench ${command.name}: ${err.message}\n\n${command.help}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(
      argv.includes('--json')
        ? `${JSON.stringify({ command: command.name, usage: command.help }, null, 2)}\n`
        : command.help,
    );
    return 0;
  }
  try {
    const result = await command.run(options);
    process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : command.format(result));
    return 0;
  } catch (err) {
    process.stderr.write(`bench ${command.name}: the run broke: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}
