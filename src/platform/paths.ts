import { join } from 'node:path';

/** Files under the data directory; the database itself lives here too unless a postgres:// URL is configured. */
export function platformPaths(dataDir: string) {
  return {
    config: join(dataDir, 'accredit.json'),
    operatorToken: join(dataDir, 'operator-token'),
    caBundle: join(dataDir, 'ca', 'bundle.pem'),
    rootCa: join(dataDir, 'ca', 'root-ca.pem'),
    serverCert: join(dataDir, 'tls', 'server.pem'),
    serverKey: join(dataDir, 'tls', 'server.key.pem'),
  };
}

/** The issuing CA's CRL (partner certificates); every partner certificate's CRL distribution point. */
export const CRL_PATH = '/pki/issuing-ca.crl';
/** The root's CRL (issuing CA certificates); the issuing CA certificate's CRL distribution point. */
export const ROOT_CRL_PATH = '/pki/root-ca.crl';
export const CA_BUNDLE_PATH = '/pki/ca-bundle.pem';
/** The OCSP responder (RFC 6960) for every platform CA; AIA id-ad-ocsp of every certificate they issue. */
export const OCSP_PATH = '/pki/ocsp';
/** CA certificates, DER, by subject key identifier (`/pki/ca/<hex>.cer`): AIA id-ad-caIssuers targets. */
export const CA_CERT_DIR = '/pki/ca';
/** The platform's CA bundle plus every organisation's registered CA: what an edge accepts client certificates from. */
export const CLIENT_CA_BUNDLE_PATH = '/pki/client-ca-bundle.pem';
/** The last verified CRL of each registered external CA, PEM, concatenated. */
export const EXTERNAL_CRLS_PATH = '/pki/external-ca-crls.pem';
/** The CRL of an issuing CA generation after the first (its id in the path): its certificates' CRL DP. */
/** The latest CRL of the root and of every trusted issuing CA, PEM, concatenated (what edges install). */
export const CRL_CHAIN_PATH = '/pki/crl-chain.pem';
export const ISSUING_CRL_ROUTE = '/pki/issuing/:file';
export const issuingCrlPath = (caId: string) => `/pki/issuing/${caId}.crl`;
