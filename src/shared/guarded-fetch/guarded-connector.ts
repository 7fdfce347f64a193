import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { type AddressPolicy, assertAddressAllowed } from './address-policy.ts';
import { FetchError } from './fetch-error.ts';

/** Resolves a host name to its addresses; injectable so tests can make a name resolve anywhere. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

export const resolveWithSystemDns: ResolveHost = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

export interface GuardedConnectorOptions extends AddressPolicy {
  connectTimeoutMs: number;
  /** PEM CA bundle to trust instead of the system roots. */
  ca?: string | string[] | undefined;
  resolveHost: ResolveHost;
  /** Also dial `http:` origins (signed objects only: CRLs, OCSP). */
  allowPlainHttp?: boolean;
}

/** Rejects with `connect_timeout` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FetchError('connect_timeout', `resolving ${host} timed out`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function pickAddress(hostname: string, options: GuardedConnectorOptions): Promise<string> {
  if (isIP(hostname) !== 0) {
    assertAddressAllowed(hostname, options, hostname);
    return hostname;
  }
  let addresses: string[];
  try {
    addresses = await withTimeout(options.resolveHost(hostname), options.connectTimeoutMs, hostname);
  } catch (err) {
    if (err instanceof FetchError) throw err;
    throw new FetchError('dns_failure', `${hostname} could not be resolved`, { cause: err });
  }
  if (addresses.length === 0) throw new FetchError('dns_failure', `${hostname} has no address`);
  let refusal: unknown;
  for (const address of addresses) {
    try {
      assertAddressAllowed(address, options, hostname);
      return address;
    } catch (err) {
      refusal ??= err;
    }
  }
  throw refusal;
}

/**
 * An undici connector that resolves the host itself, checks the address it is about to dial against the
 * policy, and then dials that exact address (TLS still verifies the certificate against the host name). The
 * check therefore holds at connect time: DNS rebinding cannot swap in an internal address afterwards.
 */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const connect = buildConnector({
    timeout: options.connectTimeoutMs,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  return (opts, callback) => {
    if (opts.protocol !== 'https:' && !(options.allowPlainHttp === true && opts.protocol === 'http:')) {
      callback(new FetchError('https_required', 'only https connections are made'), null);
      return;
    }
    pickAddress(opts.hostname, options).then(
      (address) => {
        // SNI and certificate identity come from the name in the URL, never from the dialled address.
        const servername = opts.servername ?? (isIP(opts.hostname) === 0 ? opts.hostname : undefined);
        connect(
          { ...opts, hostname: address, ...(servername === undefined ? {} : { servername }) },
          callback,
        );
      },
      (err: unknown) => callback(err as Error, null),
    );
  };
}
