import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Addresses (or CIDR ranges) of the proxies whose forwarded client certificates the gateway takes. */
export function proxyList(entries: readonly string[] | undefined): BlockList | undefined {
  if (entries === undefined || entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (family === undefined)
      throw new Error(`gateway.trustedProxies: "${entry}" is not an IP address or range`);
    if (bits === undefined) list.addAddress(address, family);
    else {
      const prefix = Number(bits);
      const max = family === 'ipv4' ? 32 : 128;
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
        throw new Error(`gateway.trustedProxies: "${entry}" has an invalid prefix length`);
      }
      list.addSubnet(address, prefix, family);
    }
  }
  return list;
}

/** Whether a connection's source address is one of the trusted proxies (IPv4-mapped IPv6 read as IPv4). */
export function isTrustedProxy(list: BlockList | undefined, address: string | undefined): boolean {
  if (list === undefined || address === undefined) return false;
  if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) return list.check(address.slice(7), 'ipv4');
  return list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}
