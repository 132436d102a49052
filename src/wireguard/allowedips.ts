/**
 * AllowedIPs: longest-prefix match from an IP address to a value (a peer),
 * one path-compressed binary trie per address family, like wireguard-go's
 * allowedips.go.
 *
 * Nodes live in a struct-of-typed-arrays pool rather than as JS objects: a
 * node costs ~46 bytes, so `wg setconf` with hundreds of thousands of
 * prefixes stays lean, and lookups read 32-bit words straight out of the
 * packet buffer without allocating.
 *
 * Node kinds: a *prefix* node carries a value; an *intermediate* node has no
 * value and exactly two children (it exists only where two prefixes fork).
 * Every node's key is masked to its cidr.
 */

/** Thrown for unparsable CIDR/IP text or impossible prefixes. */
export class CidrError extends Error {
  override readonly name = 'CidrError';
}

const NONE = -1;
const HAS_VALUE = 1;
const FAMILY6 = 2;

interface ValueList {
  head: number;
  tail: number;
  count: number;
}

export class AllowedIPs<T> {
  private cap = 0;
  /** 4 words per node, big-endian word order; IPv4 uses word 0 only. */
  private keys = new Uint32Array(0);
  private cidrs = new Uint8Array(0);
  private flags = new Uint8Array(0);
  private child0 = new Int32Array(0);
  private child1 = new Int32Array(0);
  private parents = new Int32Array(0);
  /** Per-value doubly linked list of prefix nodes, in insertion order. */
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private values: (T | undefined)[] = [];
  private lists = new Map<T, ValueList>();
  private freeHead = NONE;
  private freeCount = 0;
  private used = 0;
  private root4 = NONE;
  private root6 = NONE;
  private count = 0;
  /** Scratch words for the address being inserted/removed/looked up. */
  private readonly w = new Uint32Array(4);

  constructor() {
    this.grow(64);
  }

  /** Number of prefixes (with a value) in the table. */
  get size(): number {
    return this.count;
  }

  /** Trie nodes in use (prefixes plus fork points); at most 2 × size - 1 per family. */
  get nodeCount(): number {
    return this.used - this.freeCount;
  }

  clear(): void {
    this.cap = 0;
    this.freeCount = 0;
    this.used = 0;
    this.freeHead = NONE;
    this.root4 = NONE;
    this.root6 = NONE;
    this.count = 0;
    this.values = [];
    this.lists.clear();
    this.grow(64);
  }

  /**
   * Maps the prefix ip/bits to `value`. Host bits beyond `bits` are masked off.
   * Re-inserting an existing prefix moves it to the new value.
   */
  insert(ip: Uint8Array, bits: number, value: T): void {
    const fam = this.loadPrefix(ip, bits);
    const maxBits = fam === 4 ? 32 : 128;
    const w = this.w;
    let node = fam === 4 ? this.root4 : this.root6;
    if (node === NONE) {
      const n = this.alloc(fam, bits);
      this.setValue(n, value);
      this.parents[n] = NONE;
      this.setRoot(fam, n);
      return;
    }
    let parent = NONE;
    for (;;) {
      const nc = this.cidrs[node]!;
      const common = this.commonBits(node, maxBits);
      if (nc <= bits && common >= nc) {
        // `node` contains the new prefix.
        if (nc === bits) {
          this.setValue(node, value);
          return;
        }
        const bit = bitAt(w, nc);
        const ch = bit === 0 ? this.child0[node]! : this.child1[node]!;
        if (ch === NONE) {
          const n = this.alloc(fam, bits);
          this.setValue(n, value);
          this.link(node, bit, n);
          return;
        }
        parent = node;
        node = ch;
        continue;
      }
      // `node` does not contain the new prefix: the new prefix goes above it,
      // either as its parent or beside it under a fresh intermediate node.
      const c = common < bits ? common : bits;
      const nodeBitAtC = this.keyBitAt(node, c);
      if (c === bits) {
        const n = this.alloc(fam, bits);
        this.setValue(n, value);
        this.replaceChild(fam, parent, node, n);
        this.link(n, nodeBitAtC, node);
      } else {
        const n = this.alloc(fam, bits);
        this.setValue(n, value);
        const mid = this.alloc(fam, c); // key = w masked to c (w holds the new prefix)
        this.replaceChild(fam, parent, node, mid);
        this.link(mid, nodeBitAtC, node);
        this.link(mid, nodeBitAtC ^ 1, n);
      }
      return;
    }
  }

