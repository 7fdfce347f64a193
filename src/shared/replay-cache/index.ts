export { createRedisReplayCache } from './redis-replay-cache.ts';
export { createMemoryReplayCache, type ReplayCache } from './replay-cache.ts';
