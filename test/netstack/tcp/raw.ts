/**
 * A TcpStack under test and a hand-driven remote peer: the test crafts each
 * segment the peer sends and inspects every segment the stack emits.
 */
import {
  TCP_ACK,
  newTcpHeader,
  parseTcpHeader,
  setTcpChecksum,
  tcpHeaderLength,
  writeTcpHeader,
  type TcpHeader,
} from '../../../src/netstack/header/tcp.js';
import type { TcpConfig } from '../../../src/netstack/transport/tcp/config.js';
import { TcpStack, type TcpStackOptions } from '../../../src/netstack/transport/tcp/stack.js';

export const LOCAL = new Uint8Array([10, 0, 0, 1]);
export const REMOTE = new Uint8Array([10, 0, 0, 2]);
export const RPORT = 40000;

export interface Seg {
  h: TcpHeader;
  data: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
}

export interface PeerSegment {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  data?: Uint8Array | number[];
  ts?: [number, number];
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  sack?: number[];
  srcPort?: number;
  dstPort?: number;
  src?: Uint8Array;
  dst?: Uint8Array;
  temporary?: boolean;
}

/** Simple config for hand-driven tests: no options unless the test turns them on. */
export const PLAIN: Partial<TcpConfig> = {
  sack: false,
  timestamps: false,
  windowScaling: false,
  receiveBufferSize: 65535,
  sendBufferSize: 65536,
  minRto: 200,
  initialRto: 1000,
  mslMs: 500,
};

export class Raw {
  now = 0;
  readonly out: Seg[] = [];
  readonly stack: TcpStack;

  constructor(opts: TcpStackOptions = {}, config: Partial<TcpConfig> = PLAIN) {
    this.stack = new TcpStack(
      {
        send: (_ep, src, dst, buf, off) => {
          const seg = buf.subarray(off);
          const h = parseTcpHeader(seg, newTcpHeader());
          this.out.push({ h, data: seg.slice(h.headerLength), src, dst });
        },
        mtuPayload: () => 1500 - 20,
      },
      { isn: () => [1000, 0], ...opts, config: { ...config, ...opts.config } },
    );
  }

  /** The peer sends a segment to the stack. Returns whether the stack claimed it. */
  send(p: PeerSegment): boolean {
    const h = newTcpHeader();
    h.srcPort = p.srcPort ?? RPORT;
    h.dstPort = p.dstPort ?? 80;
    h.seq = p.seq >>> 0;
    h.ack = (p.ack ?? 0) >>> 0;
    h.flags = p.flags;
    h.window = p.window ?? 65535;
    if (p.mss !== undefined) h.mss = p.mss;
    if (p.wscale !== undefined) h.wscale = p.wscale;
    h.sackPermitted = p.sackPermitted ?? false;
    if (p.ts) {
      h.hasTimestamp = true;
      h.tsVal = p.ts[0];
      h.tsEcr = p.ts[1];
    }
    if (p.sack) {
      h.sackCount = p.sack.length / 2;
      h.sackBlocks.set(p.sack.map((x) => x >>> 0));
    }
    const data = p.data ? Uint8Array.from(p.data) : new Uint8Array(0);
    const hl = tcpHeaderLength(h);
    const seg = new Uint8Array(hl + data.length);
    writeTcpHeader(seg, 0, h);
    seg.set(data, hl);
    const src = p.src ?? REMOTE;
    const dst = p.dst ?? LOCAL;
    setTcpChecksum(seg, src, dst);
    return this.stack.input(src, dst, seg, this.now, p.temporary ?? false);
  }

  /** Segments emitted since the last take(). */
  take(): Seg[] {
    return this.out.splice(0);
  }

  /** Advances fake time to `t`, running timers on the way (in deadline order). */
  advanceTo(t: number): void {
    for (;;) {
      const d = this.stack.nextDeadline();
      if (d === undefined || d > t) break;
      this.now = Math.max(this.now, d);
      this.stack.tick(this.now);
    }
    this.now = t;
    this.stack.tick(t);
  }

  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }
}

export function flagsOf(s: Seg): string {
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
  return names.filter((_, i) => s.h.flags & (1 << i)).join('|');
}

/** Completes a passive open on port 80 (peer ISN `irs`); returns the endpoint and our ISS. */
export function establishPassive(raw: Raw, irs = 5000, syn: Partial<PeerSegment> = {}) {
  const l = raw.stack.listen(80);
  raw.send({ seq: irs, flags: 2, ...syn });
  const synAck = raw.take()[0]!;
  raw.send({ seq: irs + 1, ack: synAck.h.seq + 1, flags: TCP_ACK, ...(syn.ts ? { ts: [syn.ts[0] + 1, synAck.h.tsVal] } : {}) });
  const ep = l.accept()!;
  return { ep, iss: synAck.h.seq, synAck, listener: l };
}
