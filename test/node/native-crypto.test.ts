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

describe.skipIf(!native)('native BLAKE2s-256 hash, HMAC and KDF1-3 (handshake)', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  it('the addon supplies hash, hmac and kdf (not the node:crypto ones)', () => {
    expect(native!.hash).not.toBe(nodeCrypto.hash);
    expect(native!.hmac).not.toBe(nodeCrypto.hmac);
    expect(native!.kdf).not.toBe(nodeCrypto.kdf);
  });

  it('same bytes as noble and node:crypto for keys and inputs across block boundaries', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.uint8Array({ maxLength: 90 }), { maxLength: 4 }),
        (key, input, parts) => {
          expect(hex(native!.hash(...parts))).toBe(hex(nobleCrypto.hash(...parts)));
          expect(hex(native!.hash(input))).toBe(hex(nodeCrypto.hash(input)));
          expect(hex(native!.hmac(key, input))).toBe(hex(nobleCrypto.hmac(key, input)));
          expect(hex(native!.hmac(key, input))).toBe(hex(nodeCrypto.hmac(key, input)));
          expect(native!.kdf(1, key, input).map(hex)).toEqual(nobleCrypto.kdf(1, key, input).map(hex));
          expect(native!.kdf(2, key, input).map(hex)).toEqual(nodeCrypto.kdf(2, key, input).map(hex));
          expect(native!.kdf(3, key, input).map(hex)).toEqual(nobleCrypto.kdf(3, key, input).map(hex));
        },
      ),
      { seed: 11, numRuns: 300 },
    );
    // Sizes around the 64-byte block and the 256-byte stack buffer of the addon's HMAC.
    const key = new Uint8Array(32).fill(0x5a);
    for (const n of [0, 1, 31, 32, 33, 63, 64, 65, 128, 192, 255, 256, 257, 1000]) {
      const data = Uint8Array.from({ length: n }, (_, i) => i * 7);
      expect(hex(native!.hash(data))).toBe(hex(nobleCrypto.hash(data)));
      expect(hex(native!.hmac(key, data))).toBe(hex(nobleCrypto.hmac(key, data)));
      expect(native!.kdf(3, key, data).map(hex)).toEqual(nobleCrypto.kdf(3, key, data).map(hex));
    }
  });

  it('results are the caller\'s own arrays; a hash of many parts grows the scratch', () => {
    const k = new Uint8Array(32).fill(1);
    const [a1, a2] = native!.kdf(2, k, new Uint8Array([1]));
    const snapshot = [hex(a1!), hex(a2!)];
    const h = native!.hash(new Uint8Array([1]));
    const hHex = hex(h);
    native!.kdf(3, k, new Uint8Array([2]));
    native!.hash(new Uint8Array([2]));
    expect([hex(a1!), hex(a2!)]).toEqual(snapshot);
    expect(hex(h)).toBe(hHex);
    const big = Array.from({ length: 5 }, (_, i) => new Uint8Array(200).fill(i));
    expect(hex(native!.hash(...big))).toBe(hex(nobleCrypto.hash(...big)));
  });
});

