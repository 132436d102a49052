/**
 * Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing, RTO =
 * SRTT + max(G, 4·RTTVAR) clamped to [minRto, maxRto], doubled per backoff.
 * Times in ms; the clock granularity G is 1 ms.
 */
export class RtoEstimator {
  /** Smoothed RTT (0 until the first sample). */
  srtt = 0;
  rttvar = 0;
  /** Current timeout including backoff. */
  rto: number;
  /** Consecutive backoffs (timeouts or persist probes) in effect. */
  backoff = 0;

  constructor(
    private readonly minRto: number,
    private readonly maxRto: number,
    private readonly initialRto: number,
  ) {
    this.rto = initialRto;
  }

  /** A round-trip measurement (Karn's rule is the caller's business). */
  sample(r: number): void {
    if (!(r >= 0)) return;
    if (r === 0) r = 1;
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.update();
  }

  /** Doubles the timeout (RFC 6298 §5.5). */
  backOff(): void {
    this.backoff++;
    this.update();
  }

  /** New data was acknowledged: drop the backoff (RFC 6298 §5.7 spirit). */
  resetBackoff(): void {
    if (this.backoff === 0) return;
    this.backoff = 0;
    this.update();
  }

  private update(): void {
    const base = this.srtt === 0 ? this.initialRto : this.srtt + Math.max(1, 4 * this.rttvar);
    let rto = Math.max(this.minRto, base);
    for (let i = 0; i < this.backoff && rto < this.maxRto; i++) rto *= 2;
    this.rto = Math.min(rto, this.maxRto);
  }
}
