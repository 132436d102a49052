/**
 * Anti-replay sliding window (RFC 6479), as in wireguard-go's replay package:
 * a ring of 128 blocks of 64 bits; the window is (128 - 1) × 64 = 8128
 * counters behind the highest one seen. Each 64-bit block is two 32-bit
 * words of a Uint32Array, so checking a counter allocates nothing.
 */

const BLOCK_BITS = 64;
const RING_BLOCKS = 128;
/** Counters this far behind the highest seen are still judged individually. */
export const REPLAY_WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS; // 8128

export class ReplayWindow {
  private last = 0;
  private readonly ring = new Uint32Array(RING_BLOCKS * 2);

  /** Forgets everything (for a fresh keypair). */
  reset(): void {
    this.last = 0;
    this.ring.fill(0);
  }

  /**
   * True (and records the counter) when `counter` has not been seen and is
   * within the window; false for a replay, a counter too far behind, or a
   * value that is not a non-negative safe integer.
   */
  check(counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0) return false;
    const ring = this.ring;
    const indexBlock = Math.floor(counter / BLOCK_BITS);
    if (counter > this.last) {
      // Move the window forward, clearing the blocks it enters (at most the whole ring).
      const current = Math.floor(this.last / BLOCK_BITS);
      let diff = indexBlock - current;
      if (diff > RING_BLOCKS) diff = RING_BLOCKS;
      for (let i = 1; i <= diff; i++) {
        const b = ((current + i) % RING_BLOCKS) * 2;
        ring[b] = 0;
        ring[b + 1] = 0;
      }
      this.last = counter;
    } else if (this.last - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    const bit = counter % BLOCK_BITS;
    const word = (indexBlock % RING_BLOCKS) * 2 + (bit >>> 5);
    const mask = 1 << (bit & 31);
    const old = ring[word]!;
    if ((old & mask) !== 0) return false;
    ring[word] = old | mask;
    return true;
  }
}
