/**
 * Handshake known-answer tests.
 *
 * Where the expected values come from:
 * 1. `RefNoise` below is an independent Noise implementation written directly
 *    from the Noise spec (rev 34, §5 SymmetricState/HandshakeState, §9 psk
 *    modifier) on @noble primitives — it shares no code with src/.
 * 2. RefNoise is first checked against the cacophony test vector
 *    Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (haskell-cryptography/cacophony,
 *    vectors/cacophony.txt): both handshake messages, the handshake hash and
 *    four transport messages, byte for byte.
 * 3. A WireGuard handshake (fixed static keys, fixed ephemerals, fixed
 *    timestamp, with and without a PSK) is run through src/wireguard/noise.ts
 *    and compared with RefNoise run with WireGuard's parameters: prologue =
 *    the identifier, payload 1 = the TAI64N timestamp, payload 2 empty. Both
 *    crypto backends must give the same bytes.
 */
import { describe, expect, it } from 'vitest';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import {
  Handshake,
  HandshakeState,
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  deriveTransportKeys,
  prepareEphemeral,
  responderInitialHash,
} from '../../src/wireguard/noise.js';
import { nativeCrypto } from '../../src/node/native-crypto.js';
import { INITIATION, RESPONSE, readU32 } from '../../src/wireguard/messages.js';
import { tai64n } from '../../src/wireguard/tai64n.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cat = (...p: Uint8Array[]) => {
  const out = new Uint8Array(p.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of p) {
    out.set(x, o);
    o += x.length;
  }
  return out;
};

// ---- RefNoise: straight from the Noise spec ----------------------------------
const HASHLEN = 32;
const H = (data: Uint8Array) => blake2s(data);
const HMAC = (k: Uint8Array, d: Uint8Array) => hmac(blake2s, k, d);
function HKDF(ck: Uint8Array, ikm: Uint8Array, n: 2 | 3): Uint8Array[] {
  const tempKey = HMAC(ck, ikm);
  const o1 = HMAC(tempKey, Uint8Array.of(1));
  const o2 = HMAC(tempKey, cat(o1, Uint8Array.of(2)));
  if (n === 2) return [o1, o2];
  return [o1, o2, HMAC(tempKey, cat(o2, Uint8Array.of(3)))];
}
function nonce(n: number): Uint8Array {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setBigUint64(4, BigInt(n), true);
  return b;
}
class CipherState {
  k: Uint8Array | null = null;
  n = 0;
  encrypt(ad: Uint8Array, pt: Uint8Array): Uint8Array {
    if (!this.k) return pt;
    return chacha20poly1305(this.k, nonce(this.n++), ad).encrypt(pt);
  }
  decrypt(ad: Uint8Array, ct: Uint8Array): Uint8Array {
    if (!this.k) return ct;
    return chacha20poly1305(this.k, nonce(this.n++), ad).decrypt(ct);
  }
}
class SymmetricState {
  ck: Uint8Array;
  h: Uint8Array;
  cs = new CipherState();
  constructor(name: string) {
    const b = new TextEncoder().encode(name);
    this.h = b.length <= HASHLEN ? cat(b, new Uint8Array(HASHLEN - b.length)) : H(b);
    this.ck = this.h;
  }
  mixKey(ikm: Uint8Array) {
    const [ck, k] = HKDF(this.ck, ikm, 2);
    this.ck = ck!;
    this.cs = new CipherState();
    this.cs.k = k!;
  }
  mixHash(d: Uint8Array) {
    this.h = H(cat(this.h, d));
  }
  mixKeyAndHash(ikm: Uint8Array) {
    const [ck, th, k] = HKDF(this.ck, ikm, 3);
    this.ck = ck!;
    this.mixHash(th!);
    this.cs = new CipherState();
    this.cs.k = k!;
  }
  encryptAndHash(pt: Uint8Array) {
    const c = this.cs.encrypt(this.h, pt);
    this.mixHash(c);
    return c;
  }
  decryptAndHash(c: Uint8Array) {
    const p = this.cs.decrypt(this.h, c);
    this.mixHash(c);
    return p;
  }
  split(): [CipherState, CipherState] {
    const [k1, k2] = HKDF(this.ck, new Uint8Array(0), 2);
    const c1 = new CipherState();
    c1.k = k1!;
    const c2 = new CipherState();
    c2.k = k2!;
    return [c1, c2];
  }
}
const DH = (priv: Uint8Array, pub: Uint8Array) => x25519.getSharedSecret(priv, pub);
const PUB = (priv: Uint8Array) => x25519.getPublicKey(priv);

