import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import {
  type CertificateAuthority,
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
} from '../pki/index.ts';
import type { PlatformConfig } from './config.ts';
import { platformPaths } from './paths.ts';

const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface ServerTls {
  cert: string;
  key: string;
  passphrase: string;
  ca: string;
}

function wantedNames(config: PlatformConfig) {
  const names = [...new Set([...config.hostnames, 'localhost'])];
  const ips = [
    ...new Set([
      '127.0.0.1',
      '::1',
      ...(isIP(config.host) && config.host !== '0.0.0.0' && config.host !== '::' ? [config.host] : []),
    ]),
  ];
  return { dnsNames: names.filter((n) => !isIP(n)), ipAddresses: [...ips, ...names.filter((n) => isIP(n))] };
}

function stillGood(certPem: string, config: PlatformConfig, now: Date, ca: CertificateAuthority): boolean {
  try {
    const cert = new X509Certificate(certPem);
    // Issued by the active issuing CA: after a rotation the listeners move to the new one.
    const issuing = new X509Certificate(ca.issuingPem);
    if (!cert.checkIssued(issuing) || !cert.verify(issuing.publicKey)) return false;
    if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
    const san = cert.subjectAltName ?? '';
    return wantedNames(config).dnsNames.every((n) => san.includes(`DNS:${n}`));
  } catch {
    return false;
  }
}

/**
 * The listeners' certificate and encrypted key under DIR/tls, issued by the platform CA. Re-issued when
 * missing, within 30 days of expiry, when the configured host names changed, or when another issuing CA
 * is the active one.
 */
export async function ensureServerTls(
  config: PlatformConfig,
  ca: CertificateAuthority,
  kek: string,
  now: Date,
): Promise<ServerTls> {
  const paths = platformPaths(config.dataDir);
  mkdirSync(dirname(paths.caBundle), { recursive: true, mode: 0o700 });
  writeFileSync(paths.caBundle, ca.chainPem);
  if (existsSync(paths.serverCert) && existsSync(paths.serverKey)) {
    const cert = readFileSync(paths.serverCert, 'utf8');
    const key = readFileSync(paths.serverKey, 'utf8');
    decryptPrivateKey(key, kek);
    if (stillGood(cert, config, now, ca)) return { cert, key, passphrase: kek, ca: ca.chainPem };
  }
  const { privateKey, publicKey } = generateKeyPair(config.pki.keyAlgorithm);
  const issued = await ca.issueServerCertificate({ publicKey, ...wantedNames(config), now });
  const cert = `${issued.certPem.trim()}\n${ca.chainPem}`;
  const key = encryptPrivateKey(privateKey, kek);
  mkdirSync(dirname(paths.serverCert), { recursive: true, mode: 0o700 });
  writeFileSync(paths.serverKey, key, { mode: 0o600 });
  writeFileSync(paths.serverCert, cert);
  return { cert, key, passphrase: kek, ca: ca.chainPem };
}
