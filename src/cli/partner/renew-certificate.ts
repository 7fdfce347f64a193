import { createPrivateKey, X509Certificate } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import {
  certificatesOfCms,
  createCsr,
  derToPem,
  describePublicKey,
  generateKeyPair,
  type KeyAlgorithm,
  x5tS256,
} from '../../pki/index.ts';
import { CliError } from '../cli-error.ts';
import { loadCredentials } from './credentials.ts';
import { createMtlsAgent, transportError } from './mtls-agent.ts';

export interface RenewedPartnerCertificate {
  cert: string;
  key: string;
  previous_cert: string;
  previous_key: string;
  serial: string;
  previous_serial: string;
  x5t_s256: string;
  not_before: string;
  not_after: string;
  key_description: string;
}

/** The algorithm of the current key, so a renewal keeps it unless told otherwise. */
export function algorithmOfKey(keyPem: string): KeyAlgorithm {
  const key = createPrivateKey(keyPem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ec' && curve === 'secp384r1') return 'ES384';
  if (key.asymmetricKeyType === 'rsa') return 'PS256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new CliError(
    `cannot tell the algorithm of the current key (${describePublicKey(key)}); pass --alg`,
    'bad_key',
  );
}

/** Writes a file next to its target, flushes it, then renames it over the target (atomic on one file system). */
function writeDurably(target: string, data: string, mode: number): string {
  const tmp = `${target}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}

function syncDirectory(path: string): void {
  try {
    const fd = openSync(dirname(path), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform lets a directory be opened for fsync; the renames are still atomic.
  }
}

/**
 * `accredit partner renew`: a new key (same algorithm unless told), a CSR for it, RFC 7030 simplereenroll over
 * mTLS with the current certificate, then the new pair replaces the files: each written to a temporary file,
 * flushed and renamed over the old one, the previous pair kept as `*.previous`. The new certificate is
 * checked against the new key before anything is replaced.
 */
export async function renewPartnerCertificate(opts: {
  certFile: string;
  keyFile: string;
  estUrl: string;
  ca: string | undefined;
  alg: KeyAlgorithm | undefined;
}): Promise<RenewedPartnerCertificate> {
  const credentials = loadCredentials(opts.certFile, opts.keyFile);
  const alg = opts.alg ?? algorithmOfKey(credentials.keyPem);
  const { privateKey, publicKey } = generateKeyPair(alg);
  const csrPem = await createCsr({ privateKey, publicKey });
  const csrDer = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const url = `${opts.estUrl}/.well-known/est/simplereenroll`;
  const agent = createMtlsAgent(credentials, opts.ca);
  let status: number;
  let contentType: string;
  let text: string;
  try {
    const res = await undiciFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/pkcs10', 'content-transfer-encoding': 'base64' },
      body: csrDer.toString('base64'),
      dispatcher: agent,
      signal: AbortSignal.timeout(30_000),
    });
    status = res.status;
    contentType = res.headers.get('content-type') ?? '';
    text = await res.text();
  } catch (err) {
    throw (
      transportError(err, url) ??
      new CliError(`cannot reach ${url}: ${(err as Error).message}`, 'unreachable')
    );
  } finally {
    await agent.close();
  }
  if (status !== 200) {
    // RFC 7030 §4.2.3: the error body is a human-readable text; ours starts with a stable code.
    const line = text.trim().split('\n')[0]?.slice(0, 500) ?? '';
    const code = /^([a-z_]+):/.exec(line)?.[1] ?? 'renewal_refused';
    throw new CliError(`renewal refused (HTTP ${status}): ${line || 'no reason given'}`, code);
  }
  if (!contentType.toLowerCase().startsWith('application/pkcs7-mime')) {
    throw new CliError(`unexpected EST response type ${contentType || '(none)'} from ${url}`, 'bad_response');
  }
  let cert: X509Certificate;
  try {
    const [der] = certificatesOfCms(Buffer.from(text.replace(/\s+/g, ''), 'base64'));
    if (!der) throw new Error('no certificate');
    cert = new X509Certificate(der);
  } catch {
    throw new CliError(`the EST response from ${url} holds no certificate`, 'bad_response');
  }
  if (!cert.checkPrivateKey(privateKey)) {
    throw new CliError(
      'the renewed certificate does not certify the new key; nothing was replaced',
      'key_mismatch',
    );
  }
  const certPem = derToPem('CERTIFICATE', new Uint8Array(cert.raw));
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const previousCert = `${opts.certFile}.previous`;
  const previousKey = `${opts.keyFile}.previous`;
  try {
    // Everything written and flushed before the first rename, so a crash leaves old or new files, never half.
    const staged = [
      [writeDurably(previousCert, credentials.certPem, 0o644), previousCert],
      [writeDurably(previousKey, credentials.keyPem, 0o600), previousKey],
      [writeDurably(opts.keyFile, keyPem, 0o600), opts.keyFile],
      [writeDurably(opts.certFile, certPem, 0o644), opts.certFile],
    ] as const;
    for (const [tmp, target] of staged) renameSync(tmp, target);
    syncDirectory(opts.keyFile);
    if (dirname(opts.certFile) !== dirname(opts.keyFile)) syncDirectory(opts.certFile);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(`cannot write the renewed credentials (${e.code ?? e.message})`, 'bad_file');
  }
  // Tokens cached for the old key are bound to the old certificate (RFC 8705 §3), of no use any more.
  const tokens = `${opts.keyFile}.tokens.json`;
  if (existsSync(tokens)) rmSync(tokens, { force: true });
  return {
    cert: opts.certFile,
    key: opts.keyFile,
    previous_cert: previousCert,
    previous_key: previousKey,
    serial: cert.serialNumber.toLowerCase(),
    previous_serial: new X509Certificate(credentials.certPem).serialNumber.toLowerCase(),
    x5t_s256: x5tS256(cert.raw),
    not_before: new Date(cert.validFrom).toISOString(),
    not_after: new Date(cert.validTo).toISOString(),
    key_description: describePublicKey(publicKey),
  };
}
