import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError, type PlatformConfig } from './config.ts';

const KEY = 'gateway.upstreamSecretFile (ACCREDIT_UPSTREAM_SECRET_FILE)';

/**
 * The secret the gateway sends to a configured upstream, from gateway.upstreamSecretFile; undefined when none
 * is configured. Like the KEK, a file readable by group or others is refused, as ssh does.
 */
export function loadUpstreamSecret(config: PlatformConfig): string | undefined {
  const file = config.gateway.upstreamSecretFile;
  if (file === undefined) return undefined;
  if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(`${KEY}: ${file} is not a file`);
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `${KEY}: ${file} permissions ${mode.toString(8)} are too open; run chmod 600 ${file}`,
    );
  }
  const secret = readFileSync(file, 'utf8').trim();
  // Sent as a header value (RFC 9110 §5.5); 32 characters keep it out of reach of guessing.
  if (!/^[\x21-\x7e]{32,}$/.test(secret)) {
    throw new ConfigError(`${KEY}: ${file} must hold at least 32 visible ASCII characters (no spaces)`);
  }
  return secret;
}
