import { createDecisionCore } from '../../gateway/decision/index.ts';
import type { LambdaCoreFactory } from './start-authorizer.ts';

/**
 * The gateway's decision core over the polled state. The JWKS is fetched at cold start, inside the first
 * invocation: a frozen environment runs nothing in the background, so warming later would cost a request.
 */
export const lambdaCore: LambdaCoreFactory = async (inputs) => {
  const core = await createDecisionCore({
    liveness: inputs.liveness,
    staleness: inputs.staleness,
    routes: inputs.routes,
    trustedCa: inputs.ca,
    issuer: inputs.issuer,
    audience: inputs.audience,
    jwksUri: inputs.jwksUri,
    jwksCa: inputs.ca,
    // An API Gateway authorizer cannot add a DPoP-Nonce header to the client's answer: no nonces (RFC 9449
    // §9 is optional); proofs are fresh by their iat window and one-use per warm instance (see docs/dpop.md).
    dpop: { requireNonce: false },
    logger: inputs.logger,
    rateLimit: inputs.rateLimit,
  });
  await core.warm();
  return core;
};
