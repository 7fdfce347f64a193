import { AS_ROUTES } from '../../authorization-server/index.ts';
import type { PlatformConfig } from '../config.ts';
import { CA_BUNDLE_PATH } from '../paths.ts';

/** Where the catalog is published on the public listener. */
export const CATALOG_PATHS = {
  html: '/catalog',
  json: '/catalog.json',
  openapi: '/catalog/openapi.json',
} as const;

/**
 * What the published catalog says besides the catalog itself: where a partner gets a token, calls the API and
 * finds the trust anchors, and how it asks for access. Only public URLs and the operator's own instructions.
 */
export interface PartnerCatalogContext {
  /** The API's name, shown as the page and OpenAPI title. */
  title: string;
  /** The authorization server's issuer (the public listener). */
  issuer: string;
  /** RFC 8705 §5: the mTLS alias of the token endpoint, the only one a client certificate reaches. */
  tokenEndpoint: string;
  gatewayUrl: string;
  /** The platform CA bundle: trust anchors for the listeners and the issuer of partner certificates. */
  caBundleUrl: string;
  /** The operator's instructions for asking for access: free text, an https: URL or a mailto: address. */
  accessRequest: string | undefined;
}

export function partnerCatalogContext(config: PlatformConfig): PartnerCatalogContext {
  return {
    title: config.catalog.title,
    issuer: config.publicUrl,
    tokenEndpoint: `${config.mtlsUrl}${AS_ROUTES.token}`,
    gatewayUrl: config.gatewayUrl,
    caBundleUrl: `${config.publicUrl}${CA_BUNDLE_PATH}`,
    accessRequest: config.catalog.accessRequest,
  };
}
