import { describe, expect, it } from 'vitest';
import { blake2s } from '@noble/hashes/blake2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { CookieChecker, CookieGenerator, sourceBytes } from '../../src/wireguard/cookie.js';
import { T0, keyFrom, prng, randomBytesFrom } from './harness.js';

const utf8 = new TextEncoder();
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));

describe.each([
  ['noble', nobleCrypto],
  ['node', nodeCrypto],
] as const)('cookies (%s backend)', (_n, crypto) => {
  const responder = keyFrom(5, crypto);
  const msg = () => Uint8Array.from({ length: 148 }, (_, i) => (i * 13) & 0xff);

  it('mac1 = MAC(HASH("mac1----" ‖ receiver public key), msg[0..116])', () => {
    const gen = new CookieGenerator(crypto, responder.pub);
    const m = msg();
    gen.addMacs(m, T0);
    // independent: keyed BLAKE2s-128 from noble directly
    const key = blake2s(cat(utf8.encode('mac1----'), responder.pub));
    const want = blake2s(m.subarray(0, 116), { key, dkLen: 16 });
    expect(Buffer.from(m.subarray(116, 132)).toString('hex')).toBe(Buffer.from(want).toString('hex'));
    expect(Buffer.from(m.subarray(132)).toString('hex')).toBe('00'.repeat(16));
    const checker = new CookieChecker(crypto, randomBytesFrom(prng(1)));
    checker.init(responder.pub);
    expect(checker.checkMac1(m)).toBe(true);
    m[3]! ^= 1;
    expect(checker.checkMac1(m)).toBe(false);
  });

  it('cookie reply round trip: XChaCha20-Poly1305 under HASH("cookie--" ‖ pk), AD = mac1; mac2 then checks', () => {
    const checker = new CookieChecker(crypto, randomBytesFrom(prng(2)));
    checker.init(responder.pub);
    const gen = new CookieGenerator(crypto, responder.pub);
    const m = msg();
    gen.addMacs(m, T0);
    const src = sourceBytes('192.0.2.9', 4242);
    expect(checker.checkMac2(m, src, T0)).toBe(false);
    const reply = checker.createReply(m, 0xabcdef01, src, T0)!;
    expect(reply.length).toBe(64);
    expect(Buffer.from(reply.subarray(0, 8)).toString('hex')).toBe('0300000001efcdab');
    // independent decryption of the cookie
    const key = blake2s(cat(utf8.encode('cookie--'), responder.pub));
    const cookie = xchacha20poly1305(key, reply.subarray(8, 32), m.subarray(116, 132)).decrypt(reply.subarray(32));
    expect(cookie.length).toBe(16);
    expect(gen.consumeReply(reply, T0 + 10)).toBe(true);
    const m2 = msg();
    gen.addMacs(m2, T0 + 20);
    expect(Buffer.from(m2.subarray(132)).toString('hex')).toBe(Buffer.from(blake2s(m2.subarray(0, 132), { key: cookie, dkLen: 16 })).toString('hex'));
    expect(checker.checkMac2(m2, src, T0 + 20)).toBe(true);
    // a different source port does not pass; a cookie older than 120 s is not used
    expect(checker.checkMac2(m2, sourceBytes('192.0.2.9', 4243), T0 + 20)).toBe(false);
    const m3 = msg();
    gen.addMacs(m3, T0 + 10 + 120_001);
    expect(Buffer.from(m3.subarray(132)).toString('hex')).toBe('00'.repeat(16));
    // the checker's secret is older than 120 s: mac2 no longer validates
    expect(checker.checkMac2(m2, src, T0 + 120_001)).toBe(false);
  });

  it('rejects a reply whose AD (mac1) is not the last one sent, or that was tampered with', () => {
    const checker = new CookieChecker(crypto, randomBytesFrom(prng(3)));
    checker.init(responder.pub);
    const gen = new CookieGenerator(crypto, responder.pub);
    const m = msg();
    expect(gen.consumeReply(new Uint8Array(64), T0)).toBe(false); // nothing sent yet
    gen.addMacs(m, T0);
    const reply = checker.createReply(m, 1, sourceBytes('::1', 1), T0)!;
    const m2 = msg();
    m2[10] = 99;
    gen.addMacs(m2, T0); // another message sent since: different mac1
    expect(gen.consumeReply(reply, T0)).toBe(false);
    gen.addMacs(m, T0);
    const bad = Uint8Array.from(reply);
    bad[50]! ^= 1;
    expect(gen.consumeReply(bad, T0)).toBe(false);
    expect(gen.consumeReply(reply, T0)).toBe(true);
  });

  it('a new secret (after 120 s) invalidates the remembered cookie; every reply has its own nonce', () => {
    const checker = new CookieChecker(crypto, randomBytesFrom(prng(4)));
    checker.init(responder.pub);
    const gen = new CookieGenerator(crypto, responder.pub);
    const src = sourceBytes('192.0.2.7', 51820);
    const m = msg();
    gen.addMacs(m, T0);
    const nonces = new Set<string>();
    for (let i = 0; i < 200; i++) nonces.add(Buffer.from(checker.createReply(m, i, src, T0)!.subarray(8, 32)).toString('hex'));
    expect(nonces.size).toBe(200);
    expect(gen.consumeReply(Uint8Array.from(checker.createReply(m, 1, src, T0)!), T0)).toBe(true);
    const m2 = msg();
    gen.addMacs(m2, T0 + 10);
    expect(checker.checkMac2(m2, src, T0 + 10)).toBe(true);
    // Other sources in between, then the same one again: still the same cookie.
    checker.createReply(m, 1, sourceBytes('192.0.2.8', 51820), T0 + 10);
    expect(checker.checkMac2(m2, sourceBytes('192.0.2.8', 51820), T0 + 10)).toBe(false);
    expect(checker.checkMac2(m2, src, T0 + 10)).toBe(true);
    // 120 s on, a reply makes a new secret: the old cookie no longer passes, the new one does.
    const later = T0 + 120_001;
    const m3 = msg();
    gen.addMacs(m3, T0 + 10);
    const reply = Uint8Array.from(checker.createReply(m3, 1, src, later)!);
    expect(checker.checkMac2(m2, src, later)).toBe(false);
    expect(gen.consumeReply(reply, later)).toBe(true);
    const m4 = msg();
    gen.addMacs(m4, later);
    expect(checker.checkMac2(m4, src, later)).toBe(true);
  });
});

it('sourceBytes is address ‖ port (big-endian), IPv4 4 bytes, IPv6 16 bytes', () => {
  expect(Buffer.from(sourceBytes('1.2.3.4', 0x1234)).toString('hex')).toBe('010203041234');
  expect(sourceBytes('fe80::1%eth0', 1).length).toBe(18);
  expect(sourceBytes('not-an-ip', 1).length).toBe(11);
  expect(Buffer.from(sourceBytes('::ffff:1.2.3.4', 0x1234)).toString('hex')).toBe('010203041234');
});