describe.skipIf(!native)('native keyed BLAKE2s and XChaCha20-Poly1305 (cookies)', () => {
  it('the addon supplies mac, xseal and xopen (not the JS fallbacks)', () => {
    expect(native!.mac).not.toBe(nodeCrypto.mac);
    expect(native!.xseal).not.toBe(nodeCrypto.xseal);
    expect(native!.xopen).not.toBe(nodeCrypto.xopen);
  });

  it('mac: same bytes as noble for keys of 1..32 bytes and data across block boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (key, data) => {
        expect(Buffer.from(native!.mac(key, data)).toString('hex')).toBe(Buffer.from(nobleCrypto.mac(key, data)).toString('hex'));
      }),
      { seed: 7, numRuns: 500 },
    );
    // Results are the caller's own (the addon writes into scratch that is copied out).
    const k = new Uint8Array(16).fill(1);
    const first = native!.mac(k, new Uint8Array([1]));
    const firstHex = Buffer.from(first).toString('hex');
    const second = native!.mac(k, new Uint8Array([2]));
    expect(Buffer.from(first).toString('hex')).toBe(firstHex);
    expect(Buffer.from(second).toString('hex')).not.toBe(firstHex);
    const s1 = native!.xseal(new Uint8Array(32), new Uint8Array(24), new Uint8Array(16).fill(1), new Uint8Array(0));
    const s1Hex = Buffer.from(s1).toString('hex');
    native!.xseal(new Uint8Array(32), new Uint8Array(24), new Uint8Array(16).fill(2), new Uint8Array(0));
    expect(Buffer.from(s1).toString('hex')).toBe(s1Hex);
    // Exact block multiples (the last full block is the final one).
    const key = new Uint8Array(32).fill(0x42);
    for (const n of [0, 1, 63, 64, 65, 116, 128, 132, 192]) {
      const data = Uint8Array.from({ length: n }, (_, i) => i);
      expect(Buffer.from(native!.mac(key, data)).toString('hex')).toBe(Buffer.from(nobleCrypto.mac(key, data)).toString('hex'));
    }
  });

  it('xseal/xopen: same bytes as noble, open what noble seals, -1 (null) on any change', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 40 }),
        (key, nonce, pt, ad) => {
          const a = native!.xseal(key, nonce, pt, ad);
          const b = nobleCrypto.xseal(key, nonce, pt, ad);
          expect(Buffer.from(a).toString('hex')).toBe(Buffer.from(b).toString('hex'));
          expect(Buffer.from(native!.xopen(key, nonce, b, ad)!).equals(Buffer.from(pt))).toBe(true);
          const bad = Uint8Array.from(b);
          bad[bad.length - 1]! ^= 0x80;
          expect(native!.xopen(key, nonce, bad, ad)).toBeNull();
          const badNonce = Uint8Array.from(nonce);
          badNonce[20]! ^= 1;
          expect(native!.xopen(key, badNonce, b, ad)).toBeNull();
        },
      ),
      { seed: 11, numRuns: 300 },
    );
    expect(native!.xopen(new Uint8Array(32), new Uint8Array(24), new Uint8Array(15), new Uint8Array(0))).toBeNull();
  });

  it('XChaCha20-Poly1305 test vector (draft-irtf-cfrg-xchacha-03 §A.3.1)', () => {
    const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const ad = hex('50515253c0c1c2c3c4c5c6c7');
    const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const out = Buffer.from(native!.xseal(key, nonce, pt, ad)).toString('hex');
    expect(out.slice(0, 32)).toBe('bd6d179d3e83d43b9576579493c0e939');
    expect(out.slice(-32)).toBe('c0875924c1c7987947deafd8780acf49');
  });
});

describe.skipIf(!native)('native X25519 on raw keys (Node OpenSSL scalar multiplication)', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
  const hasRaw = typeof (native as unknown as { sharedSecret: unknown })?.sharedSecret === 'function' && native!.sharedSecret !== nodeCrypto.sharedSecret;

  it.skipIf(!hasRaw)('the addon supplies publicKey and sharedSecret (not the node:crypto ones)', () => {
    expect(native!.publicKey).not.toBe(nodeCrypto.publicKey);
    expect(native!.sharedSecret).not.toBe(nodeCrypto.sharedSecret);
  });

  it('RFC 7748 §6.1: both public keys and the shared secret', () => {
    const aPriv = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bPriv = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const aPub = native!.publicKey(aPriv);
    const bPub = native!.publicKey(bPriv);
    expect(hex(aPub)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(hex(bPub)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(hex(native!.sharedSecret(aPriv, bPub)!)).toBe(shared);
    expect(hex(native!.sharedSecret(bPriv, aPub)!)).toBe(shared);
  });

  it('RFC 7748 §5.2: the scalar is clamped, the u-coordinate\'s top bit ignored', () => {
    const k = fromHex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    const u = fromHex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c');
    expect(hex(native!.sharedSecret(k, u)!)).toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
    const k2 = fromHex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d');
    const u2 = fromHex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493');
    expect(hex(native!.sharedSecret(k2, u2)!)).toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957');
  });

  it('same bytes as noble and node:crypto on random keys; the caller owns each result', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (priv, pub) => {
        const n = native!.sharedSecret(priv, pub);
        const r = nobleCrypto.sharedSecret(priv, pub);
        expect(n === null ? null : hex(n)).toBe(r === null ? null : hex(r));
        expect(hex(native!.publicKey(priv))).toBe(hex(nobleCrypto.publicKey(priv)));
      }),
      { seed: 7, numRuns: 200 },
    );
    const a = nodeCrypto.generatePrivateKey();
    const b = nodeCrypto.generatePrivateKey();
    const s1 = native!.sharedSecret(a, nodeCrypto.publicKey(b))!;
    const before = hex(s1);
    native!.sharedSecret(b, nodeCrypto.publicKey(a));
    native!.publicKey(a);
    expect(hex(s1)).toBe(before);
    expect(before).toBe(hex(nodeCrypto.sharedSecret(a, nodeCrypto.publicKey(b))!));
  });

  it('low-order points give null; wrong key sizes give null (as a refused import)', () => {
    const priv = native!.generatePrivateKey();
    expect(native!.sharedSecret(priv, new Uint8Array(32))).toBeNull();
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(native!.sharedSecret(priv, one)).toBeNull();
    expect(native!.sharedSecret(priv, fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'))).toBeNull();
    expect(native!.sharedSecret(priv, new Uint8Array(31))).toBeNull();
    expect(native!.sharedSecret(new Uint8Array(33), nobleCrypto.publicKey(priv))).toBeNull();
    expect(() => native!.publicKey(new Uint8Array(16))).toThrow(RangeError);
  });
});