interface RefInputs {
  prologue: Uint8Array;
  psk: Uint8Array;
  initStatic: Uint8Array;
  initEphemeral: Uint8Array;
  respStatic: Uint8Array;
  respEphemeral: Uint8Array;
  payload1: Uint8Array;
  payload2: Uint8Array;
}
/** IKpsk2: <- s ... -> e, es, s, ss ; <- e, ee, se, psk. Returns both messages and the split. */
function refIKpsk2(x: RefInputs) {
  const name = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
  const rs = PUB(x.respStatic);
  // initiator
  const i = new SymmetricState(name);
  i.mixHash(x.prologue);
  i.mixHash(rs);
  const ie = PUB(x.initEphemeral);
  i.mixHash(ie);
  i.mixKey(ie); // psk modifier: "e" also calls MixKey
  i.mixKey(DH(x.initEphemeral, rs));
  const encS = i.encryptAndHash(PUB(x.initStatic));
  i.mixKey(DH(x.initStatic, rs));
  const encP1 = i.encryptAndHash(x.payload1);
  const msg1 = cat(ie, encS, encP1);
  // responder reads msg1 and writes msg2
  const r = new SymmetricState(name);
  r.mixHash(x.prologue);
  r.mixHash(rs);
  r.mixHash(ie);
  r.mixKey(ie);
  r.mixKey(DH(x.respStatic, ie));
  const is = r.decryptAndHash(encS);
  r.mixKey(DH(x.respStatic, is));
  expect(toHex(r.decryptAndHash(encP1))).toBe(toHex(x.payload1));
  const re = PUB(x.respEphemeral);
  r.mixHash(re);
  r.mixKey(re);
  r.mixKey(DH(x.respEphemeral, ie)); // ee
  r.mixKey(DH(x.respEphemeral, is)); // se
  r.mixKeyAndHash(x.psk);
  const encP2 = r.encryptAndHash(x.payload2);
  const msg2 = cat(re, encP2);
  // initiator reads msg2
  i.mixHash(re);
  i.mixKey(re);
  i.mixKey(DH(x.initEphemeral, re));
  i.mixKey(DH(x.initStatic, re));
  i.mixKeyAndHash(x.psk);
  expect(toHex(i.decryptAndHash(encP2))).toBe(toHex(x.payload2));
  expect(toHex(i.h)).toBe(toHex(r.h));
  const [i1, i2] = i.split();
  const [r1, r2] = r.split();
  return { msg1, msg2, hash: i.h, initSend: i1, initRecv: i2, respRecv: r1, respSend: r2 };
}

