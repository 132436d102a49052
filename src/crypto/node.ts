/**
 * node:crypto backend: OpenSSL for X25519, ChaCha20-Poly1305, BLAKE2s-256 and
 * HMAC-BLAKE2s; noble for what OpenSSL lacks (keyed BLAKE2s for mac1/mac2, XChaCha20).
 *
 * X25519 keys are imported from raw bytes through fixed DER prefixes (PKCS#8 /
 * SPKI). We avoid generateKeyPairSync + JWK export: on Node 20 that pattern can
 * deadlock under GC (see design.md).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
} from 'node:crypto';
import type { CryptoProvider } from './provider.js';
import { nobleCrypto } from './noble.js';
import { clampPrivateKey, isAllZero, kdfFromHmac, wireguardNonce } from './util.js';

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function privateKeyObject(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

// Small caches: a device uses the same static private key and the same peer
// public keys for every handshake; importing them costs more than the DH.
const MAX_CACHE = 4096;
const privCache = new Map<string, KeyObject>();
const pubCache = new Map<string, KeyObject>();

function cached(cache: Map<string, KeyObject>, raw: Uint8Array, make: (raw: Uint8Array) => KeyObject, cacheIt: boolean): KeyObject {
  if (!cacheIt) return make(raw);
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
  let k = cache.get(id);
  if (k === undefined) {
    k = make(raw);
    if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as string);
    cache.set(id, k);
  }
  return k;
}

function toU8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('blake2s256');
  for (const p of parts) h.update(p);
  return toU8(h.digest());
}

function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return toU8(createHmac('blake2s256', key).update(data).digest());
}

const nonce = new Uint8Array(12);

export const nodeCrypto: CryptoProvider = {
  name: 'node',
  hash,
  mac: nobleCrypto.mac,
  hmac,
  kdf: kdfFromHmac(hmac),
  generatePrivateKey: () => clampPrivateKey(nobleCrypto.randomBytes(32)),
  publicKey(priv) {
    const spki = createPublicKey(privateKeyObject(priv)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(spki.subarray(spki.length - 32));
  },
  sharedSecret(priv, pub) {
    let s: Buffer;
    try {
      // Ephemeral private keys are used once: don't cache them. Static ones repeat.
      s = diffieHellman({
        privateKey: cached(privCache, priv, privateKeyObject, false),
        publicKey: cached(pubCache, pub, publicKeyObject, true),
      });
    } catch {
      return null; // OpenSSL refuses an all-zero result itself
    }
    const out = toU8(s);
    return isAllZero(out) ? null : out;
  },
  seal(key, counter, plaintext, ad, out, outOffset = 0) {
    wireguardNonce(nonce, counter);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    if (ad) c.setAAD(ad, { plaintextLength: plaintext.length });
    const body = c.update(plaintext);
    c.final();
    out.set(body, outOffset);
    out.set(c.getAuthTag(), outOffset + body.length);
    return body.length + 16;
  },
  open(key, counter, ciphertext, ad, out, outOffset = 0) {
    const n = ciphertext.length - 16;
    if (n < 0) return -1;
    wireguardNonce(nonce, counter);
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    d.setAuthTag(ciphertext.subarray(n));
    if (ad) d.setAAD(ad, { plaintextLength: n });
    const body = d.update(ciphertext.subarray(0, n));
    try {
      d.final();
    } catch {
      return -1;
    }
    out.set(body, outOffset);
    return n;
  },
  xseal: nobleCrypto.xseal,
  xopen: nobleCrypto.xopen,
  randomBytes: nobleCrypto.randomBytes,
};
