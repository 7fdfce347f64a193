import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { UpstreamTls } from '../gateway/index.ts';
import { CONFIG_KEYS, ConfigError, type PlatformConfig } from './config.ts';

export interface UpstreamCredentials {
  /** Sent in x-accredit-gateway-secret. */
  secret: string | undefined;
  /** Trust anchors and the gateway's client certificate for an https upstream. */
  tls: UpstreamTls | undefined;
}

type FileKey = 'upstreamSecretFile' | 'upstreamCaFile' | 'upstreamClientCertFile' | 'upstreamClientKeyFile';

function keyName(key: FileKey): string {
  const entry = CONFIG_KEYS.find((k) => k.path === `gateway.${key}`);
  return `gateway.${key} (${entry?.env})`;
}

/** A secret file readable or writable by group or others is refused, as ssh and the KEK file do. */
function read(file: string, key: FileKey, ownerOnly: boolean): string {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new ConfigError(`${keyName(key)}: ${file} is not a file`);
  }
  const mode = statSync(file).mode & 0o777;
  if (ownerOnly && (mode & 0o077) !== 0) {
    throw new ConfigError(
      `${keyName(key)}: ${file} permissions ${mode.toString(8)} are too open; run chmod 600 ${file}`,
    );
  }
  return readFileSync(file, 'utf8');
}

function certificates(file: string, key: FileKey): string {
  const pem = read(file, key, false);
  try {
    // Throws unless the first certificate parses; node:tls reads the rest of the bundle the same way.
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${keyName(key)}: ${file} is not a PEM certificate`);
  }
  return pem;
}

function secretFrom(file: string): string {
  const secret = read(file, 'upstreamSecretFile', true).trim();
  // Sent as a single header value (RFC 9110 §5.5), long enough not to be guessed.
  if (!/^[\x21-\x7e]{32,}$/.test(secret)) {
    throw new ConfigError(
      `${keyName('upstreamSecretFile')}: ${file} must hold at least 32 visible ASCII characters (no spaces)`,
    );
  }
  return secret;
}

/** The client certificate and its key, checked to belong together at start-up rather than at the first request. */
function clientCertificate(certFile: string, keyFile: string): { cert: string; key: string } {
  const cert = certificates(certFile, 'upstreamClientCertFile');
  const key = read(keyFile, 'upstreamClientKeyFile', true);
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new ConfigError(
      `${keyName('upstreamClientKeyFile')}: ${keyFile} is not an unencrypted PEM private key`,
    );
  }
  if (!matches) {
    throw new ConfigError(`${keyName('upstreamClientKeyFile')}: ${keyFile} is not the key of ${certFile}`);
  }
  return { cert, key };
}

/**
 * What the gateway authenticates to a configured upstream with: the shared secret header and, for an https
 * upstream, the CA to trust and the client certificate to present. Undefined parts are not configured.
 */
export function loadUpstreamCredentials(config: PlatformConfig): UpstreamCredentials {
  const g = config.gateway;
  const secret = g.upstreamSecretFile === undefined ? undefined : secretFrom(g.upstreamSecretFile);
  let tls: UpstreamTls | undefined;
  if (g.upstreamCaFile !== undefined) tls = { ca: certificates(g.upstreamCaFile, 'upstreamCaFile') };
  if (g.upstreamClientCertFile !== undefined && g.upstreamClientKeyFile !== undefined) {
    tls = { ...tls, ...clientCertificate(g.upstreamClientCertFile, g.upstreamClientKeyFile) };
  }
  return { secret, tls };
}
