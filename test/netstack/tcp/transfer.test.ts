import { describe, expect, it } from 'vitest';
import { Pair } from './harness.js';
import { bulkBothWays } from './bulk.js';

const MB = 1024 * 1024;
const SIZE = Number(process.env.WGTS_TCP_BULK_MB ?? 50) * MB;

describe('bulk transfer between two stacks, both directions, sha256 at both ends', () => {
  for (const loss of [0, 0.01, 0.05]) {
    it(`${SIZE / MB} MB each way at ${loss * 100}% loss (with duplication, reordering, jitter)`, () => {
      // 512 KiB buffers: in this simulation every packet in flight lives in the JS heap, and
      // multi-megabyte windows turn the run into a garbage-collector benchmark.
      const config = { receiveBufferSize: 512 * 1024, sendBufferSize: 512 * 1024 };
      const p = new Pair({
        fault: loss === 0 ? { seed: 11, delayMs: 5 } : { seed: 11, delayMs: 5, jitterMs: 3, loss, duplicate: 0.01, reorder: 0.02 },
        a: { config },
        b: { config },
      });
      const r = bulkBothWays(p, SIZE);
      console.log(
        `loss ${loss * 100}%: ${((2 * SIZE) / MB / (r.wallMs / 1000)).toFixed(1)} MB/s wall (both directions), ` +
          `fake ${(r.fakeMs / 1000).toFixed(1)} s, wall ${(r.wallMs / 1000).toFixed(2)} s, retransmits ${r.retransmits}, timeouts ${r.timeouts}, recoveries ${r.recoveries} (${r.spurious} undone as spurious), link a→b ${JSON.stringify(p.ab.stats)}`,
      );
      expect(r.finished).toBe(true);
      expect(r.aReceived).toBe(SIZE);
      expect(r.bReceived).toBe(SIZE);
      expect(r.bRx).toBe(r.aTx);
      expect(r.aRx).toBe(r.bTx);
    });
  }
});
