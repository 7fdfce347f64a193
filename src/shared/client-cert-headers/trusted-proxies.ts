import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { NGINX_DEFAULT_HEADER } from './nginx.ts';
import { PROXY_FORMS, type ProxyForm } from './types.ts';

/**
 * One TLS-terminating proxy in front of a listener, as configured (`proxies` in accredit.json): where it
 * connects from, which header form it forwards the client certificate in and, optionally, the client
 * certificate it must itself present on the proxy → platform hop.
 */
export interface ProxyEntry {
  /** An IPv4 or IPv6 address, or a CIDR block (`10.0.0.0/24`); IPv4-mapped IPv6 is read as IPv4. */
  address: string;
  form: ProxyForm;
  /** nginx only: the header carrying `$ssl_client_escaped_cert`; default `X-Client-Cert`. */
  header?: string;
  /** SHA-256 thumbprints of the proxy's own certificate: base64url (x5t#S256) or hex, colons allowed. */
  clientCertSha256?: string[];
  /** A PEM file of the CA(s) that issue the proxy's certificate; with `clientCertSubject`. */
  clientCertCaFile?: string;
  /** The proxy certificate's subject, RDNs as Node prints them joined by ", " (e.g. `O=Acme, CN=edge`). */
  clientCertSubject?: string;
}

/** The proxy a connection comes from, once its address (and certificate, where required) matched. */
export interface TrustedProxy {
  form: ProxyForm;
  /** Lower-case header name, nginx form only. */
  header: string | undefined;
  /** Whether the proxy proved itself with a client certificate: then the TLS peer certificate is the proxy's. */
  authenticatedByCertificate: boolean;
}

interface CompiledProxy extends TrustedProxy {
  addresses: BlockList;
  thumbprints: Buffer[];
  cas: X509Certificate[];
  subject: string | undefined;
}

export interface ProxyTrust {
  readonly proxies: readonly CompiledProxy[];
}

/** What the trust needs of a connection: a net.Socket or TLSSocket. */
export interface ProxyConnection {
  remoteAddress?: string | undefined;
  getPeerX509Certificate?: () => X509Certificate | undefined;
}

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** An address as compared: IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) as plain IPv4. */
export function normaliseAddress(address: string): string {
  return MAPPED_IPV4.exec(address)?.[1] ?? address;
}

/** A base64url or hex (colons allowed) SHA-256 thumbprint as bytes; undefined when it is neither. */
export function thumbprintBytes(value: string): Buffer | undefined {
  const hex = value.replaceAll(':', '');
  if (/^[0-9A-Fa-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
  if (/^[A-Za-z0-9_-]{43}$/.test(value)) return Buffer.from(value, 'base64url');
  return undefined;
}

/** Why a configured entry is unusable, or undefined; config loading reports it with the key's name. */
export function proxyEntryProblem(entry: ProxyEntry): string | undefined {
  const [ip, bits, extra] = entry.address.split('/');
  const host = normaliseAddress(ip ?? '');
  const family = isIP(host);
  if (family === 0 || extra !== undefined) return 'address: expected an IP address or a CIDR block';
  if (bits !== undefined) {
    const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
    if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) return 'address: bad CIDR prefix length';
  }
  if (!PROXY_FORMS.includes(entry.form)) return `form: expected one of ${PROXY_FORMS.join(', ')}`;
  if (entry.header !== undefined) {
    if (entry.form !== 'nginx') return 'header: only for form nginx';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(entry.header)) return 'header: not an HTTP field name';
  }
  for (const t of entry.clientCertSha256 ?? []) {
    if (!thumbprintBytes(t)) return 'clientCertSha256: expected SHA-256 thumbprints (base64url or hex)';
  }
  if ((entry.clientCertCaFile === undefined) !== (entry.clientCertSubject === undefined)) {
    return 'clientCertCaFile and clientCertSubject go together';
  }
  return undefined;
}

