/**
 * node:crypto backend: OpenSSL for X25519, ChaCha20-Poly1305, BLAKE2s-256 and
 * HMAC-BLAKE2s; noble for what OpenSSL lacks (keyed BLAKE2s for mac1/mac2, XChaCha20).
 *
 * X25519 keys are imported from raw bytes (JWK); public keys are computed as
 * X25519(priv, 9). We never export KeyObjects: on Node 20 generateKeyPairSync +
 * JWK export can deadlock under GC (see design.md).
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
const BASEPOINT_B64 = Buffer.from([9, ...new Array<number>(31).fill(0)]).toString('base64url');

/**
 * Private key import. PKCS#8 DER import costs ~340 µs here; a JWK import ~60 µs,
 * but JWK wants the public half too. Node does not check `x` against `d` and
 * X25519 only uses `d`, so we pass the base point as a placeholder; if a Node
 * version ever rejects that, we fall back to PKCS#8.
 */
let jwkImportWorks = true;
function importPrivate(raw: Uint8Array): KeyObject {
  if (jwkImportWorks) {
    try {
      const d = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64url');
      return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: BASEPOINT_B64 }, format: 'jwk' });
    } catch {
      jwkImportWorks = false;
    }
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/**
 * The last imported public key: a response's ephemeral goes into two DHs (ee with our
 * ephemeral, se with our static), one import (~100 µs on a cold cache) instead of two.
 * Public keys are not secret.
 */
const lastPublicRaw = new Uint8Array(32);
let lastPublic: KeyObject | null = null;

function importPublic(raw: Uint8Array): KeyObject {
  if (lastPublic !== null && raw.length === 32) {
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= raw[i]! ^ lastPublicRaw[i]!;
    if (diff === 0) return lastPublic;
  }
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64url');
  const k = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  if (raw.length === 32) {
    lastPublicRaw.set(raw);
    lastPublic = k;
  }
  return k;
}

const basepoint = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: BASEPOINT_B64 }, format: 'jwk' });

/**
 * A small LRU of imported private keys: a handshake uses its ephemeral key
 * 2–3 times and the static key on every handshake. Kept small so ephemeral
 * secrets do not linger in memory.
 */
const PRIVATE_CACHE_SIZE = 16;
const privCache = new Map<string, KeyObject>();

function privateKeyObject(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
  let k = privCache.get(id);
  if (k !== undefined) {
    privCache.delete(id);
  } else {
    k = importPrivate(raw);
    if (privCache.size >= PRIVATE_CACHE_SIZE) privCache.delete(privCache.keys().next().value as string);
  }
  privCache.set(id, k);
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
    // X25519(priv, 9): one DH instead of a key export.
    return toU8(diffieHellman({ privateKey: privateKeyObject(priv), publicKey: basepoint }));
  },
  sharedSecret(priv, pub) {
    let s: Buffer;
    try {
      s = diffieHellman({ privateKey: privateKeyObject(priv), publicKey: importPublic(pub) });
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
