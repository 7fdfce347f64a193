export { createDecisionCore } from './create-decision-core.ts';
export type {
  Decision,
  DecisionCore,
  DecisionCoreOptions,
  DenyStatus,
  ForwardedCertificate,
  IdentityContext,
  RateLimitOptions,
  RequestFacts,
} from './types.ts';
export { parseCertificateBundle, verifyChain } from './verify-chain.ts';
