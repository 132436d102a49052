/**
 * Crypto backend selection. node:crypto is the fastest here (handshake ~10×,
 * AEAD ~2× over noble) so it is the default; WGTS_CRYPTO=noble|node forces one.
 */
import type { CryptoProvider } from './provider.js';
import { nobleCrypto } from './noble.js';
import { nodeCrypto } from './node.js';

export type { CryptoProvider } from './provider.js';
export { nobleCrypto } from './noble.js';
export { nodeCrypto } from './node.js';
export { constantTimeEqual, clampPrivateKey, isAllZero } from './util.js';

export const cryptoBackends: Readonly<Record<string, CryptoProvider>> = { noble: nobleCrypto, node: nodeCrypto };

let chosen: CryptoProvider | undefined;

/** The backend to use: WGTS_CRYPTO when set to a known name, else the fastest. */
export function defaultCrypto(): CryptoProvider {
  if (chosen) return chosen;
  const forced = process.env.WGTS_CRYPTO;
  if (forced !== undefined && forced !== '') {
    const b = cryptoBackends[forced];
    if (!b) throw new Error(`WGTS_CRYPTO=${forced}: unknown crypto backend (expected one of: ${Object.keys(cryptoBackends).join(', ')})`);
    chosen = b;
  } else {
    chosen = nodeCrypto;
  }
  return chosen;
}