  /**
   * Removes the prefix ip/bits (host bits masked). With `onlyValue` given,
   * removes it only if it maps to that value. Returns whether it was removed.
   */
  remove(ip: Uint8Array, bits: number, onlyValue?: T): boolean {
    const fam = this.loadPrefix(ip, bits);
    const n = this.findExact(fam, bits);
    if (n === NONE) return false;
    if (onlyValue !== undefined && this.values[n] !== onlyValue) return false;
    this.removeNode(n);
    return true;
  }

  /** Removes every prefix mapped to `value`. */
  removeByValue(value: T): void {
    const list = this.lists.get(value);
    if (list === undefined) return;
    let n = list.head;
    while (n !== NONE) {
      const nx = this.next[n]!;
      this.removeNode(n);
      n = nx;
    }
  }

  /**
   * Longest-prefix match of the address at buf[offset .. offset + 4|16).
   * Allocation-free; the caller guarantees the bytes are in range.
   */
  lookup(family: 4 | 6, buf: Uint8Array, offset: number): T | undefined {
    if (family === 4) {
      const a = ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
      return this.lookup4(a);
    }
    const w = this.w;
    for (let i = 0; i < 4; i++) {
      const o = offset + i * 4;
      w[i] = (buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!;
    }
    return this.lookup6();
  }

  /** Convenience: lookup of a 4- or 16-byte address. */
  lookupIP(ip: Uint8Array): T | undefined {
    if (ip.length === 4) return this.lookup(4, ip, 0);
    if (ip.length === 16) return this.lookup(6, ip, 0);
    return undefined;
  }

  /** The prefixes of `value`, in insertion order (a re-insert moves one to the end). */
  entriesFor(value: T): Array<{ ip: Uint8Array; bits: number }> {
    const out: Array<{ ip: Uint8Array; bits: number }> = [];
    const list = this.lists.get(value);
    if (list === undefined) return out;
    for (let n = list.head; n !== NONE; n = this.next[n]!) {
      const v6 = (this.flags[n]! & FAMILY6) !== 0;
      const ip = new Uint8Array(v6 ? 16 : 4);
      const words = v6 ? 4 : 1;
      for (let i = 0; i < words; i++) {
        const k = this.keys[n * 4 + i]!;
        ip[i * 4] = k >>> 24;
        ip[i * 4 + 1] = (k >>> 16) & 0xff;
        ip[i * 4 + 2] = (k >>> 8) & 0xff;
        ip[i * 4 + 3] = k & 0xff;
      }
      out.push({ ip, bits: this.cidrs[n]! });
    }
    return out;
  }

  /** Number of prefixes mapped to `value`. */
  countFor(value: T): number {
    return this.lists.get(value)?.count ?? 0;
  }

  // ---- lookups ----

  private lookup4(a: number): T | undefined {
    const keys = this.keys;
    const cidrs = this.cidrs;
    const flags = this.flags;
    let n = this.root4;
    let found = NONE;
    while (n !== NONE) {
      const c = cidrs[n]!;
      if (c !== 0 && (keys[n * 4]! ^ a) >>> (32 - c) !== 0) break;
      if ((flags[n]! & HAS_VALUE) !== 0) found = n;
      if (c === 32) break;
      n = ((a >>> (31 - c)) & 1) === 0 ? this.child0[n]! : this.child1[n]!;
    }
    return found === NONE ? undefined : this.values[found];
  }

  private lookup6(): T | undefined {
    const keys = this.keys;
    const cidrs = this.cidrs;
    const flags = this.flags;
    const w = this.w;
    let n = this.root6;
    let found = NONE;
    outer: while (n !== NONE) {
      const c = cidrs[n]!;
      const base = n * 4;
      let rem = c;
      for (let i = 0; rem > 0; i++, rem -= 32) {
        const x = keys[base + i]! ^ w[i]!;
        if (rem >= 32) {
          if (x !== 0) break outer;
        } else if (x >>> (32 - rem) !== 0) break outer;
      }
      if ((flags[n]! & HAS_VALUE) !== 0) found = n;
      if (c === 128) break;
      n = ((w[c >>> 5]! >>> (31 - (c & 31))) & 1) === 0 ? this.child0[n]! : this.child1[n]!;
    }
    return found === NONE ? undefined : this.values[found];
  }

  // ---- internals ----

  /** Validates ip/bits, loads the masked address into this.w; returns the family. */
  private loadPrefix(ip: Uint8Array, bits: number): 4 | 6 {
    const len = ip.length;
    if (len !== 4 && len !== 16) throw new CidrError(`address must be 4 or 16 bytes, got ${len}`);
    const maxBits = len * 8;
    if (!Number.isInteger(bits) || bits < 0 || bits > maxBits) throw new CidrError(`prefix length ${bits} out of range 0..${maxBits}`);
    const w = this.w;
    w[0] = w[1] = w[2] = w[3] = 0;
    for (let i = 0; i < len; i += 4) {
      w[i >>> 2] = (ip[i]! << 24) | (ip[i + 1]! << 16) | (ip[i + 2]! << 8) | ip[i + 3]!;
    }
    maskWords(w, bits);
    return len === 4 ? 4 : 6;
  }

  /** Leading bits node's key shares with this.w, capped at maxBits. */
  private commonBits(node: number, maxBits: number): number {
    const base = node * 4;
    const words = maxBits >>> 5;
    for (let i = 0; i < words; i++) {
      const x = (this.keys[base + i]! ^ this.w[i]!) >>> 0;
      if (x !== 0) return i * 32 + Math.clz32(x);
    }
    return maxBits;
  }

  private keyBitAt(node: number, i: number): number {
    return (this.keys[node * 4 + (i >>> 5)]! >>> (31 - (i & 31))) & 1;
  }

  private findExact(fam: 4 | 6, bits: number): number {
    const maxBits = fam === 4 ? 32 : 128;
    let n = fam === 4 ? this.root4 : this.root6;
    while (n !== NONE) {
      const c = this.cidrs[n]!;
      if (c > bits || this.commonBits(n, maxBits) < c) return NONE;
      if (c === bits) return (this.flags[n]! & HAS_VALUE) !== 0 ? n : NONE;
      n = bitAt(this.w, c) === 0 ? this.child0[n]! : this.child1[n]!;
    }
    return NONE;
  }

  private setRoot(fam: 4 | 6, n: number): void {
    if (fam === 4) this.root4 = n;
    else this.root6 = n;
  }

  private link(parent: number, bit: number, child: number): void {
    if (bit === 0) this.child0[parent] = child;
    else this.child1[parent] = child;
    this.parents[child] = parent;
  }

  /** Puts `replacement` (or nothing) where `old` hangs under `parent` (NONE = root). */
  private replaceChild(fam: 4 | 6, parent: number, old: number, replacement: number): void {
    if (parent === NONE) this.setRoot(fam, replacement);
    else if (this.child0[parent] === old) this.child0[parent] = replacement;
    else this.child1[parent] = replacement;
    if (replacement !== NONE) this.parents[replacement] = parent;
  }

  private setValue(n: number, value: T): void {
    if ((this.flags[n]! & HAS_VALUE) !== 0) this.unlinkValue(n);
    else this.count++;
    this.flags[n]! |= HAS_VALUE;
    this.values[n] = value;
    let list = this.lists.get(value);
    if (list === undefined) {
      list = { head: NONE, tail: NONE, count: 0 };
      this.lists.set(value, list);
    }
    this.prev[n] = list.tail;
    this.next[n] = NONE;
    if (list.tail === NONE) list.head = n;
    else this.next[list.tail] = n;
    list.tail = n;
    list.count++;
  }

  private unlinkValue(n: number): void {
    const value = this.values[n] as T;
    const list = this.lists.get(value)!;
    const p = this.prev[n]!;
    const nx = this.next[n]!;
    if (p === NONE) list.head = nx;
    else this.next[p] = nx;
    if (nx === NONE) list.tail = p;
    else this.prev[nx] = p;
    if (--list.count === 0) this.lists.delete(value);
  }

  private removeNode(n: number): void {
    this.unlinkValue(n);
    this.flags[n]! &= ~HAS_VALUE;
    this.values[n] = undefined;
    this.count--;
    const fam: 4 | 6 = (this.flags[n]! & FAMILY6) !== 0 ? 6 : 4;
    // Splice out valueless nodes with fewer than two children, walking up.
    let cur = n;
    while (cur !== NONE && (this.flags[cur]! & HAS_VALUE) === 0) {
      const c0 = this.child0[cur]!;
      const c1 = this.child1[cur]!;
      if (c0 !== NONE && c1 !== NONE) break;
      const only = c0 !== NONE ? c0 : c1;
      const p = this.parents[cur]!;
      this.replaceChild(fam, p, cur, only);
      this.free(cur);
      if (only !== NONE) break; // parent keeps its child count
      cur = p;
    }
  }

  /** Allocates a node with key this.w masked to `cidr`, no value, no children. */
  private alloc(fam: 4 | 6, cidr: number): number {
    let n: number;
    if (this.freeHead !== NONE) {
      n = this.freeHead;
      this.freeHead = this.child0[n]!;
      this.freeCount--;
    } else {
      if (this.used === this.cap) this.grow(this.cap * 2);
      n = this.used++;
    }
    const base = n * 4;
    const w = this.w;
    this.keys[base] = w[0]!;
    this.keys[base + 1] = w[1]!;
    this.keys[base + 2] = w[2]!;
    this.keys[base + 3] = w[3]!;
    maskWords(this.keys.subarray(base, base + 4), cidr);
    this.cidrs[n] = cidr;
    this.flags[n] = fam === 6 ? FAMILY6 : 0;
    this.child0[n] = NONE;
    this.child1[n] = NONE;
    this.parents[n] = NONE;
    this.prev[n] = NONE;
    this.next[n] = NONE;
    return n;
  }

  private free(n: number): void {
    this.flags[n] = 0;
    this.values[n] = undefined;
    this.child1[n] = NONE;
    this.child0[n] = this.freeHead;
    this.freeHead = n;
    this.freeCount++;
  }

  private grow(newCap: number): void {
    const keys = new Uint32Array(newCap * 4);
    keys.set(this.keys.subarray(0, this.used * 4));
    this.keys = keys;
    this.cidrs = growTyped(this.cidrs, new Uint8Array(newCap), this.used);
    this.flags = growTyped(this.flags, new Uint8Array(newCap), this.used);
    this.child0 = growTyped(this.child0, new Int32Array(newCap), this.used);
    this.child1 = growTyped(this.child1, new Int32Array(newCap), this.used);
    this.parents = growTyped(this.parents, new Int32Array(newCap), this.used);
    this.prev = growTyped(this.prev, new Int32Array(newCap), this.used);
    this.next = growTyped(this.next, new Int32Array(newCap), this.used);
    for (let i = this.values.length; i < newCap; i++) this.values.push(undefined);
    this.cap = newCap;
  }
}

function growTyped<A extends Uint8Array | Int32Array>(old: A, fresh: A, used: number): A {
  fresh.set(old.subarray(0, used) as never);
  return fresh;
}

function bitAt(w: Uint32Array, i: number): number {
  return (w[i >>> 5]! >>> (31 - (i & 31))) & 1;
}

/** Zeroes every bit at position >= bits in a 4-word big-endian key. */
function maskWords(w: Uint32Array, bits: number): void {
  for (let i = 0; i < 4; i++) {
    const lo = i * 32;
    if (bits >= lo + 32) continue;
    if (bits <= lo) w[i] = 0;
    else w[i] = w[i]! & ~(0xffffffff >>> (bits - lo));
  }
}

// ---- text ----

function parseIPv4Into(s: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let part = 0;
  let i = start;
  while (part < 4) {
    const digitsStart = i;
    let v = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
      if (i - digitsStart > 3) return false;
    }
    const n = i - digitsStart;
    if (n === 0 || v > 255) return false;
    if (n > 1 && s.charCodeAt(digitsStart) === 48) return false; // no leading zeros (ambiguous octal)
    out[off + part] = v;
    part++;
    if (part < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return false;
      i++;
    }
  }
  return i === end;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseIPv6(s: string): Uint8Array | null {
  const len = s.length;
  const out = new Uint8Array(16);
  let i = 0; // byte index into out
  let p = 0;
  let ellipsis = -1;
  if (len >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
    ellipsis = 0;
    p = 2;
    if (p === len) return out;
  }
  while (p < len) {
    const start = p;
    let v = 0;
    while (p < len) {
      const h = hexVal(s.charCodeAt(p));
      if (h < 0) break;
      v = (v << 4) | h;
      p++;
      if (p - start > 4) return null;
    }
    if (p === start) return null;
    if (p < len && s.charCodeAt(p) === 46) {
      // Embedded IPv4 in the last 32 bits.
      if (ellipsis < 0 && i !== 12) return null;
      if (i + 4 > 16) return null;
      if (!parseIPv4Into(s, start, len, out, i)) return null;
      i += 4;
      p = len;
      break;
    }
    out[i] = v >>> 8;
    out[i + 1] = v & 0xff;
    i += 2;
    if (p === len) break;
    if (s.charCodeAt(p) !== 58) return null;
    p++;
    if (p < len && s.charCodeAt(p) === 58) {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      p++;
      if (p === len) break;
    } else if (p === len) return null;
    if (i === 16) return null;
  }
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) out[j + n] = out[j]!;
    for (let j = ellipsis; j < ellipsis + n; j++) out[j] = 0;
  } else if (ellipsis >= 0) {
    return null; // '::' must stand for at least one zero group
  }
  return out;
}

