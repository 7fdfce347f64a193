import { Agent, request } from 'undici';
import { x509 } from '../../pki/x509.ts';
import {
  CA_BUNDLE_PATH,
  CLIENT_CA_BUNDLE_PATH,
  CRL_CHAIN_PATH,
  CRL_PATH,
  EXTERNAL_CRLS_PATH,
  ROOT_CRL_PATH,
} from '../../platform/paths.ts';
import { CliError } from '../cli-error.ts';

/** Where an edge kit comes from: the platform's public listener, reached over TLS trusting `ca` only. */
export interface EdgeSource {
  platformUrl: string;
  /** PEM bundle the platform's TLS certificate must chain to. */
  ca: string;
}

export interface FetchedChain {
  bundlePem: string;
  /** DER, root first. */
  crls: Buffer[];
  /** Organisations' registered CAs (bring your own CA), PEM; empty before any (or from an older platform). */
  externalCaPems: string[];
  /** Their last verified CRLs, PEM, concatenated. */
  externalCrlsPem: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const MAX_BYTES = 8 * 1024 * 1024;
const TIMEOUT_MS = 15_000;

/** The public, unauthenticated PKI documents; nothing here needs a credential or the database. */
export async function fetchChain(source: EdgeSource): Promise<FetchedChain> {
  const dispatcher = new Agent({
    connect: { ca: source.ca, rejectUnauthorized: true },
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
  });
  const get = async (path: string, optional = false): Promise<Buffer | undefined> => {
    const url = new URL(path, source.platformUrl);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { dispatcher, headers: { 'cache-control': 'no-cache' } });
    } catch (err) {
      const cause = (err as { code?: string }).code ?? (err as Error).message;
      throw new CliError(`cannot fetch ${url} (${cause})`, 'unreachable');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_BYTES) {
        res.body.destroy();
        throw new CliError(`${url} is larger than ${MAX_BYTES} bytes`, 'bad_response');
      }
      chunks.push(chunk as Buffer);
    }
    if (optional && res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw new CliError(`${url} answered ${res.statusCode}`, 'bad_response');
    return Buffer.concat(chunks);
  };
  try {
    const [bundle, chain, clientBundle, externalCrls] = await Promise.all([
      get(CA_BUNDLE_PATH),
      get(CRL_CHAIN_PATH, true),
      get(CLIENT_CA_BUNDLE_PATH, true),
      get(EXTERNAL_CRLS_PATH, true),
    ]);
    const bundlePem = (bundle as Buffer).toString('utf8');
    // The client bundle is the platform's, then each registered CA: keep only what the platform bundle lacks.
    const own = new Set(bundlePem.match(PEM_CERT) ?? []);
    const externalCaPems = (clientBundle?.toString('utf8').match(PEM_CERT) ?? [])
      .filter((pem) => !own.has(pem))
      .map(
        (pem) => `${pem}
`,
      );
    const externalCrlsPem = externalCrls?.toString('utf8') ?? '';
    // Every CA's CRL in one document (several issuing CA generations); a platform before it has two.
    if (chain) {
      const crls = x509.PemConverter.decodeWithHeaders(chain.toString('utf8'))
        .filter((b) => b.type === 'X509 CRL')
        .map((b) => Buffer.from(b.rawData));
      return { bundlePem, crls, externalCaPems, externalCrlsPem };
    }
    const [root, issuing] = await Promise.all([get(ROOT_CRL_PATH), get(CRL_PATH)]);
    return { bundlePem, crls: [root as Buffer, issuing as Buffer], externalCaPems, externalCrlsPem };
  } finally {
    await dispatcher.close();
  }
}
