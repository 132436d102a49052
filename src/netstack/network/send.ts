/** Pieces the IPv4 and IPv6 send paths share. */
import type { SendResult } from '../transport/protocol.js';
import type { IpStats } from '../stats.js';

/**
 * Room for a `headerLength`-byte header in front of buf[offset..]: the bytes
 * in place when buf has that much headroom before offset, otherwise a copy.
 */
export function withHeaderRoom(buf: Uint8Array, offset: number, headerLength: number): Uint8Array {
  if (offset >= headerLength) return buf.subarray(offset - headerLength);
  const out = new Uint8Array(headerLength + buf.length - offset);
  out.set(buf.subarray(offset), headerLength);
  return out;
}

/** Counts one packet handed to the link: sent, or dropped when the link refused it. */
export function countWrite(st: IpStats, accepted: boolean): SendResult {
  if (accepted) {
    st.sent++;
    return 'ok';
  }
  st.sendDropped++;
  return 'dropped';
}
