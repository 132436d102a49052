/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret), with M
 * a 4 µs clock (derived from the `now` passed in) and F a keyed hash
 * (BLAKE2s). The same hash gives the per-connection timestamp offset that
 * RFC 7323 §7.1 recommends.
 */
import { blake2s } from '@noble/hashes/blake2.js';

export class IsnGenerator {
  private readonly key: Uint8Array;
  private readonly msg = new Uint8Array(36);

  constructor(secret?: Uint8Array) {
    if (secret && secret.length > 0) this.key = secret.slice(0, 32);
    else {
      this.key = new Uint8Array(32);
      globalThis.crypto.getRandomValues(this.key);
    }
  }

  /** Returns [isn, timestampOffset] for the connection at time `now` (ms). */
  generate(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, now: number): [number, number] {
    const m = this.msg;
    m.fill(0);
    m.set(local, 0);
    m.set(remote, 16);
    m[32] = localPort >>> 8;
    m[33] = localPort & 0xff;
    m[34] = remotePort >>> 8;
    m[35] = remotePort & 0xff;
    const h = blake2s(m, { key: this.key, dkLen: 8 });
    const f = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
    const ts = ((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0;
    return [(f + Math.floor(now * 250)) >>> 0, ts];
  }
}
