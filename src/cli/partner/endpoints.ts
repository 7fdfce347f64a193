import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readServeState } from '../../shared/serve-state.ts';
import { CliError } from '../cli-error.ts';

/** An https base URL without a trailing slash, or a one-line error naming where it came from. */
function httpsBase(value: string, from: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${from}: "${value}" is not a URL`, 'bad_url');
  }
  if (url.protocol !== 'https:') throw new CliError(`${from}: "${value}" must be an https URL`, 'bad_url');
  if (url.search || url.hash)
    throw new CliError(`${from}: "${value}" must not have a query or fragment`, 'bad_url');
  return url.href.replace(/\/$/, '');
}

/**
 * The authorization server's issuer identifier: --issuer, else ACCREDIT_ISSUER, else the public listener
 * of the platform running in the data directory.
 */
export function resolveIssuer(flag: string | undefined, dataDir: string): string {
  if (flag) return httpsBase(flag, '--issuer');
  if (process.env.ACCREDIT_ISSUER) return httpsBase(process.env.ACCREDIT_ISSUER, 'ACCREDIT_ISSUER');
  const running = readServeState(dataDir)?.listeners.public;
  if (running) return httpsBase(running, `${dataDir}/run/serve.json`);
  throw new CliError(
    `no issuer: pass --issuer or set ACCREDIT_ISSUER (no platform is running in ${dataDir})`,
    'no_issuer',
  );
}

/** The gateway's base URL: --gateway, else ACCREDIT_GATEWAY_URL, else the running platform's gateway listener. */
export function resolveGateway(flag: string | undefined, dataDir: string): string {
  if (flag) return httpsBase(flag, '--gateway');
  if (process.env.ACCREDIT_GATEWAY_URL) {
    return httpsBase(process.env.ACCREDIT_GATEWAY_URL, 'ACCREDIT_GATEWAY_URL');
  }
  const state = readServeState(dataDir);
  if (state?.listeners.gateway) return httpsBase(state.listeners.gateway, `${dataDir}/run/serve.json`);
  throw new CliError(
    state
      ? `the platform in ${dataDir} runs no gateway listener: pass --gateway or set ACCREDIT_GATEWAY_URL`
      : `no gateway: pass --gateway or set ACCREDIT_GATEWAY_URL (no platform is running in ${dataDir})`,
    'no_gateway',
  );
}

/** The EST server (the mTLS listener): --est-url, else ACCREDIT_EST_URL, else the running platform's mTLS listener. */
export function resolveEstUrl(flag: string | undefined, dataDir: string): string {
  if (flag) return httpsBase(flag, '--est-url');
  if (process.env.ACCREDIT_EST_URL) return httpsBase(process.env.ACCREDIT_EST_URL, 'ACCREDIT_EST_URL');
  const running = readServeState(dataDir)?.listeners.mtls;
  if (running) return httpsBase(running, `${dataDir}/run/serve.json`);
  throw new CliError(
    `no EST server: pass --est-url or set ACCREDIT_EST_URL (no platform is running in ${dataDir})`,
    'no_est_url',
  );
}

/**
 * PEM certificates to trust for the servers: --ca, else ACCREDIT_CA_BUNDLE, else the platform's bundle in
 * the data directory; undefined (the system roots) when none of them exists.
 */
export function resolveCa(flag: string | undefined, dataDir: string): string | undefined {
  const [file, from] = flag
    ? [flag, '--ca']
    : process.env.ACCREDIT_CA_BUNDLE
      ? [process.env.ACCREDIT_CA_BUNDLE, 'ACCREDIT_CA_BUNDLE']
      : [join(dataDir, 'ca', 'bundle.pem'), undefined];
  if (from === undefined && !existsSync(file)) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`cannot read the CA bundle ${file} (${from})`, 'bad_file');
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CliError(`CA bundle ${file} holds no PEM certificate`, 'bad_file');
  }
  return pem;
}