/** The CA certificates of a proxy's clientCertCaFile; throws, naming the entry, when there are none or one is bad. */
function caCertificates(file: string, readFile: (path: string) => string, i: number): X509Certificate[] {
  const pems = readFile(file).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new Error(`proxies[${i}].clientCertCaFile: ${file} holds no PEM certificate`);
  return pems.map((pem) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw new Error(`proxies[${i}].clientCertCaFile: ${file} holds a certificate that cannot be read`);
    }
  });
}

/** Compiles the configured proxies once (CA files read here, at start). Throws on an unusable entry. */
export function compileProxyTrust(
  entries: readonly ProxyEntry[],
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): ProxyTrust {
  const proxies = entries.map((entry, i): CompiledProxy => {
    const problem = proxyEntryProblem(entry);
    if (problem) throw new Error(`proxies[${i}].${problem}`);
    const addresses = new BlockList();
    const [ip = '', bits] = entry.address.split('/');
    const host = normaliseAddress(ip);
    const type = isIP(host) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) addresses.addAddress(host, type);
    else addresses.addSubnet(host, Number(bits), type);
    const cas = entry.clientCertCaFile ? caCertificates(entry.clientCertCaFile, readFile, i) : [];
    const thumbprints = (entry.clientCertSha256 ?? []).map((t) => thumbprintBytes(t) as Buffer);
    return {
      form: entry.form,
      header: entry.form === 'nginx' ? (entry.header ?? NGINX_DEFAULT_HEADER).toLowerCase() : undefined,
      authenticatedByCertificate: thumbprints.length > 0 || cas.length > 0,
      addresses,
      thumbprints,
      cas,
      subject: entry.clientCertSubject,
    };
  });
  return { proxies };
}

/** The legacy `trustedProxies` list: addresses whose RFC 9440 Client-Cert is believed, no proxy certificate. */
export function legacyProxyEntries(addresses: readonly string[]): ProxyEntry[] {
  return addresses.map((address) => ({ address, form: 'rfc9440' }));
}

function certificateMatches(proxy: CompiledProxy, peer: X509Certificate | undefined, now: Date): boolean {
  if (!proxy.authenticatedByCertificate) return true;
  if (!peer) return false;
  if (new Date(peer.validFrom) > now || new Date(peer.validTo) < now) return false;
  if (proxy.thumbprints.length > 0) {
    const digest = createHash('sha256').update(peer.raw).digest();
    if (proxy.thumbprints.some((t) => t.equals(digest))) return true;
  }
  if (proxy.cas.length === 0) return false;
  const issued = proxy.cas.some(
    (ca) =>
      ca.ca &&
      new Date(ca.validFrom) <= now &&
      new Date(ca.validTo) >= now &&
      peer.checkIssued(ca) &&
      peer.verify(ca.publicKey),
  );
  return issued && peer.subject.split('\n').join(', ') === proxy.subject;
}

/**
 * The configured proxy this connection comes from: the first entry whose address matches and whose client
 * certificate requirement, if it has one, the TLS peer meets. Undefined for everyone else, whose proxy
 * headers must then be ignored.
 */
export function trustedProxyOf(
  connection: ProxyConnection,
  trust: ProxyTrust,
  now: Date = new Date(),
): TrustedProxy | undefined {
  if (trust.proxies.length === 0 || !connection.remoteAddress) return undefined;
  const address = normaliseAddress(connection.remoteAddress);
  const family = isIP(address);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  let peer: X509Certificate | undefined;
  let peerRead = false;
  for (const proxy of trust.proxies) {
    if (!proxy.addresses.check(address, type)) continue;
    if (proxy.authenticatedByCertificate && !peerRead) {
      peer =
        typeof connection.getPeerX509Certificate === 'function'
          ? connection.getPeerX509Certificate()
          : undefined;
      peerRead = true;
    }
    if (certificateMatches(proxy, peer, now)) {
      return {
        form: proxy.form,
        header: proxy.header,
        authenticatedByCertificate: proxy.authenticatedByCertificate,
      };
    }
  }
  return undefined;
}
