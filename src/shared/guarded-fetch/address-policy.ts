import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { FetchError } from './fetch-error.ts';

export type AddressClass = 'public' | 'loopback' | 'private' | 'reserved';

export interface AddressPolicy {
  /** Allow 127.0.0.0/8 and ::1 (development and tests only). */
  allowLoopback: boolean;
  /** Allow RFC 1918, CGNAT, link-local (including cloud metadata 169.254.169.254), and ULA addresses. */
  allowPrivateNetworks: boolean;
}

type Subnet = readonly [address: string, prefix: number];

const LOOPBACK: readonly Subnet[] = [
  ['127.0.0.0', 8],
  ['::1', 128],
];
const PRIVATE: readonly Subnet[] = [
  ['10.0.0.0', 8], // RFC 1918
  ['172.16.0.0', 12], // RFC 1918
  ['192.168.0.0', 16], // RFC 1918
  ['100.64.0.0', 10], // RFC 6598 carrier-grade NAT
  ['169.254.0.0', 16], // RFC 3927 link-local, home of cloud metadata services (169.254.169.254)
  ['fc00::', 7], // RFC 4193 unique local (fd00:ec2::254 is the AWS IPv6 metadata service)
  ['fe80::', 10], // RFC 4291 link-local
];
// Never a partner's server: unspecified, "this network", multicast, broadcast/reserved, documentation, benchmarking.
const RESERVED: readonly Subnet[] = [
  ['0.0.0.0', 8],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
  ['::', 96], // unspecified and the deprecated IPv4-compatible addresses (::a.b.c.d)
  ['100::', 64],
  ['2001:db8::', 32],
  ['ff00::', 8],
];

function blockList(subnets: readonly Subnet[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of subnets) list.addSubnet(address, prefix, isIPv4(address) ? 'ipv4' : 'ipv6');
  return list;
}

const lists: ReadonlyArray<readonly [AddressClass, BlockList]> = [
  ['loopback', blockList(LOOPBACK)],
  ['private', blockList(PRIVATE)],
  ['reserved', blockList(RESERVED)],
];

/** Expands an IPv6 address to its eight 16-bit groups. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(zeros).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
}

/** The IPv4 address embedded in an IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !nat64) return undefined;
  const hi = g[6] ?? 0;
  const lo = g[7] ?? 0;
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** Classifies an IP address literal; anything that is not an IP address is `reserved`. */
export function classifyAddress(address: string): AddressClass {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  let ip = bare;
  let type: 'ipv4' | 'ipv6';
  if (isIPv4(bare)) type = 'ipv4';
  else if (isIPv6(bare)) {
    const v4 = embeddedIpv4(bare);
    if (v4 !== undefined) {
      ip = v4;
      type = 'ipv4';
    } else type = 'ipv6';
  } else return 'reserved';
  for (const [cls, list] of lists) if (list.check(ip, type)) return cls;
  return 'public';
}

/**
 * Throws unless the policy lets the platform connect to `address`. Called with the address actually dialled,
 * after DNS resolution, so a name that resolves (or re-resolves) to an internal address is refused too.
 */
export function assertAddressAllowed(address: string, policy: AddressPolicy, host: string): void {
  const cls = classifyAddress(address);
  if (cls === 'loopback' && !policy.allowLoopback) {
    throw new FetchError('loopback_refused', `${host} resolves to a loopback address`);
  }
  if (cls === 'private' && !policy.allowPrivateNetworks) {
    throw new FetchError('private_address_refused', `${host} resolves to a private or link-local address`);
  }
  if (cls === 'reserved') {
    throw new FetchError('reserved_address_refused', `${host} resolves to a reserved address`);
  }
}

/** RFC 6761 §6.3: `localhost` and every name under it are loopback, whatever a resolver answers for them. */
export function assertHostNameAllowed(hostname: string, policy: AddressPolicy): void {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if ((name === 'localhost' || name.endsWith('.localhost')) && !policy.allowLoopback) {
    throw new FetchError('loopback_refused', `${hostname} is a loopback name`);
  }
}
