/** IP address helpers: text ⇄ bytes, comparison, prefix match. Addresses are 4- or 16-byte Uint8Arrays. */
import type { IpFamily } from './transport/protocol.js';

export function familyOf(addr: Uint8Array): IpFamily {
  return addr.length === 4 ? 4 : 6;
}

export function addrEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when the first `bits` bits of a and b agree. */
export function prefixMatch(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  if (a.length !== b.length) return false;
  const full = bits >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rem = bits & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (a[full]! & mask) === (b[full]! & mask);
}

export function parseIpv4Address(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

export function parseIpv6Address(s: string): Uint8Array | null {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  let tail4: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    tail4 = parseIpv4Address(s.slice(lastColon + 1));
    if (!tail4) return null;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return null;
  const parseGroups = (t: string): number[] | null => {
    if (t === '') return [];
    const g = t.split(':');
    const r: number[] = [];
    for (const x of g) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(x)) return null;
      r.push(parseInt(x, 16));
    }
    return r;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const g = parseGroups(s);
    if (!g || g.length !== 8) return null;
    groups = g;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** Parses IPv4 or IPv6 text; throws on garbage. */
export function parseAddress(s: string): Uint8Array {
  const a = s.includes(':') ? parseIpv6Address(s) : parseIpv4Address(s);
  if (!a) throw new Error(`invalid IP address: ${s}`);
  return a;
}

export function formatAddress(a: Uint8Array): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((a[i]! << 8) | a[i + 1]!);
  // Longest run of zero groups (length ≥ 2) becomes "::" (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Parses "addr/len" (len defaults to the full length). */
export function parsePrefix(s: string): { addr: Uint8Array; bits: number } {
  const slash = s.indexOf('/');
  const addr = parseAddress(slash >= 0 ? s.slice(0, slash) : s);
  const max = addr.length * 8;
  const bits = slash >= 0 ? Number(s.slice(slash + 1)) : max;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`invalid prefix length: ${s}`);
  return { addr, bits };
}

export function isMulticast(a: Uint8Array): boolean {
  return a.length === 4 ? (a[0]! & 0xf0) === 0xe0 : a[0] === 0xff;
}

export function isBroadcastOrUnspecified(a: Uint8Array): boolean {
  if (a.length === 4) {
    const all1 = a[0] === 255 && a[1] === 255 && a[2] === 255 && a[3] === 255;
    const all0 = a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0;
    return all1 || all0;
  }
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}