// ---- 1. RefNoise against cacophony --------------------------------------------
describe('reference Noise implementation', () => {
  it('reproduces the cacophony Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s vector', () => {
    const v = {
      prologue: '4a6f686e2047616c74',
      psk: '54686973206973206d7920417573747269616e20706572737065637469766521',
      initStatic: 'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1',
      initEphemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
      respStatic: '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
      respEphemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
      initRemoteStatic: '31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62',
      handshakeHash: 'f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5',
      messages: [
        ['4c756477696720766f6e204d69736573', 'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2ad57527207feb56253c9c94a9e496782ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985464cf17e51ee93109008399a21f7e13f'],
        ['4d757272617920526f746862617264', '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f007572dab0322217755c0632f365717edbf34d33e87a'],
        ['462e20412e20486179656b', '8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7'],
        ['4361726c204d656e676572', '07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef'],
        ['4a65616e2d426170746973746520536179', '6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d'],
        ['457567656e2042f6686d20766f6e2042617765726b', 'dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292'],
      ],
    };
    expect(toHex(PUB(hex(v.respStatic)))).toBe(v.initRemoteStatic);
    const out = refIKpsk2({
      prologue: hex(v.prologue),
      psk: hex(v.psk),
      initStatic: hex(v.initStatic),
      initEphemeral: hex(v.initEphemeral),
      respStatic: hex(v.respStatic),
      respEphemeral: hex(v.respEphemeral),
      payload1: hex(v.messages[0]![0]!),
      payload2: hex(v.messages[1]![0]!),
    });
    expect(toHex(out.msg1)).toBe(v.messages[0]![1]);
    expect(toHex(out.msg2)).toBe(v.messages[1]![1]);
    expect(toHex(out.hash)).toBe(v.handshakeHash);
    // transport: initiator sends with the first split key, responder with the second
    expect(toHex(out.initSend.encrypt(new Uint8Array(0), hex(v.messages[2]![0]!)))).toBe(v.messages[2]![1]);
    expect(toHex(out.respSend.encrypt(new Uint8Array(0), hex(v.messages[3]![0]!)))).toBe(v.messages[3]![1]);
    expect(toHex(out.initSend.encrypt(new Uint8Array(0), hex(v.messages[4]![0]!)))).toBe(v.messages[4]![1]);
    expect(toHex(out.respSend.encrypt(new Uint8Array(0), hex(v.messages[5]![0]!)))).toBe(v.messages[5]![1]);
  });
});

// ---- 2. src/wireguard/noise.ts against RefNoise -------------------------------
const IDENTIFIER = new TextEncoder().encode('WireGuard v1 zx2c4 Jason@zx2c4.com');
const fixed = {
  initStatic: hex('e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1'),
  initEphemeral: hex('893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a'),
  respStatic: hex('4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893'),
  respEphemeral: hex('bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b'),
  timestamp: tai64n(1_764_000_000_123),
};

function wgHandshake(crypto: CryptoProvider, psk: Uint8Array, prepared = false) {
  const iPub = crypto.publicKey(fixed.initStatic);
  const rPub = crypto.publicKey(fixed.respStatic);
  // initiator's view of the responder and vice versa
  const hsI = new Handshake(rPub, crypto);
  hsI.precomputedStaticStatic = crypto.sharedSecret(fixed.initStatic, rPub);
  hsI.presharedKey.set(psk);
  const hsR = new Handshake(iPub, crypto);
  hsR.precomputedStaticStatic = crypto.sharedSecret(fixed.respStatic, iPub);
  hsR.presharedKey.set(psk);

  const init = new Uint8Array(148);
  const initEph = prepared ? prepareEphemeral(crypto, rPub, Uint8Array.from(fixed.initEphemeral), 0)! : Uint8Array.from(fixed.initEphemeral);
  expect(createInitiation(crypto, hsI, iPub, initEph, fixed.timestamp, 0x11223344, init)).toBe(true);
  const consumed = consumeInitiation(crypto, init, fixed.respStatic, responderInitialHash(crypto, rPub), (s) =>
    toHex(s) === toHex(iPub) ? hsR.precomputedStaticStatic : undefined,
  );
  expect(consumed).not.toBeNull();
  hsR.hash = consumed!.hash;
  hsR.chainKey = consumed!.chainKey;
  hsR.remoteIndex = consumed!.remoteIndex;
  hsR.remoteEphemeral = consumed!.remoteEphemeral;
  hsR.state = HandshakeState.InitiationConsumed;
  const resp = new Uint8Array(92);
  const respEph = prepared ? prepareEphemeral(crypto, iPub, Uint8Array.from(fixed.respEphemeral), 0)! : Uint8Array.from(fixed.respEphemeral);
  expect(createResponse(crypto, hsR, respEph, 0x55667788, resp)).toBe(true);
  const got = consumeResponse(crypto, resp, hsI, fixed.initStatic);
  expect(got).not.toBeNull();
  return { init, resp, consumed: consumed!, got: got!, hsR, iKeys: deriveTransportKeys(crypto, got!.chainKey, true), rKeys: deriveTransportKeys(crypto, hsR.chainKey, false) };
}

const native = nativeCrypto();

