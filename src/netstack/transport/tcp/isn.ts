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

  /**
   * SYN cookie (RFC 4987 §3.6): the ISS of a SYN-ACK we keep no state for.
   * Bits 31..27: a 64 s time counter; 26..24: MSS index; 23..0: keyed hash of
   * the 4-tuple, the peer's ISN and the counter.
   */
  cookie(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, irs: number, mssIndex: number, now: number): number {
    const t = Math.floor(now / 64000) & 31;
    return ((t << 27) | ((mssIndex & 7) << 24) | this.cookieHash(local, localPort, remote, remotePort, irs, t, mssIndex)) >>> 0;
  }

  /** Checks a cookie echoed in an ACK (ack - 1); returns the MSS index, or -1 when invalid or older than ~2 minutes. */
  checkCookie(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, irs: number, cookie: number, now: number): number {
    const t = cookie >>> 27;
    const tNow = Math.floor(now / 64000) & 31;
    if (((tNow - t) & 31) > 1) return -1;
    const mssIndex = (cookie >>> 24) & 7;
    const h = this.cookieHash(local, localPort, remote, remotePort, irs, t, mssIndex);
    return (cookie & 0xffffff) === h ? mssIndex : -1;
  }

  private readonly cookieMsg = new Uint8Array(44);

  private cookieHash(local: Uint8Array, lp: number, remote: Uint8Array, rp: number, irs: number, t: number, mssIndex: number): number {
    const m = this.cookieMsg;
    m.fill(0);
    m.set(local, 0);
    m.set(remote, 16);
    m[32] = lp >>> 8;
    m[33] = lp & 0xff;
    m[34] = rp >>> 8;
    m[35] = rp & 0xff;
    m[36] = irs >>> 24;
    m[37] = (irs >>> 16) & 0xff;
    m[38] = (irs >>> 8) & 0xff;
    m[39] = irs & 0xff;
    m[40] = t;
    m[41] = mssIndex;
    m[43] = 0xc0; // domain separation from the ISN hash (different length too)
    const h = blake2s(m, { key: this.key, dkLen: 4 });
    return ((h[0]! << 16) | (h[1]! << 8) | h[2]!) >>> 0;
  }
}

/** MSS values a SYN cookie can encode (the largest not above the peer's is used). */
export const COOKIE_MSS = [536, 1220, 1360, 1440, 1460, 4036, 8960, 65495] as const;
