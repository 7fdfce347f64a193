/** What the generated configurations need to know beyond the kit itself; placeholders when not given. */
export interface EdgeSettings {
  /** Absolute path of the kit directory, as the edge will read it. */
  dir: string;
  serverName: string;
  listenPort: number;
  tlsCert: string;
  tlsKey: string;
  /** The Accredit gateway (proxy mode): nginx forwards the request and the certificate to it. */
  gatewayUrl: string;
  /** The Accredit decision door (auth_request / ext_authz / the Lambda's platform). */
  decisionUrl: string;
  /** The protected API, reached directly once the decision door allowed the request. */
  upstreamUrl: string;
  /** Header that carries nginx's $ssl_client_escaped_cert to Accredit (a trusted proxy's header). */
  clientCertHeader: string;
  platformUrl: string;
  /** nginx's own client certificate and key towards Accredit (`proxy_ssl_certificate`), when given. */
  proxyCert?: string;
  proxyKey?: string;
}

/**
 * Headers a client could send to pose as a forwarded certificate. The edge is a trusted proxy: it must
 * overwrite or drop every form, or a caller's own header would be believed behind it.
 */
export const FORWARDED_CERT_HEADERS = [
  'Client-Cert',
  'Client-Cert-Chain',
  'X-Client-Cert',
  'X-Forwarded-Client-Cert',
  'X-Amzn-Mtls-Clientcert',
  'X-Amzn-Mtls-Clientcert-Leaf',
  'X-SSL-Client-Cert',
] as const;

/** The identity headers a decision door answers with (i12 decision core), forwarded upstream on allow. */
export const IDENTITY_HEADERS = [
  'x-accredit-client-id',
  'x-accredit-org-id',
  'x-accredit-scopes',
  'x-accredit-roles',
  'x-accredit-cert-x5t-s256',
  'x-accredit-token-jti',
  // Issue 15: sandbox | production.
  'x-accredit-environment',
  'x-request-id',
] as const;

export const hostOf = (url: string) => new URL(url).hostname;
