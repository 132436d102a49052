/**
 * The 'native' CryptoProvider: node:crypto for everything, except the per-packet
 * ChaCha20-Poly1305 seal/open, which go to the addon (one N-API call on Node's own
 * OpenSSL instead of a cipher object per packet). Undefined when the addon lacks it.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { defaultCrypto, nodeCrypto } from '../crypto/index.js';
import { loadNative } from './native.js';

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
  cached = {
    ...nodeCrypto,
    name: 'native',
    seal: (key, counter, plaintext, ad, out, outOffset = 0) => seal(key, counter, plaintext, ad, out, outOffset),
    open: (key, counter, ciphertext, ad, out, outOffset = 0) => open(key, counter, ciphertext, ad, out, outOffset),
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
