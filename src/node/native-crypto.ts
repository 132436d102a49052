/**
 * The 'native' CryptoProvider: node:crypto for everything, except what the addon does
 * faster: the per-packet ChaCha20-Poly1305 seal/open (one N-API call on Node's own
 * OpenSSL instead of a cipher object per packet) and, when the addon has them, keyed
 * BLAKE2s (mac1/mac2/cookies) and XChaCha20-Poly1305 (cookie replies), which
 * node:crypto lacks and noble computes ~10× slower, and the handshake's BLAKE2s-256
 * hash, HMAC and KDF1–3 (one call per KDF instead of 2–4 node:crypto Hmac objects), and X25519
 * on raw keys (OpenSSL's own scalar multiplication without a KeyObject import). Undefined
 * when the addon lacks seal/open.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { defaultCrypto, nodeCrypto } from '../crypto/index.js';
import { loadNative } from './native.js';

let cached: CryptoProvider | null | undefined;

export function nativeCrypto(): CryptoProvider | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const r = loadNative();
  const hs = r.ok ? r.addon : undefined;
  const seal = hs?.aeadSeal;
  const open = hs?.aeadOpen;
  if (!hs || !seal || !open) {
    cached = null;
    return undefined;
  }
  const b2 = hs.blake2s;
  const xs = hs.xaeadSeal;
  const xo = hs.xaeadOpen;
  const kdfN = hs.blake2sKdf;
  const dh = hs.x25519;
  const dhBase = hs.x25519Base;
  // Results land in off-heap scratch and are copied out: the addon given a fresh small
  // Uint8Array (V8 keeps those on its heap) would make V8 move it off-heap on every call,
  // which cost more than the MAC itself.
  const scratch = new Uint8Array(new ArrayBuffer(64));
  const mac16 = scratch.subarray(0, 16);
  const sealed32 = scratch.subarray(16, 48);
  const kdfOut = new Uint8Array(new ArrayBuffer(96));
  // hash(...parts) concatenates into off-heap scratch (grown when a message needs more).
  let cat = new Uint8Array(new ArrayBuffer(256));
  const hash32 = kdfOut.subarray(0, 32);
  const dhOut = new Uint8Array(new ArrayBuffer(32));
  cached = {
    ...nodeCrypto,
    name: 'native',
    seal: (key, counter, plaintext, ad, out, outOffset = 0) => seal(key, counter, plaintext, ad, out, outOffset),
    open: (key, counter, ciphertext, ad, out, outOffset = 0) => open(key, counter, ciphertext, ad, out, outOffset),
    ...(b2
      ? {
          mac(key: Uint8Array, data: Uint8Array): Uint8Array {
            b2(key, data, mac16, 0, 16);
            return mac16.slice();
          },
        }
      : {}),
    ...(b2 && kdfN
      ? {
          hash(...parts: Uint8Array[]): Uint8Array {
            let len = 0;
            for (const p of parts) len += p.length;
            if (len > cat.length) cat = new Uint8Array(new ArrayBuffer(len * 2));
            let o = 0;
            for (const p of parts) {
              cat.set(p, o);
              o += p.length;
            }
            b2(null, cat.subarray(0, len), hash32, 0, 32);
            return hash32.slice();
          },
          hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
            kdfN(key, data, 0, kdfOut, 0);
            const r = kdfOut.slice(0, 32);
            kdfOut.fill(0, 0, 32);
            return r;
          },
          kdf: ((n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] => {
            kdfN(key, input, n, kdfOut, 0);
            const r = n === 1 ? [kdfOut.slice(0, 32)] : n === 2 ? [kdfOut.slice(0, 32), kdfOut.slice(32, 64)] : [kdfOut.slice(0, 32), kdfOut.slice(32, 64), kdfOut.slice(64, 96)];
            kdfOut.fill(0, 0, 32 * n);
            return r;
          }) as CryptoProvider['kdf'],
        }
      : {}),
    ...(dh && dhBase
      ? {
          // Raw-key X25519 (no KeyObject import per peer ephemeral): ~50 µs cold vs ~210 µs.
          publicKey(priv: Uint8Array): Uint8Array {
            if (priv.length !== 32) throw new RangeError('X25519 private key must be 32 bytes');
            dhBase(priv, dhOut);
            return dhOut.slice();
          },
          sharedSecret(priv: Uint8Array, pub: Uint8Array): Uint8Array | null {
            if (priv.length !== 32 || pub.length !== 32) return null; // as node:crypto's refused import
            const ok = dh(priv, pub, dhOut);
            const r = ok ? dhOut.slice() : null;
            dhOut.fill(0);
            return r;
          },
        }
      : {}),
    ...(xs && xo
      ? {
          xseal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
            if (plaintext.length === 16) {
              // A cookie: the common case.
              xs(key, nonce, plaintext, ad, sealed32, 0);
              return sealed32.slice();
            }
            const out = new Uint8Array(new ArrayBuffer(plaintext.length + 16));
            xs(key, nonce, plaintext, ad, out, 0);
            return out;
          },
          xopen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array | null {
            if (ciphertext.length < 16) return null;
            const out = new Uint8Array(new ArrayBuffer(ciphertext.length - 16));
            return xo(key, nonce, ciphertext, ad, out, 0) < 0 ? null : out;
          },
        }
      : {}),
  };
  return cached;
}

/**
 * The fastest backend: native when the addon has it, else defaultCrypto(). WGTS_CRYPTO
 * forces one (noble | node | native).
 */
export function bestCrypto(): CryptoProvider {
  const forced = process.env.WGTS_CRYPTO;
  if (forced === 'native') {
    const n = nativeCrypto();
    if (!n) throw new Error('WGTS_CRYPTO=native: the native addon (with aeadSeal/aeadOpen) is unavailable');
    return n;
  }
  if (forced) return defaultCrypto();
  return nativeCrypto() ?? defaultCrypto();
}
