/** Helpers shared by the crypto backends. */
import type { CryptoProvider } from './provider.js';

/** Writes WireGuard's AEAD nonce (4 zero bytes ‖ 64-bit LE counter) into `out` (12 bytes). */
export function wireguardNonce(out: Uint8Array, counter: bigint | number): Uint8Array {
  out[0] = out[1] = out[2] = out[3] = 0;
  let lo: number;
  let hi: number;
  if (typeof counter === 'number') {
    lo = counter >>> 0;
    hi = Math.floor(counter / 0x100000000) >>> 0;
  } else {
    lo = Number(counter & 0xffffffffn);
    hi = Number((counter >> 32n) & 0xffffffffn);
  }
  out[4] = lo; out[5] = lo >>> 8; out[6] = lo >>> 16; out[7] = lo >>> 24;
  out[8] = hi; out[9] = hi >>> 8; out[10] = hi >>> 16; out[11] = hi >>> 24;
  return out;
}

export function clampPrivateKey(k: Uint8Array): Uint8Array {
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
  return k;
}

export function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

/** Constant-time equality of two byte arrays (length is not secret). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}

const ONE = new Uint8Array([1]);

/** WireGuard's KDF1/2/3 (HKDF with empty info) built on an HMAC. */
export function kdfFromHmac(hmac: (key: Uint8Array, data: Uint8Array) => Uint8Array): CryptoProvider['kdf'] {
  function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
    const prk = hmac(key, input);
    const t1 = hmac(prk, ONE);
    if (n === 1) return [t1];
    const buf = new Uint8Array(33);
    buf.set(t1, 0);
    buf[32] = 2;
    const t2 = hmac(prk, buf);
    if (n === 2) return [t1, t2];
    buf.set(t2, 0);
    buf[32] = 3;
    const t3 = hmac(prk, buf);
    return [t1, t2, t3];
  }
  return kdf as CryptoProvider['kdf'];
}
