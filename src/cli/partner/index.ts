// Token and call only: keygen (generate-partner-key.ts) brings the X.509 stack and is loaded on its own.
export {
  callGateway,
  type GatewayResponse,
  parseHeaders,
  parseMethod,
  readJsonData,
  targetUrl,
} from './call-gateway.ts';
export { loadCredentials, type PartnerCredentials } from './credentials.ts';
export { resolveCa, resolveEstUrl, resolveGateway, resolveIssuer } from './endpoints.ts';
export { createMtlsAgent } from './mtls-agent.ts';
export { clientIdFor, obtainToken } from './obtain-token.ts';
export { requestToken, type TokenResponse } from './request-token.ts';
export { SavedAccessTokens } from './saved-access-tokens.ts';
