import { serializeList } from 'structured-headers';

/** One limit: at most `quota` requests per `window` seconds (GCRA: the quota may be used in one burst). */
export interface RateLimitRule {
  quota: number;
  /** Seconds, 1 to 31 622 400 (366 days). */
  window: number;
}

/**
 * Limits of one operation or of the whole catalog: `client` counts each application (client_id) on its own,
 * `organisation` counts all the applications of one organisation together. Either may be absent (no limit).
 */
export interface RateLimitPolicy {
  client?: RateLimitRule[];
  organisation?: RateLimitRule[];
}

export const RATE_LIMIT_MAX_QUOTA = 1_000_000_000;
export const RATE_LIMIT_MAX_WINDOW = 366 * 86_400;
/** At most this many rules per kind: each is one counter taken on every request. */
export const RATE_LIMIT_MAX_RULES = 4;

/** JSON schema of a rule list (admin API bodies, the OpenAPI document). */
export const RATE_LIMIT_RULES_SCHEMA = {
  type: 'array',
  maxItems: RATE_LIMIT_MAX_RULES,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['quota', 'window'],
    properties: {
      quota: { type: 'integer', minimum: 1, maximum: RATE_LIMIT_MAX_QUOTA },
      window: { type: 'integer', minimum: 1, maximum: RATE_LIMIT_MAX_WINDOW },
    },
  },
} as const;

export const RATE_LIMIT_POLICY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { client: RATE_LIMIT_RULES_SCHEMA, organisation: RATE_LIMIT_RULES_SCHEMA },
} as const;

/** What is wrong with a rule list, or undefined when it is one; `at` names the field in messages. */
export function rateLimitRulesProblem(value: unknown, at: string): string | undefined {
  if (!Array.isArray(value)) return `${at}: expected an array of { quota, window }`;
  if (value.length > RATE_LIMIT_MAX_RULES) return `${at}: at most ${RATE_LIMIT_MAX_RULES} limits`;
  const windows = new Set<number>();
  for (const [i, rule] of value.entries()) {
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
      return `${at}[${i}]: expected { quota, window }`;
    }
    const extra = Object.keys(rule).find((k) => k !== 'quota' && k !== 'window');
    if (extra !== undefined) return `${at}[${i}]: unknown field ${JSON.stringify(extra)}`;
    const { quota, window } = rule as Record<string, unknown>;
    if (!Number.isSafeInteger(quota) || (quota as number) < 1 || (quota as number) > RATE_LIMIT_MAX_QUOTA) {
      return `${at}[${i}].quota: expected an integer from 1 to ${RATE_LIMIT_MAX_QUOTA}`;
    }
    if (
      !Number.isSafeInteger(window) ||
      (window as number) < 1 ||
      (window as number) > RATE_LIMIT_MAX_WINDOW
    ) {
      return `${at}[${i}].window: expected seconds, an integer from 1 to ${RATE_LIMIT_MAX_WINDOW}`;
    }
    if (windows.has(window as number)) return `${at}[${i}].window: two limits with the same window`;
    windows.add(window as number);
  }
  return undefined;
}

/** What is wrong with a policy ({ client?, organisation? }), or undefined when it is one. */
export function rateLimitPolicyProblem(value: unknown, at: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${at}: expected { client?, organisation? }`;
  }
  const extra = Object.keys(value).find((k) => k !== 'client' && k !== 'organisation');
  if (extra !== undefined) return `${at}: unknown field ${JSON.stringify(extra)}`;
  const policy = value as Record<string, unknown>;
  for (const kind of ['client', 'organisation'] as const) {
    if (policy[kind] === undefined) continue;
    const problem = rateLimitRulesProblem(policy[kind], `${at}.${kind}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The rules of a value that passed `rateLimitRulesProblem`, copied to exactly { quota, window }. */
export function normaliseRules(rules: readonly RateLimitRule[]): RateLimitRule[] {
  return [...rules].map((r) => ({ quota: r.quota, window: r.window })).sort((a, b) => a.window - b.window);
}

/** One policy applied to a request, with what its counter answered; the headers are written from these. */
export interface AppliedLimit {
  /** The policy name in the headers, e.g. `client-1s`, `organisation-86400s`. */
  name: string;
  quota: number;
  window: number;
  remaining: number;
  resetMs: number;
}

// The policy header of each distinct set of limits, serialised once: it is the same on every answer.
const policyHeaders = new Map<string, string>();
const MAX_CACHED_POLICIES = 10_000;
const NAME = /^[a-z]+-[0-9]+s$/;

/**
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers, structured-fields form): one list
 * member per policy that applied, `"name";q=…;w=…` and `"name";r=…;t=…` (seconds, rounded up). The policy
 * list is serialised by `structured-headers` (and cached); `RateLimit` is written directly, in exactly the
 * form `serializeList` gives for an sf-string of our own names (`client-1s`) with integer parameters — it
 * changes on every answer, and this runs on the request path (a test parses it back).
 */
export function rateLimitHeaders(applied: readonly AppliedLimit[]): Record<string, string> {
  if (applied.length === 0) return {};
  let cacheKey = '';
  let ratelimit = '';
  for (const a of applied) {
    if (!NAME.test(a.name)) throw new TypeError('rate limit policy name');
    cacheKey += `${a.name};${a.quota};${a.window},`;
    ratelimit += `${ratelimit === '' ? '' : ', '}"${a.name}";r=${Math.max(0, Math.floor(a.remaining))};t=${Math.ceil(a.resetMs / 1000)}`;
  }
  let policy = policyHeaders.get(cacheKey);
  if (policy === undefined) {
    policy = serializeList(
      applied.map((a) => [
        a.name,
        new Map<string, number>([
          ['q', a.quota],
          ['w', a.window],
        ]),
      ]),
    );
    if (policyHeaders.size >= MAX_CACHED_POLICIES) policyHeaders.clear();
    policyHeaders.set(cacheKey, policy);
  }
  return { 'ratelimit-policy': policy, ratelimit };
}
