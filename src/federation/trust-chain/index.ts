export { entityConfigurationUrl, isEntityIdentifier } from './entity-identifier.ts';
export { CHAIN_FINDING_CODES, type ChainFindingCode } from './finding.ts';
export {
  createMemoryTrustChainCache,
  type MemoryTrustChainCacheOptions,
} from './memory-trust-chain-cache.ts';
export type { TrustChainCache } from './trust-chain-cache.ts';
export { createTrustChainResolver, type TrustChainResolverOptions } from './trust-chain-resolver.ts';
export {
  type ChainValidation,
  type ChainValidationOptions,
  type ValidatedChain,
  validateTrustChain,
} from './validate-trust-chain.ts';
