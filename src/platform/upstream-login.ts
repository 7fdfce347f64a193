import { readFileSync } from 'node:fs';
import type { UpstreamConfig } from '../authorization-server/index.ts';
import type { UpstreamLoginConfig } from './config.ts';
import { ConfigError } from './config.ts';

/** The authorization server's upstream login from `login.upstream.*`: the client secret read from its file. */
export function upstreamLoginOf(config: UpstreamLoginConfig): UpstreamConfig {
  const clientSecret = readFileSync(config.clientSecretFile, 'utf8').trim();
  if (clientSecret.length === 0) {
    throw new ConfigError(`login.upstream.clientSecretFile: ${config.clientSecretFile} is empty`);
  }
  return {
    issuer: config.issuer,
    clientId: config.clientId,
    clientSecret,
    scopes: config.scopes,
    label: config.label,
  };
}
