import { readFileSync } from 'node:fs';
import { checkRedisUrl } from '../../shared/rate-limit/redis-rate-limit-store.ts';
import type { PolicyResource, ResponseMode } from './authorizer-result.ts';

/** The authorizer's configuration, read once at cold start from the function's environment. */
export interface LambdaConfig {
  /** ACCREDIT_PLATFORM_URL: the platform's public base URL (https): change feed, discovery, JWKS. */
  platformUrl: string;
  /**
   * ACCREDIT_CA_BUNDLE: the platform CA bundle, as PEM or the path of a PEM file (in the bundle's directory or
   * a layer). The platform's server certificate and partners' client certificates chain to it.
   */
  ca: string;
  /** ACCREDIT_ENFORCEMENT_CREDENTIAL: an `accredit gateway credential issue` token (never logged). */
  credential: string;
  /** ACCREDIT_AUDIENCE: the `aud` access tokens must carry (the API's identifier at the platform). */
  audience: string;
  /** ACCREDIT_ISSUER and ACCREDIT_JWKS_URI: default, the platform's discovery document (RFC 8414 §3). */
  issuer: string | undefined;
  jwksUri: string | undefined;
  /** ACCREDIT_RESPONSE_MODE: `iam` (default) or `simple` (HTTP API simple responses); REST APIs always get IAM. */
  responseMode: ResponseMode;
  /** ACCREDIT_POLICY_RESOURCE: `exact` (default) or `wildcard` (see docs/aws-lambda.md on caching). */
  policyResource: PolicyResource;
  /** ACCREDIT_REFRESH_MS: least time between two polls of the change feed (default 1000; 0 = every invocation). */
  refreshMs: number;
  /** ACCREDIT_STALE_AFTER_MS: no successful poll for this long and every request is refused (default 15 000). */
  staleAfterMs: number;
  /** ACCREDIT_STRIP_PREFIX: a custom domain's API mapping path (`/payments`) removed before route lookup. */
  stripPrefix: string | undefined;
  /**
   * ACCREDIT_PUBLIC_URL: the API's external base URL as clients address it, for DPoP proofs' `htu`; default
   * https://<the event's domainName><ACCREDIT_STRIP_PREFIX>.
   */
  publicUrl?: string | undefined;
  /** ACCREDIT_LOG_LEVEL (default `info`). */
  logLevel: string;
  /**
   * ACCREDIT_REDIS_URL: `redis://` or `rediss://` (TLS) Redis on which every instance of the function — and every
   * standalone gateway and platform on the same Redis — counts the rate limits together (never logged: it may
   * carry a password). Unset: each instance counts in its own memory (N warm instances admit up to N × quota).
   */
  redisUrl?: string | undefined;
  /**
   * ACCREDIT_REDIS_CA_BUNDLE: PEM CA certificates (or a PEM file) a `rediss://` server must chain to; default
   * Node's public CAs (what ElastiCache and MemoryDB in-transit encryption present).
   */
  redisCa?: string | undefined;
  /**
   * ACCREDIT_RATE_LIMIT_ON_STORE_ERROR: `open` (default: admit unchecked, logged, `rate_limit: unchecked` in the
   * decision line) or `closed` (deny, `rate_limit_unavailable`) when Redis cannot be reached.
   */
  rateLimitOnStoreError?: 'open' | 'closed' | undefined;
}

function fail(name: string, message: string): never {
  throw new Error(`${name}: ${message}`);
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) fail(name, 'is required');
  return value;
}

function httpsUrl(name: string, value: string): string {
  if (!URL.canParse(value) || new URL(value).protocol !== 'https:') fail(name, 'expected an https URL');
  return value;
}

function intIn(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    fail(name, `expected an integer from ${min} to ${max}`);
  return Number(raw);
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!values.includes(raw as T)) fail(name, `expected one of ${values.join(', ')}`);
  return raw as T;
}

