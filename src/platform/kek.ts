import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config.ts';

export const KEK_FILE = 'kek';

/**
 * The key-encryption key for every private key at rest: ACCREDIT_KEK when set (from a secret manager), else
 * DIR/kek, created with 0600 at init. A file readable by group or others is refused, as ssh does.
 */
export function loadKek(
  dataDir: string,
  options: { create: boolean },
  env: NodeJS.ProcessEnv = process.env,
): string {
  const fromEnv = env.ACCREDIT_KEK;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 32)
      throw new ConfigError('ACCREDIT_KEK: must be at least 32 characters of high-entropy secret');
    return fromEnv;
  }
  const file = join(dataDir, KEK_FILE);
  if (!existsSync(file)) {
    if (!options.create) {
      throw new ConfigError(
        `no key-encryption key: set ACCREDIT_KEK or run \`accredit init\` to create ${file}`,
      );
    }
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${file}: permissions ${mode.toString(8)} are too open; run chmod 600 ${file}`);
  }
  const kek = readFileSync(file, 'utf8').trim();
  if (kek.length < 32) throw new ConfigError(`${file}: key-encryption key is too short`);
  return kek;
}
