import { describe, expect, it } from 'vitest';
import { RtoEstimator } from '../../../src/netstack/transport/tcp/rto.js';

describe('RTO estimator (RFC 6298)', () => {
  it('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4·RTTVAR; later samples smooth with 1/8 and 1/4', () => {
    const r = new RtoEstimator(200, 60_000, 1000);
    expect(r.rto).toBe(1000);
    r.sample(400);
    expect([r.srtt, r.rttvar, r.rto]).toEqual([400, 200, 1200]);
    r.sample(200);
    expect(r.rttvar).toBe(0.75 * 200 + 0.25 * 200);
    expect(r.srtt).toBe(0.875 * 400 + 0.125 * 200);
    expect(r.rto).toBe(r.srtt + 4 * r.rttvar);
  });

  it('clamps to the minimum and maximum and doubles per backoff', () => {
    const r = new RtoEstimator(200, 60_000, 1000);
    r.sample(10);
    expect(r.rto).toBe(200);
    r.backOff();
    expect(r.rto).toBe(400);
    for (let i = 0; i < 20; i++) r.backOff();
    expect(r.rto).toBe(60_000);
    r.resetBackoff();
    expect(r.rto).toBe(200);
  });
});
