export { createMemoryReplayCache, type ReplayCache } from './replay-cache.ts';
