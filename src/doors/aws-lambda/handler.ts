import type { AuthorizerResult } from './authorizer-result.ts';
import { readLambdaConfig } from './config.ts';
import { lambdaCore } from './core-factory.ts';
import type { AuthorizerEvent } from './events.ts';
import { type StartedAuthorizer, startLambdaAuthorizer } from './start-authorizer.ts';

let started: Promise<StartedAuthorizer> | undefined;

/**
 * The Lambda entry point (`accredit/aws-lambda`, bundle `index.mjs`, handler `index.handler`). The first
 * invocation of an execution environment reads the configuration from its environment and takes the platform's
 * snapshot; a cold start that fails is retried by the next invocation (API Gateway answers 500 meanwhile).
 */
export async function handler(event: AuthorizerEvent, _context?: unknown): Promise<AuthorizerResult> {
  started ??= startLambdaAuthorizer(readLambdaConfig(process.env), lambdaCore).catch((err: unknown) => {
    started = undefined;
    throw err;
  });
  const { authorize } = await started;
  return authorize(event);
}
