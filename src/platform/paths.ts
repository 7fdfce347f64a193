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

export const CRL_PATH = '/pki/issuing-ca.crl';
export const CA_BUNDLE_PATH = '/pki/ca-bundle.pem';
