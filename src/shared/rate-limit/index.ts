export { GCRA_EPSILON_MS, type RateLimitTake } from './gcra.ts';
export {
  type AppliedLimit,
  normaliseRules,
  RATE_LIMIT_MAX_QUOTA,
  RATE_LIMIT_MAX_RULES,
  RATE_LIMIT_MAX_WINDOW,
  RATE_LIMIT_POLICY_SCHEMA,
  RATE_LIMIT_RULES_SCHEMA,
  type RateLimitPolicy,
  type RateLimitRule,
  rateLimitHeaders,
  rateLimitPolicyProblem,
  rateLimitRulesProblem,
} from './policy.ts';
export { checkTakeArguments, createMemoryRateLimitStore, type RateLimitStore } from './rate-limit-store.ts';
export { createRedisRateLimitStore } from './redis-rate-limit-store.ts';
