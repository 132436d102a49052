/**
 * Known-answer vectors for every primitive, run on every backend; backends
 * must also agree byte for byte on random inputs.
 * Sources: RFC 7748 §6.1 (X25519), RFC 8439 §2.8.2 (ChaCha20-Poly1305),
 * the BLAKE2 reference (RFC 7693 Appendix B "abc", blake2s-kat.txt keyed),
 * draft-irtf-cfrg-xchacha-03 §A.3.1 (XChaCha20-Poly1305).
 */
import { describe, expect, it } from 'vitest';
import { createCipheriv, hkdfSync } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { cryptoBackends, defaultCrypto, nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { wireguardNonce } from '../../src/crypto/util.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

const SUNSCREEN = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");

const backends = Object.values(cryptoBackends);

describe.each(backends.map((b) => [b.name, b] as const))('%s backend', (_name, c) => {
  it('BLAKE2s-256 of "abc" (RFC 7693 Appendix B)', () => {
    expect(toHex(c.hash(ascii('abc')))).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
    expect(toHex(c.hash(ascii('a'), ascii('bc')))).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
  });

  it('BLAKE2s-256 of the empty string', () => {
    expect(toHex(c.hash(new Uint8Array(0)))).toBe('69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9');
  });

  it('X25519 Alice/Bob (RFC 7748 §6.1)', () => {
    const aPriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const aPub = c.publicKey(aPriv);
    const bPub = c.publicKey(bPriv);
    expect(toHex(aPub)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bPub)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(c.sharedSecret(aPriv, bPub)!)).toBe(shared);
    expect(toHex(c.sharedSecret(bPriv, aPub)!)).toBe(shared);
  });

  it('X25519 rejects low-order points (all-zero result)', () => {
    const priv = c.generatePrivateKey();
    expect(c.sharedSecret(priv, new Uint8Array(32))).toBeNull();
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(c.sharedSecret(priv, one)).toBeNull();
    // order-8 point from the Curve25519 low-order list
    expect(c.sharedSecret(priv, hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'))).toBeNull();
  });

  it('generated private keys are clamped', () => {
    for (let i = 0; i < 8; i++) {
      const k = c.generatePrivateKey();
      expect(k.length).toBe(32);
      expect(k[0]! & 7).toBe(0);
      expect(k[31]! & 0x80).toBe(0);
      expect(k[31]! & 0x40).toBe(0x40);
    }
  });

  it('ChaCha20-Poly1305 seal/open with the WireGuard nonce matches RFC 8439 AEAD construction', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const ad = hex('50515253c0c1c2c3c4c5c6c7');
    const counter = 0x0706050403020100n; // nonce 00000000 0001020304050607
    const nonce = hex('000000000001020304050607');
    const expected = chacha20poly1305(key, nonce, ad).encrypt(SUNSCREEN);
    const out = new Uint8Array(SUNSCREEN.length + 16 + 7);
    const n = c.seal(key, counter, SUNSCREEN, ad, out, 7);
    expect(n).toBe(SUNSCREEN.length + 16);
    expect(toHex(out.subarray(7, 7 + n))).toBe(toHex(expected));
    const back = new Uint8Array(SUNSCREEN.length);
    expect(c.open(key, counter, out.subarray(7, 7 + n), ad, back)).toBe(SUNSCREEN.length);
    expect(back).toEqual(SUNSCREEN);
    // any flipped bit fails authentication, without throwing
    const bad = out.slice(7, 7 + n);
    bad[3]! ^= 1;
    expect(c.open(key, counter, bad, ad, back)).toBe(-1);
    expect(c.open(key, counter + 1n, out.subarray(7, 7 + n), ad, back)).toBe(-1);
    expect(c.open(key, counter, new Uint8Array(5), ad, back)).toBe(-1);
  });

  it('number and bigint counters give the same nonce', () => {
    const key = new Uint8Array(32).fill(9);
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    c.seal(key, 2 ** 40 + 5, new Uint8Array(16), null, a);
    c.seal(key, 2n ** 40n + 5n, new Uint8Array(16), null, b);
    expect(a).toEqual(b);
  });

  it('empty plaintext (keepalive) seals to a bare tag', () => {
    const key = new Uint8Array(32).fill(1);
    const out = new Uint8Array(16);
    expect(c.seal(key, 0, new Uint8Array(0), null, out)).toBe(16);
    expect(c.open(key, 0, out, null, new Uint8Array(0))).toBe(0);
  });

  it('XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §A.3.1)', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const ad = hex('50515253c0c1c2c3c4c5c6c7');
    const sealed = c.xseal(key, nonce, SUNSCREEN, ad);
    expect(toHex(sealed)).toBe(
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
        'c0875924c1c7987947deafd8780acf49',
    );
    expect(c.xopen(key, nonce, sealed, ad)).toEqual(SUNSCREEN);
    const bad = sealed.slice();
    bad[0]! ^= 0x80;
    expect(c.xopen(key, nonce, bad, ad)).toBeNull();
  });

  it('HMAC-BLAKE2s and KDF1/2/3 equal HKDF-BLAKE2s (node:crypto hkdfSync, empty info)', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const input = ascii('WireGuard v1 zx2c4 Jason@zx2c4.com');
    const ref = new Uint8Array(hkdfSync('blake2s256', input, key, new Uint8Array(0), 96));
    const [t1, t2, t3] = c.kdf(3, key, input);
    expect(toHex(t1)).toBe(toHex(ref.subarray(0, 32)));
    expect(toHex(t2)).toBe(toHex(ref.subarray(32, 64)));
    expect(toHex(t3)).toBe(toHex(ref.subarray(64, 96)));
    expect(c.kdf(1, key, input)[0]).toEqual(t1);
    expect(c.kdf(2, key, input)[1]).toEqual(t2);
  });

  it('keyed BLAKE2s MAC is 16 bytes and key-dependent', () => {
    const m1 = c.mac(new Uint8Array(32).fill(1), ascii('msg'));
    const m2 = c.mac(new Uint8Array(32).fill(2), ascii('msg'));
    expect(m1.length).toBe(16);
    expect(toHex(m1)).not.toBe(toHex(m2));
  });
});

