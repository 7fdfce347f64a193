import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { recordAuditEvent } from '../audit/index.ts';
import { seedCatalog } from '../directory/index.ts';
import {
  CertificateAuthority,
  certificateStore,
  createIssuingCa,
  createRootCa,
  type KeyAlgorithm,
  skiHexOfPem,
  storeCertificateAuthorities,
} from '../pki/index.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { openStorage } from '../storage/index.ts';
import { caCertUrlOf, caSettingsOf, ocspUrlOf, rootCrlUrlOf } from './ca-settings.ts';
import { initialConfigFile, loadConfig } from './config.ts';
import { loadKek } from './kek.ts';
import { createOperatorToken } from './operator-tokens.ts';
import { platformPaths } from './paths.ts';
import { ensureServerTls } from './server-tls.ts';
import { createSigningKey } from './signing-keys.ts';

export interface InitOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  onProgress?: (step: string) => void;
}

export interface InitResult {
  created: boolean;
  dataDir: string;
  engine: 'sqlite' | 'postgres';
  caBundle: string;
  operatorTokenFile: string | undefined;
  rootCaSubject: string;
  issuingCaSubject: string;
}

const ROOT_DAYS = 20 * 365;
const ISSUING_DAYS = 10 * 365;

/**
 * The directory signs software statements with ES256 or PS256 only (what registration accepts, RFC 7591 §2.3
 * leaving the choice to us): PS256 when that is the configured algorithm, ES256 otherwise (ES384, EdDSA).
 */
export const softwareStatementKeyAlgorithm = (configured: KeyAlgorithm): 'ES256' | 'PS256' =>
  configured === 'PS256' ? 'PS256' : 'ES256';

/**
 * Creates the data directory, the key-encryption key, the database, the root and issuing CAs, the platform
 * signing keys, the seed catalog, an operator token and the first CRL. The database part is one transaction:
 * an interrupted init leaves nothing behind but files it will reuse. Running it again changes nothing.
 */
export async function initPlatform(options: InitOptions): Promise<InitResult> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const progress = options.onProgress ?? (() => {});
  const paths = platformPaths(options.dataDir);

  progress(`data directory ${options.dataDir}`);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  let config = loadConfig(options.dataDir, env);
  if (!existsSync(paths.config)) {
    writeFileSync(paths.config, `${JSON.stringify(initialConfigFile(config), null, 2)}\n`, { mode: 0o600 });
    config = loadConfig(options.dataDir, env);
  }
  const kek = loadKek(options.dataDir, { create: true }, env);

  progress(`database ${config.database.url.startsWith('postgres') ? 'PostgreSQL' : config.database.url}`);
  const storage = await openStorage({ url: config.database.url, schema: config.database.schema });
  try {
    const caSettings = caSettingsOf(config);
    const existing = await certificateStore(storage.db).hasAuthorities();
    let created = false;
    let token: string | undefined;
    if (!existing) {
      const now = clock();
      progress(`root CA (${config.pki.keyAlgorithm})`);
      const root = await createRootCa({
        commonName: 'Accredit Root CA',
        organization: 'Accredit',
        keyAlg: config.pki.keyAlgorithm,
        validityDays: ROOT_DAYS,
        now,
      });
      progress('issuing CA');
      const issuing = await createIssuingCa({
        parent: root,
        commonName: 'Accredit Issuing CA 1',
        organization: 'Accredit',
        keyAlg: config.pki.keyAlgorithm,
        validityDays: ISSUING_DAYS,
        now,
        // Relying parties that check every level of the chain (nginx ssl_crl) find the root's CRL here.
        crlUrl: rootCrlUrlOf(config),
        // RFC 5280 §4.2.2.1: the root's OCSP responder answers for this certificate; caIssuers is the root.
        aia: { ocspUrl: ocspUrlOf(config), caIssuersUrl: caCertUrlOf(config)(skiHexOfPem(root.certPem)) },
      });
      progress('signing keys');
      const keys = [
        await createSigningKey('access_token', config.pki.keyAlgorithm, kek, now),
        await createSigningKey('federation', config.pki.keyAlgorithm, kek, now),
        await createSigningKey(
          'software_statement',
          softwareStatementKeyAlgorithm(config.pki.keyAlgorithm),
          kek,
          now,
        ),
      ];
      token = await storage.transaction(async (tx) => {
        await storeCertificateAuthorities(tx, { root, issuing }, kek, now);
        for (const key of keys) await tx.db.insertInto('signing_keys').values(key).execute();
        await seedCatalog(tx);
        const meta = { actor: 'system:init', now };
        const operatorToken = await createOperatorToken(tx, 'initial', meta);
        const ca = await CertificateAuthority.load(tx.db, kek, caSettings);
        await ca.publishCrl(tx, now, 'root');
        await ca.publishCrl(tx, now);
        await recordAuditEvent(
          tx,
          {
            actor: meta.actor,
            action: 'platform.init',
            targetType: 'platform',
            targetId: 'accredit',
            details: {
              root_ca: root.subject,
              issuing_ca: issuing.subject,
              signing_keys: keys.map((k) => k.kid),
            },
          },
          now,
        );
        return operatorToken;
      });
      created = true;
    }

    const ca = await CertificateAuthority.load(storage.db, kek, caSettings);
    progress('server certificate');
    await ensureServerTls(config, ca, kek, clock());
    if (token) writeFileSync(paths.operatorToken, `${token}\n`, { mode: 0o600 });
    const subjects = await certificateStore(storage.db).authoritySubjects();
    return {
      created,
      dataDir: options.dataDir,
      engine: storage.engine,
      caBundle: paths.caBundle,
      operatorTokenFile: existsSync(paths.operatorToken) ? paths.operatorToken : undefined,
      rootCaSubject: subjects.root ?? '',
      issuingCaSubject: subjects.issuing ?? '',
    };
  } finally {
    await storage.close();
  }
}
