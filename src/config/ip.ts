/**
 * IP address and prefix text <-> bytes, formatted the way glibc's inet_ntop
 * does so that `wgts show` prints exactly what `wg show` prints.
 */
import { parseIP as parseAddress } from '../wireguard/allowedips.js';

export type IpFamily = 4 | 6;

/** An address with a prefix length: AllowedIPs entries, interface Address entries. */
export interface IpPrefix {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network byte order. */
  readonly address: Uint8Array;
  readonly prefix: number;
}

/** Dotted quad, exactly four decimal parts 0-255 (inet_pton rules: no leading zeros beyond "0"). */
export function parseIPv4(text: string): Uint8Array | null {
  return text.includes(':') ? null : parseAddress(text);
}

/** RFC 4291 text form: hex groups, at most one "::", optional dotted-quad tail. No zone. */
export function parseIPv6(text: string): Uint8Array | null {
  return text.includes(':') ? parseAddress(text) : null;
}

/** Either family; IPv6 is chosen when the text contains ':' (as wg does). */
export function parseIP(text: string): { family: IpFamily; address: Uint8Array } | null {
  // One address parser for the whole project: the AllowedIPs table's accepts exactly these forms.
  const address = parseAddress(text);
  if (!address) return null;
  return { family: address.length === 4 ? 4 : 6, address };
}

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * glibc inet_ntop: lowercase hex without leading zeros, the longest run of two or
 * more zero groups (the first on a tie) becomes "::", and the IPv4-mapped
 * (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms print a dotted tail.
 */
export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && curLen > bestLen) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += formatIPv4(b.subarray(12, 16));
      return s;
    }
    s += w[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ':';
  return s;
}

export function formatIP(family: IpFamily, address: Uint8Array): string {
  return family === 4 ? formatIPv4(address) : formatIPv6(address);
}

export function formatPrefix(p: IpPrefix): string {
  return `${formatIP(p.family, p.address)}/${p.prefix}`;
}

/**
 * "addr/len" or a bare address (host prefix). Returns null on any syntax error;
 * callers turn that into their own message.
 */
export function parsePrefix(text: string): IpPrefix | null {
  const slash = text.indexOf('/');
  const ipText = slash === -1 ? text : text.slice(0, slash);
  const ip = parseIP(ipText);
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const lenText = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText)) return null;
    prefix = Number(lenText);
    if (prefix > max) return null;
  }
  return { family: ip.family, address: ip.address, prefix };
}

/** True when bits beyond the prefix length are zero (wg warns otherwise). */
export function hostBitsZero(p: IpPrefix): boolean {
  const bytes = p.address;
  for (let bit = p.prefix; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return false;
  }
  return true;
}
