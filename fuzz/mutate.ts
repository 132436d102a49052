/**
 * Byte- and text-level mutations for the coverage-guided loop (AFL/libFuzzer
 * style: flips, interesting values, arithmetic, chunk copy/insert/delete,
 * splicing with another corpus entry, dictionary tokens). Deterministic given
 * the PRNG, so a run repeats with the same FUZZ_SEED.
 */

/** mulberry32: small, fast, seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x40, 0x45, 0x60, 16, 32, 64, 100, 127, 128, 255];
const INTERESTING_16 = [0, 1, 0x80, 0xff, 0x100, 0x3ff, 0x400, 0x7fff, 0x8000, 0xffff, 1280, 1420, 1500, 65535, 576];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0x200000];

export class Mutator {
  private readonly rand: () => number;

  constructor(
    seed: number,
    private readonly dictionary: readonly Uint8Array[] = [],
    private readonly maxLength = 4096,
  ) {
    this.rand = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** 1..8 stacked mutations of `base` (never modified), optionally splicing with `other`. */
  mutate(base: Uint8Array, other?: Uint8Array): Uint8Array {
    let b: Uint8Array = Uint8Array.from(base);
    // Mostly one or two edits (keeps what made the base interesting), sometimes a burst.
    const r = this.int(8);
    const rounds = r < 4 ? 1 : r < 6 ? 2 : r < 7 ? 4 : 8;
    for (let i = 0; i < rounds; i++) b = this.once(b, other);
    return b.length > this.maxLength ? b.subarray(0, this.maxLength) : b;
  }

  private once(b: Uint8Array, other?: Uint8Array): Uint8Array {
    const n = b.length;
    switch (this.int(13)) {
      case 0: // bit flip
        if (n) b[this.int(n)]! ^= 1 << this.int(8);
        return b;
      case 1: // random byte
        if (n) b[this.int(n)] = this.int(256);
        return b;
      case 2: // interesting byte
        if (n) b[this.int(n)] = this.pick(INTERESTING_8);
        return b;
      case 3: {
        // interesting 16-bit, either endianness
        if (n < 2) return b;
        const at = this.int(n - 1);
        const v = this.pick(INTERESTING_16);
        if (this.int(2)) (b[at] = v >> 8), (b[at + 1] = v & 0xff);
        else (b[at] = v & 0xff), (b[at + 1] = v >> 8);
        return b;
      }
      case 4: {
        if (n < 4) return b;
        const at = this.int(n - 3);
        const v = this.pick(INTERESTING_32);
        for (let i = 0; i < 4; i++) b[at + (this.int(2) ? i : 3 - i)] = (v >>> (8 * i)) & 0xff;
        return b;
      }
      case 5: // small arithmetic
        if (n) {
          const at = this.int(n);
          b[at] = (b[at]! + this.int(35) - 17) & 0xff;
        }
        return b;
      case 6: {
        // delete a chunk
        if (n < 2) return b;
        const at = this.int(n);
        const len = 1 + this.int(Math.min(n - at, 16));
        return concat(b.subarray(0, at), b.subarray(at + len));
      }
      case 7: {
        // insert random bytes
        const at = this.int(n + 1);
        const ins = new Uint8Array(1 + this.int(16)).map(() => this.int(256));
        return concat(b.subarray(0, at), ins, b.subarray(at));
      }
      case 8: {
        // duplicate a chunk in place
        if (!n) return b;
        const at = this.int(n);
        const len = 1 + this.int(Math.min(n - at, 64));
        const to = this.int(n + 1);
        return concat(b.subarray(0, to), b.subarray(at, at + len), b.subarray(to));
      }
      case 9: {
        // overwrite from another corpus entry
        if (!other || !other.length || !n) return b;
        const from = this.int(other.length);
        const to = this.int(n);
        const len = Math.min(1 + this.int(32), other.length - from, n - to);
        b.set(other.subarray(from, from + len), to);
        return b;
      }
      case 10: {
        // splice: our head + their tail
        if (!other || !other.length) return b;
        return concat(b.subarray(0, this.int(n + 1)), other.subarray(this.int(other.length)));
      }
      case 11: {
        // dictionary token: insert or overwrite
        if (!this.dictionary.length) return b;
        const tok = this.pick(this.dictionary);
        const at = this.int(n + 1);
        if (this.int(2) && at + tok.length <= n) {
          b.set(tok, at);
          return b;
        }
        return concat(b.subarray(0, at), tok, b.subarray(at));
      }
      default: {
        // truncate
        if (!n) return b;
        return b.subarray(0, this.int(n));
      }
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
