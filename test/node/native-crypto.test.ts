import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { nativeCrypto } from '../../src/node/native-crypto.js';

const native = nativeCrypto();

describe.skipIf(!native)('native ChaCha20-Poly1305 (addon on Node OpenSSL)', () => {
  it('matches noble on the RFC 8439 2.8.2 key, text and ad with a WireGuard counter', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const ad = Uint8Array.from([0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7]);
    const a = new Uint8Array(pt.length + 16);
    const b = new Uint8Array(pt.length + 16);
    expect(native!.seal(key, 0x4746454443424140n, pt, ad, a)).toBe(pt.length + 16);
    nobleCrypto.seal(key, 0x4746454443424140n, pt, ad, b);
    expect(Buffer.from(a).toString('hex')).toBe(Buffer.from(b).toString('hex'));
  });

  it('same bytes as noble and node:crypto, and opens what they seal', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ maxLength: 1500 }),
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
        fc.integer({ min: 0, max: 40 }),
        (key, counter, pt, ad, off) => {
          const out = new Uint8Array(off + pt.length + 16);
          const ref = new Uint8Array(pt.length + 16);
          expect(native!.seal(key, counter, pt, ad, out, off)).toBe(pt.length + 16);
          nodeCrypto.seal(key, counter, pt, ad, ref);
          expect(Buffer.from(out.subarray(off)).equals(Buffer.from(ref))).toBe(true);
          const back = new Uint8Array(pt.length + 3);
          expect(native!.open(key, counter, ref, ad, back, 3)).toBe(pt.length);
          expect(Buffer.from(back.subarray(3)).equals(Buffer.from(pt))).toBe(true);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('number and bigint counters agree; a flipped bit, wrong counter or wrong ad fails with -1', () => {
    const key = new Uint8Array(32).fill(7);
    const pt = new Uint8Array(100).fill(1);
    const c1 = new Uint8Array(116);
    const c2 = new Uint8Array(116);
    native!.seal(key, 12345, pt, null, c1);
    native!.seal(key, 12345n, pt, null, c2);
    expect(c1).toEqual(c2);
    const out = new Uint8Array(100);
    expect(native!.open(key, 12346, c1, null, out)).toBe(-1);
    expect(native!.open(key, 12345, c1, new Uint8Array(1), out)).toBe(-1);
    c1[50]! ^= 1;
    expect(native!.open(key, 12345, c1, null, out)).toBe(-1);
    expect(native!.open(key, 1, new Uint8Array(15), null, out)).toBe(-1);
    // Empty plaintext (a keepalive): just the tag.
    const tag = new Uint8Array(16);
    expect(native!.seal(key, 9, new Uint8Array(0), null, tag)).toBe(16);
    expect(native!.open(key, 9, tag, null, new Uint8Array(0))).toBe(0);
  });

  it('in place, and bad arguments are JS errors', () => {
    const key = new Uint8Array(32).fill(3);
    const buf = new Uint8Array(64 + 16);
    buf.fill(9, 0, 64);
    const ref = new Uint8Array(80);
    nodeCrypto.seal(key, 5, buf.subarray(0, 64), null, ref);
    expect(native!.seal(key, 5, buf.subarray(0, 64), null, buf, 0)).toBe(80);
    expect(buf).toEqual(ref);
    expect(() => native!.seal(new Uint8Array(31), 0, buf, null, new Uint8Array(200))).toThrow(/32 bytes/);
    expect(() => native!.seal(key, 0, buf, null, new Uint8Array(10))).toThrow(/too small/);
  });
});
