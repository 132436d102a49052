/**
 * Congestion window control: CUBIC (RFC 9438, the default) and NewReno
 * (RFC 5681 growth, RFC 6582 recovery is driven by the endpoint). Windows are
 * in bytes; CUBIC does its arithmetic in segments and seconds as the RFC does.
 */

export type CongestionAlgorithm = 'cubic' | 'newreno';

export interface CongestionControl {
  readonly name: CongestionAlgorithm;
  /** Congestion window in bytes. */
  cwnd: number;
  /** Slow-start threshold in bytes. */
  ssthresh: number;
  /** New data acknowledged outside loss recovery. `srtt` in ms (0 when unknown). */
  onAck(acked: number, now: number, srtt: number): void;
  /** A loss detected by duplicate ACKs/SACK: set ssthresh and cwnd for recovery. */
  onCongestion(now: number, flight: number): void;
  /** Retransmission timeout. */
  onTimeout(now: number, flight: number): void;
  /** The sender was idle for a while (RFC 9438 §5.8: do not let the epoch run on). */
  onIdle(): void;
  /** The last reduction was spurious (RFC 3522 Eifel detection): restore the state before it. */
  undo(): void;
}

/** Initial window per RFC 6928: min(10*MSS, max(2*MSS, 14600)). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}

export class NewReno implements CongestionControl {
  readonly name = 'newreno' as const;
  cwnd: number;
  ssthresh = 0x7fffffff;
  private bytesAcked = 0;

  constructor(private readonly mss: number) {
    this.cwnd = initialWindow(mss);
  }

  onAck(acked: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * this.mss); // RFC 3465 L=2
      return;
    }
    // Congestion avoidance: one MSS per cwnd of acknowledged bytes.
    this.bytesAcked += acked;
    if (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  private saved: [number, number] = [0, 0];

  onCongestion(_now: number, flight: number): void {
    this.saved = [this.cwnd, this.ssthresh];
    this.ssthresh = Math.max(flight >>> 1, 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.bytesAcked = 0;
  }

  onTimeout(_now: number, flight: number): void {
    this.saved = [this.cwnd, this.ssthresh];
    this.ssthresh = Math.max(flight >>> 1, 2 * this.mss);
    this.cwnd = this.mss;
    this.bytesAcked = 0;
  }

  onIdle(): void {}

  undo(): void {
    this.cwnd = Math.max(this.cwnd, this.saved[0]);
    this.ssthresh = this.saved[1];
  }
}

export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;

/** W_cubic(t) = C(t - K)^3 + W_max (RFC 9438 eq. 1), segments and seconds. */
export function wCubic(t: number, k: number, wMax: number): number {
  const d = t - k;
  return CUBIC_C * d * d * d + wMax;
}

/** K = cbrt((W_max - cwnd_epoch) / C) (RFC 9438 eq. 2). */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt(Math.max(0, wMax - cwndEpoch) / CUBIC_C);
}

export class Cubic implements CongestionControl {
  readonly name = 'cubic' as const;
  cwnd: number;
  ssthresh = 0x7fffffff;
  /** All state below in segments / ms. */
  wMax = 0;
  /** cwnd (segments) just before the last reduction: where the Reno-friendly alpha becomes 1. */
  private cwndPrior = 0;
  k = 0;
  epochStart = -1;
  private cwndEpoch = 0;
  private wEst = 0;

  constructor(private readonly mss: number, private readonly fastConvergence = true) {
    this.cwnd = initialWindow(mss);
  }

  onAck(acked: number, now: number, srtt: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * this.mss);
      return;
    }
    const mss = this.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      this.epochStart = now;
      this.cwndEpoch = cwndSeg;
      this.wEst = cwndSeg;
      if (this.wMax < cwndSeg) {
        // No loss seen yet above this point: the curve starts at its plateau.
        this.wMax = cwndSeg;
        this.k = 0;
      } else {
        this.k = cubicK(this.wMax, cwndSeg);
      }
    }
    const t = (now - this.epochStart) / 1000;
    const rtt = srtt / 1000;
    let target = wCubic(t + rtt, this.k, this.wMax);
    if (target < cwndSeg) target = cwndSeg;
    else if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    const ackedSeg = acked / mss;
    // Reno-friendly estimate (RFC 9438 §4.3), alpha = 3(1-beta)/(1+beta), 1 once past the old W_max.
    const alpha = this.wEst >= this.cwndPrior ? 1 : (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
    this.wEst += (alpha * ackedSeg) / cwndSeg;
    let next: number;
    if (wCubic(t, this.k, this.wMax) < this.wEst) next = this.wEst;
    else next = cwndSeg + ((target - cwndSeg) * ackedSeg) / cwndSeg;
    if (next > cwndSeg) this.cwnd = Math.floor(next * mss);
  }

  private saved: number[] = [];

  private reduce(): void {
    this.saved = [this.cwnd, this.ssthresh, this.wMax, this.cwndPrior, this.k, this.epochStart, this.cwndEpoch, this.wEst];
    const cwndSeg = this.cwnd / this.mss;
    this.cwndPrior = cwndSeg;
    if (this.fastConvergence && cwndSeg < this.wMax) this.wMax = (cwndSeg * (1 + CUBIC_BETA)) / 2;
    else this.wMax = cwndSeg;
    this.ssthresh = Math.max(Math.floor(this.cwnd * CUBIC_BETA + 1e-6), 2 * this.mss);
    this.epochStart = -1;
  }

  onCongestion(): void {
    this.reduce();
    this.cwnd = this.ssthresh;
  }

  onTimeout(): void {
    this.reduce();
    this.cwnd = this.mss;
  }

  onIdle(): void {
    this.epochStart = -1;
  }

  undo(): void {
    const s = this.saved;
    if (s.length === 0) return;
    this.cwnd = Math.max(this.cwnd, s[0]!);
    this.ssthresh = s[1]!;
    this.wMax = s[2]!;
    this.cwndPrior = s[3]!;
    this.k = s[4]!;
    this.epochStart = s[5]!;
    this.cwndEpoch = s[6]!;
    this.wEst = s[7]!;
    this.saved = [];
  }
}

export function createCongestionControl(name: CongestionAlgorithm, mss: number): CongestionControl {
  return name === 'newreno' ? new NewReno(mss) : new Cubic(mss);
}
