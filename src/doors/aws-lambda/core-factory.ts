import type { LambdaCoreFactory } from './start-authorizer.ts';

/** The decision core over the polled state (src/gateway/decision, h/core): wired when it lands. */
export const lambdaCore: LambdaCoreFactory = async () => {
  throw new Error('the decision core is not available in this build');
};
