import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Operation, TestPlanOptions } from './types.ts';

/** A mistake in the invocation: the CLI prints it as one line and exits 2. */
export class UsageError extends Error {}

/** The command line as commander hands it over: strings, not yet checked. */
export interface RawOptions {
  tokenEndpoint?: string;
  issuer?: string;
  revocationEndpoint?: string;
  api?: string;
  cert?: string;
  key?: string;
  clientId?: string;
  ca?: string;
  path: string;
  forbiddenPath: string;
  ownedPath?: string;
  foreignId?: string;
  healthPath: string;
  untrustedCert?: string;
  untrustedKey?: string;
  adminUrl?: string;
  operatorTokenFile?: string;
  destructive?: boolean;
  revocationBoundMs: string;
  scope?: string;
  /** `--report-to [url]`: true when given without a value (the mTLS base is discovered). */
  reportTo?: string | boolean;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** `POST /v1/payments`, or a bare path meaning GET. */
export function parseOperation(value: string, flag: string): Operation {
  const parts = value.trim().split(/\s+/);
  const [method, path] = parts.length === 1 ? ['GET', parts[0]!] : [parts[0]!.toUpperCase(), parts[1]!];
  if (parts.length > 2 || !METHODS.has(method) || !path.startsWith('/') || /[\s#]/.test(path)) {
    throw new UsageError(`${flag}: expected '[METHOD] /path', e.g. 'POST /v1/payments', got '${value}'`);
  }
  return { method, path };
}

function httpsUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag}: '${value}' is not a URL`);
  }
  if (url.protocol !== 'https:') throw new UsageError(`${flag}: '${value}' must be an https URL`);
  if (url.search || url.hash) throw new UsageError(`${flag}: '${value}' must not have a query or fragment`);
  return url.href.replace(/\/$/, '');
}

function readText(file: string, flag: string, secret = false): string {
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`${flag}: ${file} is not a file`);
  // As ssh does: a secret others can read is refused, not used.
  if (secret && (statSync(file).mode & 0o077) !== 0)
    throw new UsageError(`${flag}: ${file} is readable by others; run chmod 600 ${file}`);
  return readFileSync(file, 'utf8');
}

function certificatePem(file: string, flag: string): string {
  const pem = readText(file, flag);
  try {
    new X509Certificate(pem);
  } catch {
    throw new UsageError(`${flag}: ${file} is not a PEM certificate`);
  }
  return pem;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

/** Where `--report-to` sends the run: undefined (not asked), true (discover the mTLS base) or an https URL. */
export function reportTarget(raw: RawOptions): string | true | undefined {
  if (raw.reportTo === undefined || raw.reportTo === false) return undefined;
  if (raw.reportTo === true) return true;
  return httpsUrl(raw.reportTo, '--report-to');
}

/** Checks every flag and reads every file before the first request, so a typo never half-runs the plan. */
export function resolveOptions(raw: RawOptions): TestPlanOptions {
  if (!raw.tokenEndpoint && !raw.issuer) throw new UsageError('pass --token-endpoint or --issuer');
  if ((raw.ownedPath === undefined) !== (raw.foreignId === undefined))
    throw new UsageError('--owned-path and --foreign-id go together');
  if ((raw.untrustedCert === undefined) !== (raw.untrustedKey === undefined))
    throw new UsageError('--untrusted-cert and --untrusted-key go together');
  if ((raw.adminUrl === undefined) !== (raw.operatorTokenFile === undefined))
    throw new UsageError('--admin-url and --operator-token-file go together');
  const bound = Number(raw.revocationBoundMs);
  if (!Number.isInteger(bound) || bound < 0 || bound > 60_000)
    throw new UsageError('--revocation-bound-ms: expected an integer from 0 to 60000');
  const healthPath = raw.healthPath.startsWith('/') ? raw.healthPath : `/${raw.healthPath}`;
  const token = raw.operatorTokenFile
    ? readText(raw.operatorTokenFile, '--operator-token-file', true).trim()
    : undefined;
  if (token === '') throw new UsageError('--operator-token-file is empty');
  return {
    tokenEndpoint: raw.tokenEndpoint ? httpsUrl(raw.tokenEndpoint, '--token-endpoint') : undefined,
    issuer: raw.issuer ? httpsUrl(raw.issuer, '--issuer') : undefined,
    revocationEndpoint: raw.revocationEndpoint
      ? httpsUrl(raw.revocationEndpoint, '--revocation-endpoint')
      : undefined,
    api: httpsUrl(required(raw.api, '--api'), '--api'),
    clientId: required(raw.clientId, '--client-id'),
    certPem: certificatePem(required(raw.cert, '--cert'), '--cert'),
    keyPem: readText(required(raw.key, '--key'), '--key'),
    ca: raw.ca ? certificatePem(raw.ca, '--ca') : undefined,
    allowed: parseOperation(raw.path, '--path'),
    forbidden: parseOperation(raw.forbiddenPath, '--forbidden-path'),
    owned: raw.ownedPath ? parseOperation(raw.ownedPath, '--owned-path') : undefined,
    foreignId: raw.foreignId,
    healthPath,
    untrusted:
      raw.untrustedCert && raw.untrustedKey
        ? {
            certPem: certificatePem(raw.untrustedCert, '--untrusted-cert'),
            keyPem: readText(raw.untrustedKey, '--untrusted-key'),
            generated: false,
          }
        : undefined,
    admin: raw.adminUrl && token ? { url: httpsUrl(raw.adminUrl, '--admin-url'), token } : undefined,
    destructive: raw.destructive === true,
    revocationBoundMs: bound,
    scope: raw.scope,
  };
}