/** Parses a bare IPv4 (dotted, no leading zeros) or IPv6 address (no zone); null if invalid. */
export function parseIP(s: string): Uint8Array | null {
  if (s.indexOf(':') >= 0) return parseIPv6(s);
  const out = new Uint8Array(4);
  return parseIPv4Into(s, 0, s.length, out, 0) ? out : null;
}

/** Canonical text like Go's net/netip: dotted IPv4; IPv6 lowercase, longest zero run (≥ 2 groups) as '::'; ::ffff:a.b.c.d for v4-mapped. */
export function formatIP(ip: Uint8Array): string {
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  if (ip.length !== 16) throw new CidrError(`address must be 4 or 16 bytes, got ${ip.length}`);
  let mapped = ip[10] === 0xff && ip[11] === 0xff;
  for (let j = 0; j < 10 && mapped; j++) if (ip[j] !== 0) mapped = false;
  if (mapped) return `::ffff:${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  let zs = -1;
  let ze = -1;
  for (let g = 0; g < 8; g++) {
    let e = g;
    while (e < 8 && ip[e * 2] === 0 && ip[e * 2 + 1] === 0) e++;
    if (e - g >= 2 && e - g > ze - zs) {
      zs = g;
      ze = e;
    }
    if (e > g) g = e;
  }
  let s = '';
  for (let g = 0; g < 8; g++) {
    if (g === zs) {
      s += '::';
      g = ze - 1;
      continue;
    }
    if (g > 0 && g !== ze) s += ':';
    s += ((ip[g * 2]! << 8) | ip[g * 2 + 1]!).toString(16);
  }
  return s;
}

/**
 * Parses 'ADDR/BITS' or a bare address (= /32 or /128), like Go's
 * netip.ParsePrefix (BITS is decimal without leading zeros). Host bits are
 * kept as written; AllowedIPs.insert masks them.
 */
export function parseCidr(s: string): { ip: Uint8Array; bits: number } {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const ip = parseIP(addr);
  if (ip === null) throw new CidrError(`invalid IP address ${JSON.stringify(addr)}`);
  const max = ip.length * 8;
  if (slash < 0) return { ip, bits: max };
  const b = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(b)) throw new CidrError(`invalid prefix length ${JSON.stringify(b)}`);
  const bits = Number(b);
  if (bits > max) throw new CidrError(`prefix length ${bits} exceeds ${max}`);
  return { ip, bits };
}

export function formatCidr(ip: Uint8Array, bits: number): string {
  return `${formatIP(ip)}/${bits}`;
}
