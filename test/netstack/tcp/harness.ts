/**
 * Two TcpStacks back to back over FaultyLinks on a fake clock. Time jumps to
 * the next deadline (link delivery or TCP timer), so minutes of protocol time
 * run in milliseconds.
 */
import { FaultyLink, type FaultOptions } from '../../../src/netstack/link/fault.js';
import { TcpStack, type TcpStackOptions } from '../../../src/netstack/transport/tcp/stack.js';

export const A_ADDR = new Uint8Array([10, 0, 0, 1]);
export const B_ADDR = new Uint8Array([10, 0, 0, 2]);

export interface Captured {
  src: Uint8Array;
  dst: Uint8Array;
  seg: Uint8Array;
}

export class Pair {
  now = 0;
  readonly a: TcpStack;
  readonly b: TcpStack;
  readonly ab: FaultyLink;
  readonly ba: FaultyLink;
  /** Every segment sent, per direction (when capture is on). */
  readonly sentByA: Captured[] = [];
  readonly sentByB: Captured[] = [];
  capture = false;
  /** Optional filter: return false to drop a segment (tests of specific losses). */
  filterAB: ((seg: Uint8Array) => boolean) | null = null;
  filterBA: ((seg: Uint8Array) => boolean) | null = null;
  /** Called after every simulation step (tests inject traffic here). */
  onStep: (() => void) | null = null;

  constructor(
    opts: { a?: TcpStackOptions; b?: TcpStackOptions; fault?: Partial<FaultOptions>; mtu?: number } = {},
  ) {
    const mtu = opts.mtu ?? 1500;
    const fault: FaultOptions = { seed: 1, delayMs: 5, ...opts.fault };
    this.ab = new FaultyLink({ ...fault, seed: fault.seed }, (pkt) => this.b.input(A_ADDR, B_ADDR, pkt, this.now));
    this.ba = new FaultyLink({ ...fault, seed: fault.seed + 1000 }, (pkt) => this.a.input(B_ADDR, A_ADDR, pkt, this.now));
    this.a = new TcpStack(
      {
        send: (_ep, src, dst, buf, off) => {
          const seg = buf.subarray(off);
          if (this.capture) this.sentByA.push({ src, dst, seg });
          if (this.filterAB && !this.filterAB(seg)) return;
          this.ab.send(seg, this.now);
        },
        mtuPayload: () => mtu - 20,
      },
      { isnSecret: new Uint8Array(32).fill(1), ...opts.a },
    );
    this.b = new TcpStack(
      {
        send: (_ep, src, dst, buf, off) => {
          const seg = buf.subarray(off);
          if (this.capture) this.sentByB.push({ src, dst, seg });
          if (this.filterBA && !this.filterBA(seg)) return;
          this.ba.send(seg, this.now);
        },
        mtuPayload: () => mtu - 20,
      },
      { isnSecret: new Uint8Array(32).fill(2), ...opts.b },
    );
  }

  private nextEvent(): number {
    let t = Infinity;
    for (const d of [this.ab.nextDeadline(), this.ba.nextDeadline(), this.a.nextDeadline(), this.b.nextDeadline()]) {
      if (d !== undefined && d < t) t = d;
    }
    return t;
  }

  /** Advances to the next event (at most to `limit`); returns false when nothing is pending before limit. */
  step(limit = Infinity): boolean {
    let t = this.nextEvent();
    if (t === Infinity) {
      // Release packets held back for reordering.
      if (this.ab.inFlight > 0 || this.ba.inFlight > 0) {
        this.ab.flushHeld(this.now);
        this.ba.flushHeld(this.now);
        t = this.nextEvent();
      }
      if (t === Infinity) return false;
    }
    if (t > limit) {
      this.now = limit;
      return false;
    }
    if (t > this.now) this.now = t;
    this.ab.tick(this.now);
    this.ba.tick(this.now);
    this.a.tick(this.now);
    this.b.tick(this.now);
    this.onStep?.();
    return true;
  }

  /** Runs until `done()` or until `maxMs` of fake time pass. Returns whether done() became true. */
  runUntil(done: () => boolean, maxMs = 600_000): boolean {
    const end = this.now + maxMs;
    let guard = 0;
    while (!done()) {
      if (!this.step(end)) {
        if (this.now >= end) return done();
        // Idle: nothing scheduled. Jump is impossible; report.
        return done();
      }
      if (++guard > 50_000_000) throw new Error('runaway simulation');
    }
    return true;
  }

  /** Runs for `ms` of fake time. */
  runFor(ms: number): void {
    const end = this.now + ms;
    while (this.step(end)) {
      /* keep going */
    }
    this.now = Math.max(this.now, end);
  }
}
