import { BlockList, isIPv4, isIPv6 } from 'node:net';

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** An address as compared: IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) as plain IPv4. */
function unmapped(address: string): string {
  const mapped = MAPPED_IPV4.exec(address)?.[1];
  return mapped !== undefined && isIPv4(mapped) ? mapped : address;
}

/**
 * Exact addresses and CIDR ranges (trusted proxies) as one list; undefined when there are none. Throws naming
 * `label` on an entry that is neither (configuration checks them at start, so this never fires later).
 */
export function addressList(entries: readonly string[] | undefined, label: string): BlockList | undefined {
  if (entries === undefined || entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [raw = '', bits] = entry.split('/');
    const address = unmapped(raw);
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (family === undefined) throw new Error(`${label}: "${entry}" is not an IP address or range`);
    if (bits === undefined) list.addAddress(address, family);
    else {
      const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
      if (!(prefix >= 0 && prefix <= (family === 'ipv4' ? 32 : 128))) {
        throw new Error(`${label}: "${entry}" has an invalid prefix length`);
      }
      list.addSubnet(address, prefix, family);
    }
  }
  return list;
}

/** Whether a connection's remote address is in the list (IPv4-mapped IPv6 read as IPv4). */
export function inAddressList(list: BlockList | undefined, address: string | undefined): boolean {
  if (list === undefined || address === undefined) return false;
  const host = unmapped(address);
  return list.check(host, isIPv4(host) ? 'ipv4' : 'ipv6');
}
