export { ALB_CHAIN_HEADER, ALB_LEAF_HEADER, parseAwsAlb } from './aws-alb.ts';
export {
  certificateFromProxyHeaders,
  forwardedCertificateOf,
  type ProxyHeaderOutcome,
} from './certificate-from-proxy-headers.ts';
export { parseEnvoyXfcc, splitXfcc, XFCC_HEADER } from './envoy-xfcc.ts';
export { MAX_CHAIN_CERTIFICATES, MAX_HEADER_BYTES } from './limits.ts';
export { NGINX_DEFAULT_HEADER, parseNginx } from './nginx.ts';
export { parseRfc9440 } from './rfc9440.ts';
export {
  compileProxyTrust,
  legacyProxyEntries,
  normaliseAddress,
  type ProxyConnection,
  type ProxyEntry,
  type ProxyTrust,
  proxyEntryProblem,
  type TrustedProxy,
  thumbprintBytes,
  trustedProxyOf,
} from './trusted-proxies.ts';
export {
  isRefusal,
  type ParseResult,
  PROXY_FORMS,
  type ProxiedCertificate,
  type ProxyForm,
  type Refusal,
} from './types.ts';
export { chainsToAnchors } from './verify-chain.ts';
