import { describe, expect, it } from 'vitest';
import { CUBIC_BETA, CUBIC_C, Cubic, NewReno, cubicK, wCubic } from '../../../src/netstack/transport/tcp/congestion.js';

const MSS = 1000;

/** ACK-clocks `cc` for `seconds`: each RTT, one ACK per MSS of cwnd, spread over the RTT. Returns samples (t, cwnd in segments). */
function clock(cc: Cubic | NewReno, start: number, seconds: number, rttMs: number): [number, number][] {
  const samples: [number, number][] = [];
  let t = start;
  while (t < start + seconds * 1000) {
    samples.push([(t - start) / 1000, cc.cwnd / MSS]);
    const n = Math.max(1, Math.floor(cc.cwnd / MSS));
    for (let k = 0; k < n; k++) cc.onAck(MSS, t + (k * rttMs) / n, rttMs);
    t += rttMs;
  }
  return samples;
}

describe('CUBIC (RFC 9438)', () => {
  it('reduces by beta and computes K from the formula', () => {
    const cc = new Cubic(MSS);
    cc.cwnd = 100 * MSS;
    cc.onCongestion();
    expect(cc.cwnd).toBe(70 * MSS);
    expect(cc.ssthresh).toBe(70 * MSS);
    expect(cc.wMax).toBe(100);
    cc.onAck(MSS, 0, 100); // starts the epoch
    expect(cc.k).toBeCloseTo(Math.cbrt((100 * (1 - CUBIC_BETA)) / CUBIC_C), 9);
    expect(cubicK(100, 70)).toBeCloseTo(4.2172, 3);
    expect(wCubic(0, cc.k, 100)).toBeCloseTo(70, 9);
    expect(wCubic(cc.k, cc.k, 100)).toBe(100);
  });

  it('grows along W_cubic(t) = C(t-K)^3 + W_max: concave to the plateau, convex beyond', () => {
    const cc = new Cubic(MSS);
    cc.cwnd = 100 * MSS;
    cc.onCongestion();
    const rtt = 100;
    const samples = clock(cc, 0, 9, rtt);
    const k = cc.k;
    let checked = 0;
    for (const [t, w] of samples) {
      if (t < 0.5) continue;
      const expected = wCubic(t, k, 100);
      // cwnd follows the curve within a few percent (it aims at W_cubic(t+RTT) one RTT ahead, per ACK).
      expect(Math.abs(w - expected) / expected, `t=${t} cwnd=${w} W_cubic=${expected}`).toBeLessThan(0.04);
      checked++;
    }
    expect(checked).toBeGreaterThan(80);
    // Plateau around K, then growth past W_max.
    const at = (s: number) => samples.find(([t]) => t >= s)![1];
    expect(at(k)).toBeGreaterThan(98);
    expect(at(k)).toBeLessThan(102);
    expect(at(8.5)).toBeGreaterThan(at(7) + (at(7) - at(5.5))); // convex
  });

  it('fast convergence lowers W_max when losses come below the old W_max', () => {
    const cc = new Cubic(MSS);
    cc.cwnd = 100 * MSS;
    cc.onCongestion();
    cc.cwnd = 90 * MSS;
    cc.onCongestion();
    expect(cc.wMax).toBeCloseTo((90 * (1 + CUBIC_BETA)) / 2, 9);
    expect(cc.cwnd).toBe(63 * MSS);
  });

  it('uses the Reno-friendly estimate when it is above the cubic curve (short RTT, small window)', () => {
    const cc = new Cubic(MSS);
    cc.cwnd = 10 * MSS;
    cc.onCongestion(); // W_max 10, cwnd 7
    const samples = clock(cc, 0, 1, 1); // 1 ms RTT: the cubic curve barely moves in 1 s
    const last = samples[samples.length - 1]!;
    // W_cubic(1 s) is ~9.6; Reno-friendly growth (0.53/RTT up to the old W_max, then 1/RTT) is far above.
    expect(wCubic(1, cc.k, 10)).toBeLessThan(10);
    expect(last[1]).toBeGreaterThan(100);
  });

  it('timeout: one segment, slow start back to ssthresh', () => {
    const cc = new Cubic(MSS);
    cc.cwnd = 50 * MSS;
    cc.onTimeout();
    expect(cc.cwnd).toBe(MSS);
    expect(cc.ssthresh).toBe(35 * MSS);
    clock(cc, 0, 0.5, 100); // 5 RTTs of slow start: 1,2,4,8,16,32
    expect(cc.cwnd).toBeGreaterThanOrEqual(32 * MSS);
  });
});

describe('NewReno', () => {
  it('halves on loss and adds one MSS per RTT in congestion avoidance', () => {
    const cc = new NewReno(MSS);
    cc.cwnd = 40 * MSS;
    cc.onCongestion(0, 40 * MSS);
    expect(cc.cwnd).toBe(20 * MSS);
    const s = clock(cc, 0, 1, 100);
    expect(s.map(([, w]) => w)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  });
});
