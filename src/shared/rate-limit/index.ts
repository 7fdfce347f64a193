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
export {
  checkTakeAllArguments,
  checkTakeArguments,
  createMemoryRateLimitStore,
  RATE_LIMIT_MAX_KEYS_PER_TAKE,
  type RateLimitStore,
  type RateLimitTakeRequest,
} from './rate-limit-store.ts';
export {
  checkRedisUrl,
  createRedisRateLimitStore,
  type RedisRateLimitStoreOptions,
} from './redis-rate-limit-store.ts';
