/**
 * IP address text <-> bytes for the UDP binds, without allocation on the
 * common path (callers cache). Formatting matches inet_ntop (RFC 5952), so
 * the native and dgram binds produce identical endpoint strings.
 */

/** Parses dotted IPv4 into out[off..off+4]; false if not IPv4. */
export function parseIPv4Into(text: string, out: Uint8Array, off = 0): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || n > 255 || part > 3) return false;
      out[off + part++] = n;
      n = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && n === 0) return false; // no leading zeros (octal ambiguity)
      n = n * 10 + (c - 48);
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** Parses IPv6 text (with optional brackets, zone, embedded IPv4) into 16 bytes; false if invalid. */
export function parseIPv6Into(input: string, out: Uint8Array, off = 0): boolean {
  let text = input;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const dbl = text.indexOf('::');
  if (dbl !== text.lastIndexOf('::')) return false;
  const groups: number[] = [];
  const parseSide = (side: string, allowV4: boolean): number[] | null => {
    if (side === '') return [];
    const parts = side.split(':');
    const res: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4 && i === parts.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIPv4Into(p, v4)) return null;
        res.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      res.push(parseInt(p, 16));
    }
    return res;
  };
  if (dbl >= 0) {
    const head = parseSide(text.slice(0, dbl), false);
    const tail = parseSide(text.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return false;
    groups.push(...head);
    for (let i = head.length + tail.length; i < 8; i++) groups.push(0);
    groups.push(...tail);
  } else {
    const all = parseSide(text, true);
    if (!all || all.length !== 8) return false;
    groups.push(...all);
  }
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = groups[i]! >> 8;
    out[off + 2 * i + 1] = groups[i]! & 0xff;
  }
  return true;
}

export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text of 16 bytes: lowercase, longest run (>= 2) of zero groups as "::". */
export function formatIPv6(b: Uint8Array, off = 0): string {
  let bestStart = -1;
  let bestLen = 0;
  let curStart = -1;
  for (let i = 0; i < 8; i++) {
    const zero = b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0;
    if (zero) {
      if (curStart < 0) curStart = i;
      const len = i - curStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = curStart;
      }
    } else {
      curStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped addresses keep their dotted tail, as inet_ntop prints them.
  if (bestStart === 0 && bestLen === 5 && b[off + 10] === 0xff && b[off + 11] === 0xff) {
    return `::ffff:${formatIPv4(b, off + 12)}`;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += ((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!).toString(16);
    if (i < 7) s += ':';
  }
  return s;
}
