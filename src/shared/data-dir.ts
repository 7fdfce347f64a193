import { isAbsolute, resolve } from 'node:path';

/** --dir, else ACCREDIT_DIR, else ./.accredit; always absolute. */ export function resolveDataDir(
  dir: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const chosen = dir ?? env.ACCREDIT_DIR ?? '.accredit';
  return isAbsolute(chosen) ? chosen : resolve(chosen);
}
