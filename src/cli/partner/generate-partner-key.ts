import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createCsr,
  describePublicKey,
  generateKeyPair,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  validateCsr,
} from '../../pki/index.ts';
import { CliError } from '../cli-error.ts';

export interface GeneratedPartnerKey {
  dir: string;
  key: string;
  csr: string;
  algorithm: KeyAlgorithm;
  key_description: string;
}

export function parseKeyAlgorithm(value: string): KeyAlgorithm {
  const alg = KEY_ALGORITHMS.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!alg)
    throw new CliError(`--alg must be one of ${KEY_ALGORITHMS.join(', ')}, got ${value}`, 'bad_algorithm');
  return alg;
}

/**
 * The partner's side of enrolment: a fresh key pair in DIR/client.key (unencrypted PKCS#8, 0600, for
 * curl and the partner commands) and a PKCS#10 request for it in DIR/client.csr. The subject is a
 * neutral label; the platform names the certificate from the directory.
 */
export async function generatePartnerKey(opts: {
  out: string;
  alg: KeyAlgorithm;
  force: boolean;
}): Promise<GeneratedPartnerKey> {
  const dir = resolve(opts.out);
  const keyFile = join(dir, 'client.key');
  const csrFile = join(dir, 'client.csr');
  if (existsSync(keyFile) && !opts.force) {
    throw new CliError(
      `${keyFile} already exists; pass --force to replace it (its certificate stops working)`,
      'exists',
    );
  }
  const { privateKey, publicKey } = generateKeyPair(opts.alg);
  const csr = await createCsr({ privateKey, publicKey });
  // Our own CA's rules, checked here so a request that would be refused is never written.
  const validation = await validateCsr(csr);
  if (!validation.ok) {
    throw new CliError(
      `generated CSR fails validation: ${validation.findings.map((f) => f.message).join('; ')}`,
      'bad_csr',
    );
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(keyFile, keyPem, { mode: 0o600, flag: opts.force ? 'w' : 'wx' });
    // An existing file keeps its mode on overwrite.
    chmodSync(keyFile, 0o600);
    // Tokens cached for the replaced key are bound to its certificate and of no further use.
    rmSync(`${keyFile}.tokens.json`, { force: true });
    writeFileSync(csrFile, csr, { mode: 0o644 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST')
      throw new CliError(`${keyFile} already exists; pass --force to replace it`, 'exists');
    throw new CliError(`cannot write to ${dir} (${e.code ?? e.message})`, 'bad_file');
  }
  return {
    dir,
    key: keyFile,
    csr: csrFile,
    algorithm: opts.alg,
    key_description: describePublicKey(publicKey),
  };
}
