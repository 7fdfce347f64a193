export {
  ANONYMOUS_PRINCIPAL,
  type AuthorizerContext,
  type AuthorizerResult,
  authorizerResult,
  type IamPolicyResult,
  type PolicyResource,
  type ResponseMode,
  type SimpleResult,
  stageWildcard,
  UNAUTHORIZED,
} from './authorizer-result.ts';
export { type LambdaConfig, readLambdaConfig } from './config.ts';
export { createLambdaAuthorizer, LAMBDA_DOOR, type LambdaAuthorizer } from './create-authorizer.ts';
export {
  certificateOf,
  type EventFacts,
  httpApiFacts,
  restApiFacts,
  UnreadableEvent,
} from './event-facts.ts';
export {
  type ApiGatewayClientCert,
  type AuthorizerEvent,
  eventKind,
  type HttpApiAuthorizerEvent,
  type RestApiAuthorizerEvent,
} from './events.ts';
export { handler } from './handler.ts';
export {
  type LambdaCoreFactory,
  type LambdaCoreInputs,
  type StartedAuthorizer,
  startLambdaAuthorizer,
} from './start-authorizer.ts';