function pemOrFile(name: string, value: string): string {
  const pem = value.includes('-----BEGIN ') ? value : readFileSync(value, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail(name, 'expected PEM certificates or a PEM file');
  return pem;
}

/** The Redis URL (and its CA): checked at cold start; the message never repeats the URL (it may hold a password). */
function redisSettings(env: NodeJS.ProcessEnv): {
  redisUrl: string | undefined;
  redisCa: string | undefined;
} {
  const redisUrl = env.ACCREDIT_REDIS_URL?.trim() || undefined;
  const caValue = env.ACCREDIT_REDIS_CA_BUNDLE?.trim() || undefined;
  if (redisUrl === undefined) {
    if (caValue !== undefined) fail('ACCREDIT_REDIS_CA_BUNDLE', 'is set without ACCREDIT_REDIS_URL');
    return { redisUrl, redisCa: undefined };
  }
  try {
    checkRedisUrl(redisUrl);
  } catch (err) {
    fail('ACCREDIT_REDIS_URL', (err as Error).message);
  }
  if (caValue === undefined) return { redisUrl, redisCa: undefined };
  if (!redisUrl.startsWith('rediss://')) {
    fail('ACCREDIT_REDIS_CA_BUNDLE', 'needs a rediss:// (TLS) ACCREDIT_REDIS_URL');
  }
  let redisCa: string;
  try {
    redisCa = pemOrFile('ACCREDIT_REDIS_CA_BUNDLE', caValue);
  } catch (err) {
    const message = (err as Error).message;
    fail(
      'ACCREDIT_REDIS_CA_BUNDLE',
      message.startsWith('ACCREDIT_') ? message.replace(/^[^:]+: /, '') : message,
    );
  }
  return { redisUrl, redisCa };
}

/** Bad configuration fails the cold start with the variable named, never a request with a vague error. */
export function readLambdaConfig(env: NodeJS.ProcessEnv): LambdaConfig {
  const issuer = env.ACCREDIT_ISSUER?.trim() || undefined;
  const jwksUri = env.ACCREDIT_JWKS_URI?.trim() || undefined;
  const stripPrefix = env.ACCREDIT_STRIP_PREFIX?.trim() || undefined;
  if (stripPrefix !== undefined && !/^\/[^?#]*[^/?#]$/.test(stripPrefix))
    fail('ACCREDIT_STRIP_PREFIX', 'expected a path such as /payments (no trailing slash)');
  const staleAfterMs = intIn(env, 'ACCREDIT_STALE_AFTER_MS', 15_000, 1000, 3_600_000);
  const refreshMs = intIn(env, 'ACCREDIT_REFRESH_MS', 1000, 0, 60_000);
  if (refreshMs >= staleAfterMs) fail('ACCREDIT_REFRESH_MS', 'must be below ACCREDIT_STALE_AFTER_MS');
  return {
    platformUrl: httpsUrl('ACCREDIT_PLATFORM_URL', required(env, 'ACCREDIT_PLATFORM_URL')),
    ca: pemOrFile('ACCREDIT_CA_BUNDLE', required(env, 'ACCREDIT_CA_BUNDLE')),
    credential: required(env, 'ACCREDIT_ENFORCEMENT_CREDENTIAL'),
    audience: required(env, 'ACCREDIT_AUDIENCE'),
    issuer,
    jwksUri: jwksUri === undefined ? undefined : httpsUrl('ACCREDIT_JWKS_URI', jwksUri),
    responseMode: oneOf(env, 'ACCREDIT_RESPONSE_MODE', ['iam', 'simple'] as const, 'iam'),
    policyResource: oneOf(env, 'ACCREDIT_POLICY_RESOURCE', ['exact', 'wildcard'] as const, 'exact'),
    refreshMs,
    staleAfterMs,
    stripPrefix,
    publicUrl: env.ACCREDIT_PUBLIC_URL?.trim()
      ? httpsUrl('ACCREDIT_PUBLIC_URL', env.ACCREDIT_PUBLIC_URL.trim())
      : undefined,
    logLevel: env.ACCREDIT_LOG_LEVEL?.trim() || 'info',
    ...redisSettings(env),
    rateLimitOnStoreError: oneOf(
      env,
      'ACCREDIT_RATE_LIMIT_ON_STORE_ERROR',
      ['open', 'closed'] as const,
      'open',
    ),
  };
}
