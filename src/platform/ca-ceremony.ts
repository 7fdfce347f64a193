import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type AuthorityView,
  CertificateAuthority,
  exportRootKey,
  importRootKey,
  publishRootCrl,
  readRootKeyExport,
  revokeIssuing,
  rootCrlHoursOf,
  rotateIssuing,
  takeRootOffline,
} from '../pki/index.ts';
import { AppError } from '../shared/app-error.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { openStorage, type Storage } from '../storage/index.ts';
import { caSettingsOf } from './ca-settings.ts';
import { loadConfig } from './config.ts';
import { loadKek } from './kek.ts';
import { platformPaths } from './paths.ts';

/**
 * Root key operations run on the platform's host against its data directory (they need the KEK and the
 * database, never the network): the root key is exported to a file, taken offline, brought back, or loaded
 * for one ceremony. A running platform learns the outcome from the change feed (`ca.changed`).
 */
export interface LocalCaOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  actor?: string;
}

interface LocalCa {
  storage: Storage;
  ca: CertificateAuthority;
  meta: { actor: string; now: Date };
}

async function withLocalCa<T>(options: LocalCaOptions, body: (local: LocalCa) => Promise<T>): Promise<T> {
  const env = options.env ?? process.env;
  const config = loadConfig(options.dataDir, env);
  const kek = loadKek(options.dataDir, { create: false }, env);
  const storage = await openStorage({ url: config.database.url, schema: config.database.schema });
  try {
    const ca = await CertificateAuthority.load(storage.db, kek, caSettingsOf(config));
    const now = (options.clock ?? systemClock)();
    const result = await body({ storage, ca, meta: { actor: options.actor ?? 'operator:local', now } });
    // The bundle file follows storage even when no platform is running to rewrite it.
    await ca.reload(storage.db);
    replaceFile(platformPaths(options.dataDir).caBundle, ca.chainPem, 0o644);
    return result;
  } finally {
    await storage.close();
  }
}

function replaceFile(path: string, content: string, mode: number): void {
  const temp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(temp, content, { mode });
  renameSync(temp, path);
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new AppError('root_key_unreadable', 400, `cannot read the root key file ${path}`);
  }
}

/**
 * Writes the root key, encrypted under `passphrase`, to `out` (mode 0600; an existing file is never
 * overwritten), then reads it back to prove it decrypts. The stored key is untouched.
 */
export async function exportRootKeyToFile(
  options: LocalCaOptions & { out: string; passphrase: string },
): Promise<{ file: string; subject: string }> {
  return withLocalCa(options, async ({ ca }) => {
    const pem = exportRootKey(ca, options.passphrase);
    if (existsSync(options.out)) {
      throw new AppError('file_exists', 409, `${options.out} exists; the export never overwrites a file`);
    }
    writeFileSync(options.out, pem, { mode: 0o600, flag: 'wx' });
    readRootKeyExport(readFileSync(options.out, 'utf8'), options.passphrase);
    return { file: options.out, subject: new X509Certificate(ca.rootPem).subject.replace(/\n/g, ', ') };
  });
}

/** Removes the root key from storage once the export at `file` decrypts to it. */
export async function takeRootKeyOffline(
  options: LocalCaOptions & { file: string; passphrase: string },
): Promise<AuthorityView> {
  const pem = readKeyFile(options.file);
  return withLocalCa(options, ({ storage, ca, meta }) =>
    storage.transaction((tx) => takeRootOffline(tx, ca, { pem, passphrase: options.passphrase }, meta)),
  );
}

/** Stores the exported root key again (encrypted under the KEK): the root is online. */
export async function importRootKeyFromFile(
  options: LocalCaOptions & { file: string; passphrase: string },
): Promise<AuthorityView> {
  const pem = readKeyFile(options.file);
  return withLocalCa(options, ({ storage, ca, meta }) =>
    storage.transaction((tx) => importRootKey(tx, ca, { pem, passphrase: options.passphrase }, meta)),
  );
}

const MAX_ROOT_CRL_DAYS = 400;

export interface CeremonyOptions extends LocalCaOptions {
  rootKeyFile: string;
  passphrase: string;
  rotateIssuing?: boolean;
  /** Revoke this (non-active) issuing CA; the root CRL listing it is published. */
  revokeIssuing?: string;
  revocationReason?: string;
  publishRootCrl?: boolean;
  /** Validity of the root CRL published in this ceremony; default pki.rootCrlValidityDays. */
  rootCrlDays?: number;
}

export interface CeremonyResult {
  rotated: AuthorityView | undefined;
  revoked: (AuthorityView & { certificates_revoked: number }) | undefined;
  root_crl: { crl_number: number; next_update: string } | undefined;
}

/**
 * A root key ceremony: the exported key is decrypted in memory for this command only, checked against the
 * root certificate, used for the operations asked, in one transaction, and never written anywhere.
 */
export async function runRootCeremony(options: CeremonyOptions): Promise<CeremonyResult> {
  if (!options.rotateIssuing && !options.publishRootCrl && options.revokeIssuing === undefined) {
    throw new AppError(
      'invalid_input',
      400,
      'a ceremony needs something to do: --rotate-issuing, --revoke-issuing or --publish-root-crl',
    );
  }
  // The same bounds as pki.rootCrlValidityDays: a root CRL is re-signed at least about once a year.
  const days = options.rootCrlDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > MAX_ROOT_CRL_DAYS)) {
    throw new AppError(
      'invalid_input',
      400,
      `--root-crl-days must be an integer from 1 to ${MAX_ROOT_CRL_DAYS}`,
    );
  }
  const rootKey = readRootKeyExport(readKeyFile(options.rootKeyFile), options.passphrase);
  return withLocalCa(options, ({ storage, ca, meta }) =>
    storage.transaction(async (tx) => {
      const validityHours =
        options.rootCrlDays !== undefined ? rootCrlHoursOf(options.rootCrlDays) : undefined;
      const rotated = options.rotateIssuing ? await rotateIssuing(tx, ca, meta, { rootKey }) : undefined;
      const revoked =
        options.revokeIssuing !== undefined
          ? await revokeIssuing(
              tx,
              ca,
              options.revokeIssuing,
              options.revocationReason ?? 'keyCompromise',
              meta,
              {
                rootKey,
                ...(validityHours !== undefined ? { rootCrlValidityHours: validityHours } : {}),
              },
            )
          : undefined;
      // A revocation already published the root CRL; publish it again only when asked separately.
      const published = options.publishRootCrl
        ? await publishRootCrl(tx, ca, meta, {
            rootKey,
            ...(validityHours !== undefined ? { validityHours } : {}),
          })
        : undefined;
      return {
        rotated,
        revoked,
        root_crl: published
          ? { crl_number: published.crlNumber, next_update: published.nextUpdate.toISOString() }
          : undefined,
      };
    }),
  );
}
