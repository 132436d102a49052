/**
 * WireGuard key text forms: base64 in configs and on the command line (exactly
 * 44 characters ending in "="), lowercase hex on the UAPI wire. Decoding is strict
 * in the same way as wg's: anything else is rejected rather than guessed at.
 */

export const KEY_LENGTH = 32;
export const KEY_BASE64_LENGTH = 44;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? DECODE[c]! : -1;
}

/** 32 bytes from 44 base64 characters, or null if the text is not exactly that. */
export function keyFromBase64(text: string): Uint8Array | null {
  if (text.length !== KEY_BASE64_LENGTH || text[43] !== '=') return null;
  const out = new Uint8Array(KEY_LENGTH);
  let o = 0;
  for (let i = 0; i < 40; i += 4) {
    const a = sextet(text, i), b = sextet(text, i + 1), c = sextet(text, i + 2), d = sextet(text, i + 3);
    if ((a | b | c | d) < 0) return null;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  const a = sextet(text, 40), b = sextet(text, 41), c = sextet(text, 42);
  if ((a | b | c) < 0) return null;
  // The last character carries 2 unused bits; they must be zero (canonical form).
  if (c & 3) return null;
  const v = (a << 18) | (b << 12) | (c << 6);
  out[o++] = v >> 16;
  out[o++] = (v >> 8) & 0xff;
  return out;
}

export function keyToBase64(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
}

/** 32 bytes from 64 hex digits (either case), or null. */
export function keyFromHex(text: string): Uint8Array | null {
  if (text.length !== KEY_LENGTH * 2 || !/^[0-9a-fA-F]+$/.test(text)) return null;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function keyToHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

export function keyIsZero(key: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < key.length; i++) acc |= key[i]!;
  return acc === 0;
}
