/**
 * IP address and prefix text <-> bytes, formatted the way glibc's inet_ntop
 * does so that `wgts show` prints exactly what `wg show` prints.
 */

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
  // Hand-rolled: configs can carry hundreds of thousands of addresses.
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a virtual '.' ends the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return null;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return null; // leading zero
      value = value * 10 + (c - 48);
      if (value > 255) return null;
      digits++;
    } else return null;
  }
  return part === 4 ? out : null;
}

/** RFC 4291 text form: hex groups, at most one "::", optional dotted-quad tail. No zone. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length < 2 || text.length > 45) return null;
  const out = new Uint8Array(16);
  const dbl = text.indexOf('::');
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) return null;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return null;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      words.push(parseInt(g, 16));
    }
    return words;
  };
  let words: number[];
  if (dbl === -1) {
    const w = parseGroups(text, true);
    if (!w || w.length !== 8) return null;
    words = w;
  } else {
    const head = parseGroups(text.slice(0, dbl), false);
    const tail = parseGroups(text.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Either family; IPv6 is chosen when the text contains ':' (as wg does). */
export function parseIP(text: string): { family: IpFamily; address: Uint8Array } | null {
  if (text.includes(':')) {
    const a = parseIPv6(text);
    return a ? { family: 6, address: a } : null;
  }
  const a = parseIPv4(text);
  return a ? { family: 4, address: a } : null;
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
