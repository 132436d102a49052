/**
 * Fragment reassembly with bounded memory and timeouts, shared by IPv4 and
 * IPv6. Overlapping fragments discard the whole datagram (RFC 5722; Linux does
 * the same for IPv4); exact duplicates are ignored. Sans-I/O: `now` comes in.
 */

export interface ReassemblyLimits {
  /** Drop an incomplete datagram this long after its first fragment (ms). */
  timeoutMs: number;
  /** Total bytes held across all datagrams in progress. */
  maxBytes: number;
  /** Fragments per datagram. */
  maxFragments: number;
  /** Datagrams in progress. */
  maxDatagrams: number;
  /** Largest reassembled payload (bytes after the unfragmentable header). */
  maxPayload: number;
}

interface Piece {
  start: number;
  end: number;
  data: Uint8Array;
}

interface Datagram {
  deadline: number;
  pieces: Piece[];
  received: number;
  /** Payload length once the last fragment has arrived, else -1. */
  total: number;
  /** Copy of the header bytes of the first fragment (offset 0), or null. */
  header: Uint8Array | null;
  bytes: number;
}

export type FragmentVerdict = 'pending' | 'duplicate' | 'overlap' | 'too-many' | 'too-big' | 'no-memory' | 'bad';

export interface ReassemblyStats {
  fragments: number;
  reassembled: number;
  duplicates: number;
  overlaps: number;
  tooMany: number;
  tooBig: number;
  memoryEvictions: number;
  timeouts: number;
}

/** Called for a datagram that timed out after its first fragment arrived (for ICMP time exceeded). */
export type ExpiredHandler = (header: Uint8Array, firstPiece: Uint8Array) => void;

export class Reassembler {
  readonly stats: ReassemblyStats = {
    fragments: 0,
    reassembled: 0,
    duplicates: 0,
    overlaps: 0,
    tooMany: 0,
    tooBig: 0,
    memoryEvictions: 0,
    timeouts: 0,
  };
  private readonly table = new Map<string, Datagram>();
  private bytes = 0;
  /** The verdict of the last `add` that returned null. */
  lastVerdict: FragmentVerdict = 'pending';

  constructor(readonly limits: ReassemblyLimits) {}

  get bytesInUse(): number {
    return this.bytes;
  }
  get inProgress(): number {
    return this.table.size;
  }

  /**
   * Adds a fragment: `data` covers payload bytes [offset, offset+data.length).
   * `header` (the unfragmentable part) is kept from the offset-0 fragment.
   * Returns the reassembled `{header, payload}` when complete, else null
   * (see `lastVerdict`). Copies what it keeps.
   */
  add(key: string, offset: number, data: Uint8Array, more: boolean, header: Uint8Array, now: number): { header: Uint8Array; payload: Uint8Array } | null {
    this.stats.fragments++;
    const end = offset + data.length;
    if (end > this.limits.maxPayload) {
      this.stats.tooBig++;
      this.discard(key);
      return this.fail('too-big');
    }
    if (more && (data.length === 0 || data.length % 8 !== 0)) {
      // Non-last fragments carry a multiple of 8 bytes.
      this.discard(key);
      return this.fail('bad');
    }
    let d = this.table.get(key);
    if (!d) {
      if (this.table.size >= this.limits.maxDatagrams) this.evictOldest();
      d = { deadline: now + this.limits.timeoutMs, pieces: [], received: 0, total: -1, header: null, bytes: 0 };
      this.table.set(key, d);
    }
    if (!more) {
      if ((d.total >= 0 && d.total !== end) || end < this.maxEnd(d)) {
        this.stats.overlaps++;
        this.discard(key);
        return this.fail('overlap');
      }
      d.total = end;
    } else if (d.total >= 0 && end > d.total) {
      this.stats.overlaps++;
      this.discard(key);
      return this.fail('overlap');
    }
    // Find the insertion point; any overlap other than an exact duplicate kills the datagram.
    const ps = d.pieces;
    let i = 0;
    while (i < ps.length && ps[i]!.start < offset) i++;
    const prev = i > 0 ? ps[i - 1]! : null;
    const next = i < ps.length ? ps[i]! : null;
    if (next && next.start === offset && next.end === end) {
      this.stats.duplicates++;
      return this.fail('duplicate');
    }
    if ((prev && prev.end > offset) || (next && next.start < end)) {
      this.stats.overlaps++;
      this.discard(key);
      return this.fail('overlap');
    }
    if (ps.length >= this.limits.maxFragments) {
      this.stats.tooMany++;
      this.discard(key);
      return this.fail('too-many');
    }
    const cost = data.length + (offset === 0 ? header.length : 0);
    while (this.bytes + cost > this.limits.maxBytes && this.table.size > 1) {
      if (!this.evictOldest(key)) break;
    }
    if (this.bytes + cost > this.limits.maxBytes) {
      this.stats.memoryEvictions++;
      this.discard(key);
      return this.fail('no-memory');
    }
    ps.splice(i, 0, { start: offset, end, data: data.slice() });
    if (offset === 0) d.header = header.slice();
    d.received += data.length;
    d.bytes += cost;
    this.bytes += cost;
    if (d.total < 0 || d.received !== d.total || !d.header) return this.fail('pending');
    // Complete: pieces are sorted and non-overlapping, and cover [0, total).
    const payload = new Uint8Array(d.total);
    for (const p of ps) payload.set(p.data, p.start);
    const h = d.header;
    this.discard(key);
    this.stats.reassembled++;
    return { header: h, payload };
  }

  /** Drops datagrams whose deadline passed; reports those with a first fragment. */
  tick(now: number, onExpired?: ExpiredHandler): void {
    for (const [key, d] of this.table) {
      if (d.deadline > now) continue;
      this.stats.timeouts++;
      if (onExpired && d.header && d.pieces.length && d.pieces[0]!.start === 0) onExpired(d.header, d.pieces[0]!.data);
      this.discard(key);
    }
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const d of this.table.values()) if (min === undefined || d.deadline < min) min = d.deadline;
    return min;
  }

  private maxEnd(d: Datagram): number {
    return d.pieces.length ? d.pieces[d.pieces.length - 1]!.end : 0;
  }

  private fail(v: FragmentVerdict): null {
    this.lastVerdict = v;
    return null;
  }

  private discard(key: string): void {
    const d = this.table.get(key);
    if (!d) return;
    this.bytes -= d.bytes;
    this.table.delete(key);
  }

  /** Evicts the oldest datagram other than `keep`; false when there is none. */
  private evictOldest(keep?: string): boolean {
    for (const key of this.table.keys()) {
      if (key === keep) continue;
      this.stats.memoryEvictions++;
      this.discard(key);
      return true;
    }
    return false;
  }
}
