export {
  answerAfterEnforcement,
  ENFORCEMENT_WAIT_MS,
  registerAnswerAfterEnforcement,
} from './answer-after-enforcement.ts';
export { registerDecisionPushRoute } from './decisions-push-route.ts';
export {
  ENFORCEMENT_CREDENTIAL_PAGE_KEY_LENGTH,
  type EnforcementCredentialView,
  findEnforcementCredential,
  issueEnforcementCredential,
  listEnforcementCredentialsPage,
  revokeEnforcementCredential,
} from './enforcement-credential-store.ts';
export { createFeedHub, type FeedHub, type FeedHubOptions } from './feed-hub.ts';
export { registerFeedRoute } from './feed-route.ts';
export { createLivenessState } from './local-liveness.ts';
export { registerPollRoute } from './poll-route.ts';
export { takeEnforcementSnapshot } from './take-snapshot.ts';
