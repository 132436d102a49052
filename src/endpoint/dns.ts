/**
 * The few DNS messages `wg.lookup` needs (RFC 1035): an A/AAAA query and the
 * addresses in its answer. Pure; parsing throws only DnsError.
 */

export const DNS_TYPE_A = 1;
export const DNS_TYPE_AAAA = 28;
export const DNS_TYPE_CNAME = 5;
const CLASS_IN = 1;

export class DnsError extends Error {
  constructor(
    message: string,
    readonly code: string = 'EBADRESP',
  ) {
    super(message);
    this.name = 'DnsError';
  }
}

export function buildQuery(id: number, name: string, type: number): Uint8Array {
  const labels = name.replace(/\.$/, '').split('.');
  const enc = new TextEncoder();
  const parts = labels.map((l) => enc.encode(l));
  for (const p of parts) if (p.length === 0 || p.length > 63) throw new DnsError(`invalid name ${name}`, 'EBADNAME');
  const qlen = parts.reduce((n, p) => n + 1 + p.length, 1);
  if (qlen > 255) throw new DnsError(`name too long: ${name}`, 'EBADNAME');
  const out = new Uint8Array(12 + qlen + 4);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[2] = 0x01; // RD
  out[5] = 1; // QDCOUNT
  let o = 12;
  for (const p of parts) {
    out[o++] = p.length;
    out.set(p, o);
    o += p.length;
  }
  out[o++] = 0;
  out[o++] = type >> 8;
  out[o++] = type & 0xff;
  out[o++] = 0;
  out[o++] = CLASS_IN;
  return out;
}

/** Skips a (possibly compressed) name; returns the offset after it. */
function skipName(b: Uint8Array, o: number): number {
  for (let hops = 0; hops < 128; hops++) {
    if (o >= b.length) throw new DnsError('truncated name');
    const len = b[o]!;
    if (len === 0) return o + 1;
    if ((len & 0xc0) === 0xc0) {
      if (o + 2 > b.length) throw new DnsError('truncated pointer');
      return o + 2;
    }
    if (len & 0xc0) throw new DnsError('bad label');
    o += 1 + len;
  }
  throw new DnsError('name too long');
}

export interface DnsAnswer {
  rcode: number;
  /** Addresses of the asked type (4 or 16 bytes each). */
  addresses: Uint8Array[];
}

/** Parses a response to query `id`; returns null when it answers some other query. */
export function parseResponse(b: Uint8Array, id: number, type: number): DnsAnswer | null {
  if (b.length < 12) throw new DnsError('truncated header');
  if (((b[0]! << 8) | b[1]!) !== id) return null;
  if (!(b[2]! & 0x80)) return null;
  const rcode = b[3]! & 0x0f;
  const qd = (b[4]! << 8) | b[5]!;
  const an = (b[6]! << 8) | b[7]!;
  let o = 12;
  for (let i = 0; i < qd; i++) o = skipName(b, o) + 4;
  const addresses: Uint8Array[] = [];
  const want = type === DNS_TYPE_A ? 4 : 16;
  for (let i = 0; i < an; i++) {
    o = skipName(b, o);
    if (o + 10 > b.length) throw new DnsError('truncated record');
    const t = (b[o]! << 8) | b[o + 1]!;
    const len = (b[o + 8]! << 8) | b[o + 9]!;
    o += 10;
    if (o + len > b.length) throw new DnsError('truncated rdata');
    if (t === type && len === want) addresses.push(b.slice(o, o + len));
    o += len;
  }
  return { rcode, addresses };
}
