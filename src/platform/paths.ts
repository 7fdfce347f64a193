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
/** The CRL of an issuing CA generation after the first (its id in the path): its certificates' CRL DP. */
/** The latest CRL of the root and of every trusted issuing CA, PEM, concatenated (what edges install). */
export const CRL_CHAIN_PATH = '/pki/crl-chain.pem';
export const ISSUING_CRL_ROUTE = '/pki/issuing/:file';
export const issuingCrlPath = (caId: string) => `/pki/issuing/${caId}.crl`;
