export type { PolicyResult, RegisteredClient } from './draft.ts';
export { evaluateRegistrationPolicy } from './evaluate-registration-policy.ts';
