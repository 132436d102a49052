/**
 * The 'native' CryptoProvider: node:crypto for everything, except what the addon does
 * faster: the per-packet ChaCha20-Poly1305 seal/open (one N-API call on Node's own
 * OpenSSL instead of a cipher object per packet) and, when the addon has them, keyed
 * BLAKE2s (mac1/mac2/cookies) and XChaCha20-Poly1305 (cookie replies), which
 * node:crypto lacks and noble computes ~10× slower. Undefined when the addon lacks seal/open.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { defaultCrypto, nodeCrypto } from '../crypto/index.js';
import { loadNative } from './native.js';

type Blake2s = (key: Uint8Array | null, data: Uint8Array, out: Uint8Array, outOffset?: number, outLen?: number) => number;
type Xaead = (key: Uint8Array, nonce: Uint8Array, input: Uint8Array, ad: Uint8Array, out: Uint8Array, outOffset?: number) => number;
interface HandshakeAddon {
  blake2s?: Blake2s;
  xaeadSeal?: Xaead;
  xaeadOpen?: Xaead;
}

let cached: CryptoProvider | null | undefined;

export function nativeCrypto(): CryptoProvider | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const r = loadNative();
  const seal = r.ok ? r.addon.aeadSeal : undefined;
  const open = r.ok ? r.addon.aeadOpen : undefined;
  if (!seal || !open) {
    cached = null;
    return undefined;
  }
  const hs = (r.ok ? r.addon : {}) as HandshakeAddon;
  const b2 = hs.blake2s;
  const xs = hs.xaeadSeal;
  const xo = hs.xaeadOpen;
  // Results land in off-heap scratch and are copied out: the addon given a fresh small
  // Uint8Array (V8 keeps those on its heap) would make V8 move it off-heap on every call,
  // which cost more than the MAC itself.
  const scratch = new Uint8Array(new ArrayBuffer(64));
  const mac16 = scratch.subarray(0, 16);
  const sealed32 = scratch.subarray(16, 48);
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
