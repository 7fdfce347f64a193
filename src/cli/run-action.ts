import { CliError } from './cli-error.ts';

interface ErrorLike {
  message?: string;
  code?: string;
  expose?: boolean;
  status?: number;
}

/** Runs a command body: any failure becomes one line on stderr and a non-zero exit code, never a stack trace. */
export async function runAction(json: boolean, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const e = err as ErrorLike;
    const shown =
      err instanceof CliError ||
      e.expose === true ||
      e.code === 'invalid_config' ||
      e.code === 'migration_failed'
        ? (e.message ?? 'failed')
        : `unexpected failure (${e.code ?? (err as Error).name ?? 'error'}): ${e.message ?? ''}`.trim();
    if (json)
      process.stderr.write(`${JSON.stringify({ error: { code: e.code ?? 'error', message: shown } })}\n`);
    else process.stderr.write(`accredit: error: ${shown}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}
