import { isIPv6 } from 'node:net';

/**
 * The part of a client address that identifies one client for rate limiting.
 *
 * IPv4 addresses are used as they are. An IPv6 client usually controls a whole /64 (one end-site subnet)
 * and can pick a fresh address from it for every request, so IPv6 addresses are tracked by their /64
 * prefix; IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) count as the IPv4 address they carry.
 */
export function clientBucketAddress(ip: string): string {
  // Fast path: every IPv4 address (the common case) has no colon.
  if (!ip.includes(':')) return ip;
  const address = ip.toLowerCase().split('%')[0];
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice('::ffff:'.length);
  if (!isIPv6(address)) return ip;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = [...headGroups, ...tailGroups];
  // An embedded IPv4 address (last 32 bits, e.g. 64:ff9b::192.0.2.1) takes two groups.
  const width = groups.length + (groups.at(-1)?.includes('.') ? 1 : 0);
  const zeros = tail === undefined ? [] : new Array<string>(8 - width).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((group) =>
    group.includes('.') ? group : parseInt(group, 16).toString(16),
  );
}
