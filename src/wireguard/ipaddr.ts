/**
 * IP address text → bytes, for the parts of the core that key on a peer's
 * source address (cookies, the handshake rate limiter). No I/O, no Node APIs.
 */

/** '1.2.3.4' → 4 bytes, IPv6 text (optionally with a %zone) → 16 bytes, else null. */
export function parseIpAddress(text: string): Uint8Array | null {
  if (text.includes(':')) return parseIPv6(text);
  const out = new Uint8Array(4);
  return parseIPv4Into(text, out, 0) ? out : null;
}

function parseIPv4Into(text: string, out: Uint8Array, off: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[off + i] = v;
  }
  return true;
}

function parseIPv6(text: string): Uint8Array | null {
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  if (text.length === 0 || text.length > 45) return null;
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIPv4Into(g, v4, 0)) return null;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  let words: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0]!, false);
    const tail = parseGroups(halves[1]!, true);
    if (!head || !tail || head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return null;
    words = all;
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/**
 * The bytes that identify a datagram's source for cookies: address ‖ port
 * (big-endian). Opaque to the peer, so the layout is ours.
 */
export function sourceBytes(address: string, port: number): Uint8Array {
  const ip = parseIpAddress(address);
  if (!ip) {
    // Not an IP literal (an adapter-specific address): key on its text.
    const t = new TextEncoder().encode(address);
    const out = new Uint8Array(t.length + 2);
    out.set(t);
    out[t.length] = (port >> 8) & 0xff;
    out[t.length + 1] = port & 0xff;
    return out;
  }
  const out = new Uint8Array(ip.length + 2);
  out.set(ip);
  out[ip.length] = (port >> 8) & 0xff;
  out[ip.length + 1] = port & 0xff;
  return out;
}