describe('reference checks of the libraries themselves', () => {
  it('RFC 8439 §2.8.2 ChaCha20-Poly1305 through OpenSSL and noble', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('070000004041424344454647');
    const ad = hex('50515253c0c1c2c3c4c5c6c7');
    const expectCt =
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116';
    const expectTag = '1ae10b594f09e26a7e902ecbd0600691';
    expect(toHex(chacha20poly1305(key, nonce, ad).encrypt(SUNSCREEN))).toBe(expectCt + expectTag);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    c.setAAD(ad);
    const body = Buffer.concat([c.update(SUNSCREEN), c.final()]);
    expect(body.toString('hex') + c.getAuthTag().toString('hex')).toBe(expectCt + expectTag);
  });

  it('keyed BLAKE2s-256 (blake2s-kat.txt, key 00..1f, empty and 1-byte input)', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    expect(toHex(blake2s(new Uint8Array(0), { key }))).toBe('48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49');
    expect(toHex(blake2s(new Uint8Array([0]), { key }))).toBe('40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1');
  });

  it('the WireGuard nonce layout', () => {
    expect(toHex(wireguardNonce(new Uint8Array(12), 0x0102030405060708n))).toBe('000000000807060504030201');
    expect(toHex(wireguardNonce(new Uint8Array(12), 2 ** 32 + 1))).toBe('000000000100000001000000');
  });
});

describe('backends agree byte for byte', () => {
  it('on random inputs for every primitive', () => {
    for (let i = 0; i < 20; i++) {
      const len = (i * 97) % 1500;
      const data = nobleCrypto.randomBytes(len);
      const key = nobleCrypto.randomBytes(32);
      expect(toHex(nodeCrypto.hash(data))).toBe(toHex(nobleCrypto.hash(data)));
      expect(toHex(nodeCrypto.hmac(key, data))).toBe(toHex(nobleCrypto.hmac(key, data)));
      expect(toHex(nodeCrypto.mac(key, data))).toBe(toHex(nobleCrypto.mac(key, data)));
      const a = new Uint8Array(len + 16);
      const b = new Uint8Array(len + 16);
      nodeCrypto.seal(key, i * 1000003, data, key, a);
      nobleCrypto.seal(key, i * 1000003, data, key, b);
      expect(toHex(a)).toBe(toHex(b));
      const priv = nobleCrypto.generatePrivateKey();
      const peer = nobleCrypto.publicKey(nobleCrypto.generatePrivateKey());
      expect(toHex(nodeCrypto.publicKey(priv))).toBe(toHex(nobleCrypto.publicKey(priv)));
      expect(toHex(nodeCrypto.sharedSecret(priv, peer)!)).toBe(toHex(nobleCrypto.sharedSecret(priv, peer)!));
    }
  });

  it('X25519 with public keys repeated, alternated and changed in place (node caches the last import)', () => {
    const privs = [0, 1].map(() => nobleCrypto.generatePrivateKey());
    const pubs = [0, 1, 2].map(() => nobleCrypto.publicKey(nobleCrypto.generatePrivateKey()));
    const buf = Uint8Array.from(pubs[0]!);
    for (const [p, q] of [[0, 0], [1, 0], [0, 1], [1, 1], [0, 2], [0, 0], [1, 2]] as const) {
      expect(toHex(nodeCrypto.sharedSecret(privs[p]!, pubs[q]!)!)).toBe(toHex(nobleCrypto.sharedSecret(privs[p]!, pubs[q]!)!));
    }
    // The same buffer with new contents is a new key.
    expect(toHex(nodeCrypto.sharedSecret(privs[0]!, buf)!)).toBe(toHex(nobleCrypto.sharedSecret(privs[0]!, pubs[0]!)!));
    buf.set(pubs[1]!);
    expect(toHex(nodeCrypto.sharedSecret(privs[0]!, buf)!)).toBe(toHex(nobleCrypto.sharedSecret(privs[0]!, pubs[1]!)!));
    // A low-order point still gives null after a cached valid key.
    expect(nodeCrypto.sharedSecret(privs[0]!, new Uint8Array(32))).toBeNull();
    expect(nodeCrypto.sharedSecret(privs[0]!, new Uint8Array(32))).toBeNull();
  });

  it('defaultCrypto honours WGTS_CRYPTO', () => {
    expect(['noble', 'node']).toContain(defaultCrypto().name);
  });
});