describe.each([
  ['noble', nobleCrypto],
  ['node', nodeCrypto],
  ...(native ? ([['native', native]] as const) : []),
] as const)('WireGuard handshake (%s backend)', (_name, crypto) => {
  for (const [withPsk, prepared] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`matches the Noise spec derivation ${withPsk ? 'with' : 'without'} a preshared key${prepared ? ', ephemerals prepared ahead' : ''}`, () => {
      const psk = withPsk ? hex('54686973206973206d7920417573747269616e20706572737065637469766521') : new Uint8Array(32);
      const wg = wgHandshake(crypto, psk, prepared);
      const ref = refIKpsk2({
        prologue: IDENTIFIER,
        psk,
        ...fixed,
        payload1: fixed.timestamp,
        payload2: new Uint8Array(0),
      });
      // initiation: type, sender, then exactly the Noise message 1
      expect(toHex(wg.init.subarray(0, 4))).toBe('01000000');
      expect(readU32(wg.init, INITIATION.sender)).toBe(0x11223344);
      expect(toHex(wg.init.subarray(INITIATION.ephemeral, INITIATION.mac1))).toBe(toHex(ref.msg1));
      // response: type, sender, receiver, then exactly the Noise message 2
      expect(toHex(wg.resp.subarray(0, 4))).toBe('02000000');
      expect(readU32(wg.resp, RESPONSE.sender)).toBe(0x55667788);
      expect(readU32(wg.resp, RESPONSE.receiver)).toBe(0x11223344);
      expect(toHex(wg.resp.subarray(RESPONSE.ephemeral, RESPONSE.mac1))).toBe(toHex(ref.msg2));
      expect(toHex(wg.got.hash)).toBe(toHex(ref.hash));
      expect(toHex(wg.consumed.timestamp)).toBe(toHex(fixed.timestamp));
      // transport keys: initiator send = T1 = responder recv, and vice versa
      expect(toHex(wg.iKeys.send)).toBe(toHex(ref.initSend.k!));
      expect(toHex(wg.iKeys.recv)).toBe(toHex(ref.initRecv.k!));
      expect(toHex(wg.rKeys.send)).toBe(toHex(ref.respSend.k!));
      expect(toHex(wg.rKeys.recv)).toBe(toHex(ref.respRecv.k!));
    });
  }

  it('rejects a tampered initiation and response', () => {
    const wg = wgHandshake(crypto, new Uint8Array(32));
    const rPub = crypto.publicKey(fixed.respStatic);
    for (const off of [INITIATION.ephemeral + 3, INITIATION.static + 5, INITIATION.timestamp + 20]) {
      const bad = Uint8Array.from(wg.init);
      bad[off]! ^= 1;
      expect(consumeInitiation(crypto, bad, fixed.respStatic, responderInitialHash(crypto, rPub), () => wg.hsR.precomputedStaticStatic ?? new Uint8Array(32))).toBeNull();
    }
    // a response is only accepted in InitiationCreated
    const hs = new Handshake(rPub, crypto);
    expect(consumeResponse(crypto, wg.resp, hs, fixed.initStatic)).toBeNull();
  });

  it('refuses an initiation to a peer whose static-static DH is unusable', () => {
    const hs = new Handshake(crypto.publicKey(fixed.respStatic), crypto);
    hs.precomputedStaticStatic = null;
    expect(createInitiation(crypto, hs, crypto.publicKey(fixed.initStatic), Uint8Array.from(fixed.initEphemeral), fixed.timestamp, 1, new Uint8Array(148))).toBe(false);
    expect(hs.state).toBe(HandshakeState.Zeroed);
  });
});

describe('backends agree', () => {
  it('noble and node:crypto produce identical handshake bytes', () => {
    const a = wgHandshake(nobleCrypto, new Uint8Array(32));
    const b = wgHandshake(nodeCrypto, new Uint8Array(32));
    expect(toHex(a.init.subarray(0, 116))).toBe(toHex(b.init.subarray(0, 116)));
    expect(toHex(a.resp.subarray(0, 60))).toBe(toHex(b.resp.subarray(0, 60)));
  });
});
