import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { Agent, request } from 'undici';
import { CertificateAuthority } from '../pki/index.ts';
import { systemClock } from '../shared/clock.ts';
import { openStorage } from '../storage/index.ts';
import { caSettingsOf } from './ca-settings.ts';
import { CONFIG_FILE, ConfigError, loadConfig } from './config.ts';
import { KEK_FILE, loadKek } from './kek.ts';
import { JOIN_BUNDLE_FORMAT, JOIN_PATH, type JoinBundle, normaliseFingerprint } from './node-join.ts';
import { ensureServerTls } from './server-tls.ts';

export class JoinError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface JoinOptions {
  /** The public URL of any node (or the balancer in front of them). */
  url: string;
  token: string;
  /** SHA-256 of the platform's root CA certificate, as `accredit node join-token` printed it. */
  caSha256: string;
  dataDir: string;
  nodeName?: string;
  /** Extra host names of this node for its server certificate (besides the shared ones). */
  hostnames?: string[];
  /** This node's way to the shared database when it differs from the first node's. */
  databaseUrl?: string;
  onProgress?: (step: string) => void;
  timeoutMs?: number;
}

export interface JoinResult {
  dataDir: string;
  joinId: string;
  publicUrl: string;
  database: string;
  kekFile: string;
  configFile: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The certificates the server presents, before anything is sent: the handshake is not verified (the CA is not
 * known yet), only read; the caller finds the pinned CA among them. No application byte is written.
 */
function presentedCertificates(url: URL, timeoutMs: number): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new JoinError('unreachable', `${url.origin}: no TLS handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new JoinError('unreachable', `${url.origin}: ${err.message}`));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const out: X509Certificate[] = [];
      const seen = new Set<string>();
      let cert: PeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        out.push(new X509Certificate(cert.raw));
        cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      socket.destroy();
      resolve(out);
    });
  });
}

/**
 * `accredit join`: pins the platform CA by fingerprint, redeems the join token over TLS verified against that
 * CA alone, and writes a data directory (KEK 0600, accredit.json with the shared settings). It then checks the
 * database is reachable and the KEK opens the CA, and issues this node's own server certificate.
 */
export async function joinNode(options: JoinOptions): Promise<JoinResult> {
  const progress = options.onProgress ?? (() => {});
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pin = normaliseFingerprint(options.caSha256);
  if (!HEX64.test(pin)) {
    throw new JoinError('invalid_input', '--ca-sha256: expected the 64 hex digits `node join-token` printed');
  }
  if (!URL.canParse(options.url) || new URL(options.url).protocol !== 'https:') {
    throw new JoinError('invalid_input', `${options.url}: expected the https URL of a platform node`);
  }
  const url = new URL(options.url);
  if (existsSync(join(options.dataDir, KEK_FILE)) || existsSync(join(options.dataDir, CONFIG_FILE))) {
    throw new JoinError(
      'already_initialised',
      `${options.dataDir} already holds a platform (kek or ${CONFIG_FILE}); join into an empty directory`,
    );
  }

  progress(`pinning the platform CA of ${url.origin}`);
  const presented = await presentedCertificates(url, timeoutMs);
  const anchor = presented.find((c) => createHash('sha256').update(c.raw).digest('hex') === pin);
  if (!anchor) {
    throw new JoinError(
      'ca_mismatch',
      `${url.origin} does not present a CA with SHA-256 ${pin}; nothing was sent (check --ca-sha256 and the URL)`,
    );
  }

  progress('redeeming the join token');
  const agent = new Agent({ connect: { ca: anchor.toString(), timeout: timeoutMs } });
  let bundle: JoinBundle;
  try {
    const res = await request(new URL(JOIN_PATH, url), {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(options.nodeName ? { node_name: options.nodeName } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      let detail = text.slice(0, 200);
      try {
        const p = JSON.parse(text) as { code?: string; detail?: string };
        detail = `${p.code ?? res.statusCode}: ${p.detail ?? ''}`;
      } catch {}
      throw new JoinError('join_refused', `${url.origin} refused the join (${res.statusCode} ${detail})`);
    }
    bundle = JSON.parse(text) as JoinBundle;
  } catch (err) {
    if (err instanceof JoinError) throw err;
    throw new JoinError('unreachable', `${url.origin}: ${(err as Error).message}`);
  } finally {
    await agent.close();
  }
  if (
    bundle.format !== JOIN_BUNDLE_FORMAT ||
    typeof bundle.kek !== 'string' ||
    bundle.kek.length < 32 ||
    typeof bundle.config !== 'object' ||
    bundle.config === null ||
    normaliseFingerprint(bundle.ca_sha256 ?? '') !== pin
  ) {
    throw new JoinError('invalid_bundle', `${url.origin} answered something that is not a join bundle`);
  }

  const config = structuredClone(bundle.config) as Record<string, unknown> & {
    hostnames?: string[];
    database?: { url?: string; schema?: string };
  };
  if (options.hostnames?.length) {
    config.hostnames = [...new Set([...(config.hostnames ?? []), ...options.hostnames])];
  }
  if (options.databaseUrl) config.database = { ...config.database, url: options.databaseUrl };

  progress(`writing ${options.dataDir}`);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  if (readdirSync(options.dataDir).some((f) => f === KEK_FILE || f === CONFIG_FILE)) {
    throw new JoinError('already_initialised', `${options.dataDir} was initialised meanwhile`);
  }
  const kekFile = join(options.dataDir, KEK_FILE);
  const configFile = join(options.dataDir, CONFIG_FILE);
  writeFileSync(kekFile, `${bundle.kek}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });

  // The same checks `serve` makes, now, so a wrong database URL is found at join rather than at start. If
  // they fail, what was written is removed: the directory is as before, ready for another token.
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(options.dataDir, { ...process.env, ACCREDIT_KEK: '' });
    if (!loaded.database.url.startsWith('postgres')) {
      throw new ConfigError('the joined platform does not name a PostgreSQL database');
    }
    const kek = loadKek(options.dataDir, { create: false }, { ...process.env, ACCREDIT_KEK: '' });
    progress('checking the shared database and the key-encryption key');
    const storage = await openStorage({ url: loaded.database.url, schema: loaded.database.schema });
    try {
      const ca = await CertificateAuthority.load(storage.db, kek, caSettingsOf(loaded));
      progress('this node’s server certificate');
      await ensureServerTls(loaded, ca, kek, systemClock());
    } finally {
      await storage.close();
    }
  } catch (err) {
    rmSync(kekFile, { force: true });
    rmSync(configFile, { force: true });
    rmSync(join(options.dataDir, 'tls'), { recursive: true, force: true });
    throw new JoinError(
      'join_incomplete',
      `joined, but this node cannot use the platform (${(err as Error).message}); nothing was kept — fix it and join with a new token`,
    );
  }
  return {
    dataDir: options.dataDir,
    joinId: bundle.join_id,
    publicUrl: loaded.publicUrl,
    database: 'postgres',
    kekFile,
    configFile,
  };
}
