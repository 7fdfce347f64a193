export {
  bindsToDpopKey,
  createDpopProofGuard,
  DPOP_PROOF_MAX_AGE_SECONDS,
  type DpopProofGuardOptions,
  deriveDpopNonceSecret,
  withDpopBinding,
} from './dpop-proof-guard.ts';
