import type { KoaContextWithOIDC } from 'oidc-provider';
import type { PresentedCertificate } from '../client-certificate.ts';
import type { IssuedCertificateState } from './look-up-issued-certificate.ts';

/** The client certificate of the request, resolved once before oidc-provider's synchronous hooks read it. */
export interface CertificateState {
  presented: PresentedCertificate | undefined;
  /** The platform's record of the presented certificate, when it issued it. */
  issued: IssuedCertificateState | undefined;
  /** The organisation's registered CA that issued it, when one did and the certificate passed its checks. */
  external?: { caId: string; orgId: string } | undefined;
}

/** The client as the certificate rules see it: oidc-provider's client with Accredit's extra metadata. */
export interface CertificateClient {
  clientId: string;
  tokenEndpointAuthMethod?: string | undefined;
  org_id?: unknown;
  registration_type?: unknown;
  certificate_apps?: unknown;
  /** The organisation's registered CA the client is matched through (bring your own CA). */
  tls_client_auth_ca_id?: unknown;
}

export function certificateStateOf(ctx: { state: unknown }): CertificateState | undefined {
  return (ctx.state as { cert?: CertificateState }).cert;
}

export function setCertificateState(ctx: { state: unknown }, state: CertificateState): void {
  (ctx.state as { cert?: CertificateState }).cert = state;
}

/** oidc-provider's client of the request, typed with the extra metadata Accredit registers for it. */
export function certificateClientOf(ctx: KoaContextWithOIDC): CertificateClient | undefined {
  return ctx.oidc.client as CertificateClient | undefined;
}
