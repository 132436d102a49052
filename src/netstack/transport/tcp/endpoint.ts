/**
 * One TCP connection: the RFC 9293 state machine with RFC 5961 hardening,
 * RFC 7323 (window scale, timestamps, PAWS), RFC 2018/6675 SACK recovery,
 * RFC 6582 NewReno recovery without SACK, RFC 6298 RTO, delayed ACKs, Nagle,
 * persist and keepalive timers. Sans-I/O: segments and `now` come in through
 * the owning TcpStack; segments leave through it; timers are deadlines.
 *
 * Application callbacks are never called in the middle of segment
 * processing: events are collected and dispatched by the stack afterwards,
 * so a callback may freely call write/read/close.
 */
import {
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  setTcpChecksum,
  tcpHeaderLength,
  writeTcpHeader,
  type TcpHeader,
} from '../../header/tcp.js';
import { createCongestionControl, initialWindow, type CongestionControl } from './congestion.js';
import type { TcpConfig } from './config.js';
import { RECV_REJECTED, RecvRing, SendRing } from './ring.js';
import { RtoEstimator } from './rto.js';
import { SackScoreboard } from './scoreboard.js';
import { seqAdd, seqDiff, seqGE, seqGT, seqInRange, seqLE, seqLT, seqMax, seqMin } from './seq.js';

export const TcpState = {
  CLOSED: 0,
  LISTEN: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  ESTABLISHED: 4,
  FIN_WAIT_1: 5,
  FIN_WAIT_2: 6,
  CLOSE_WAIT: 7,
  CLOSING: 8,
  LAST_ACK: 9,
  TIME_WAIT: 10,
} as const;
export type TcpStateValue = (typeof TcpState)[keyof typeof TcpState];
const STATE_NAMES = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RECEIVED',
  'ESTABLISHED',
  'FIN_WAIT_1',
  'FIN_WAIT_2',
  'CLOSE_WAIT',
  'CLOSING',
  'LAST_ACK',
  'TIME_WAIT',
] as const;
export type TcpStateName = (typeof STATE_NAMES)[number];
export function tcpStateName(s: TcpStateValue): TcpStateName {
  return STATE_NAMES[s]!;
}

const S = TcpState;

export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EPIPE';

export class TcpError extends Error {
  constructor(readonly code: TcpErrorCode, message: string = code) {
    super(message);
    this.name = 'TcpError';
  }
}

/**
 * A buffer for one outgoing segment. Every byte after the headroom is written
 * (header, options, data), so Node's unzeroed pooled allocation is safe and
 * saves zeroing per segment; elsewhere a plain Uint8Array.
 */
const allocSegment: (n: number) => Uint8Array =
  typeof Buffer !== 'undefined'
    ? (n) => {
        // A plain Uint8Array view (not a Buffer: Buffer#slice would not copy downstream).
        const b = Buffer.allocUnsafe(n);
        return new Uint8Array(b.buffer, b.byteOffset, n);
      }
    : (n) => new Uint8Array(n);

/** Bytes reserved in front of every emitted segment for the IP header (matches the stack's TRANSPORT_HEADROOM). */
export const SEGMENT_HEADROOM = 60;

/** What an endpoint needs from its stack. */
export interface EndpointHost {
  readonly hdr: TcpHeader;
  /** Hands a finished segment (buf[offset..], checksum set) to the link; the link owns buf afterwards. */
  transmit(ep: TcpEndpoint, buf: Uint8Array, offset: number): void;
  /** The endpoint's deadline may have moved. */
  schedule(ep: TcpEndpoint): void;
  /** The endpoint has events to dispatch. */
  markEvents(ep: TcpEndpoint): void;
  /** Remove from the connection table (CLOSED). */
  release(ep: TcpEndpoint): void;
  /** A passive connection reached ESTABLISHED. */
  established(ep: TcpEndpoint): void;
  /** Dispatch pending events now (after an application call). */
  flush(): void;
  /**
   * Inside a receive batch: take over an ACK owed for in-order data and send
   * it when the batch ends (one ACK per batch instead of one per two segments).
   * False outside a batch: the endpoint sends it now.
   */
  deferAck?(ep: TcpEndpoint): boolean;
  /** RFC 5961 §7: global challenge-ACK rate limit. */
  allowChallengeAck(now: number): boolean;
  /** Latest time seen by the stack. */
  readonly now: number;
}

/** unackedSegs value meaning "ACK at once" (out of order, duplicate, FIN, window probe…). */
const ACK_NOW = 1 << 20;
/**
 * In-order full segments a receive batch may cover with one ACK. Linux's GRO
 * ends up near this (one ACK per merged 64 KiB); fewer ACKs spare the sender's
 * stack and the tunnel a datagram each, and Linux senders count bytes acked.
 */
const MAX_STRETCH_SEGMENTS = 16;

const EV_CONNECT = 1;
const EV_READABLE = 2;
const EV_WRITABLE = 4;
const EV_END = 8;
const EV_CLOSE = 16;

/** Upper bound for the duplicate-ACK threshold raised by observed reordering. */
const MAX_REORDERING = 10;

const TIMER_NONE = 0;
const TIMER_RTO = 1;
const TIMER_PERSIST = 2;
const TIMER_TLP = 3;

export interface TcpEndpointStats {
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;
  bytesOut: number;
  retransmits: number;
  fastRecoveries: number;
  timeouts: number;
  dupAcks: number;
  outOfOrder: number;
  outOfOrderDropped: number;
  pawsDropped: number;
  challengeAcks: number;
  windowProbes: number;
  spuriousRecoveries: number;
  spuriousTimeouts: number;
  lostRetransmits: number;
  tailProbes: number;
}

export interface TcpEndpointInfo {
  state: TcpStateName;
  cwnd: number;
  ssthresh: number;
  srtt: number;
  rttvar: number;
  rto: number;
  mss: number;
  sndWnd: number;
  rcvWnd: number;
  sackOk: boolean;
  timestamps: boolean;
  sndShift: number;
  rcvShift: number;
  inRecovery: boolean;
  congestion: string;
  /** Current buffer sizes (they grow on demand up to the configured maxima). */
  sendBuffer: number;
  receiveBuffer: number;
}

/** Identity of a connection, local and remote. */
export interface TcpEndpointId {
  readonly localAddress: Uint8Array;
  readonly localPort: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
}

export class TcpEndpoint implements TcpEndpointId {
  // ---- identity
  readonly localAddress: Uint8Array;
  readonly localPort: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
  /** Chain link in the stack's connection table. */
  nextInBucket: TcpEndpoint | null = null;
  /** The listener (or forwarder) that created this passive connection, if any. */
  owner: unknown = null;
  /** Slot for the link adapter (e.g. a cached route). */
  linkData: unknown = null;

  // ---- application callbacks
  // Application callbacks. Events that happened while no callback was set
  // are delivered when one is set (connect, writable, end and close once;
  // readable while data is waiting), so attaching callbacks late — after a
  // promise resolved, or a link that completes a handshake inside connect() —
  // loses nothing.
  private cbConnect: (() => void) | null = null;
  private cbReadable: (() => void) | null = null;
  private cbEnd: (() => void) | null = null;
  private cbClose: ((err: TcpError | null) => void) | null = null;
  /** Sticky events that found no callback yet. */
  private missed = 0;

  get onConnect(): (() => void) | null {
    return this.cbConnect;
  }
  set onConnect(cb: (() => void) | null) {
    this.cbConnect = cb;
    if (cb) this.replay(EV_CONNECT);
  }
  get onReadable(): (() => void) | null {
    return this.cbReadable;
  }
  set onReadable(cb: (() => void) | null) {
    this.cbReadable = cb;
    if (cb && this.recvRing && this.recvRing.length > 0) {
      this.missed |= EV_READABLE;
      this.replay(EV_READABLE);
    }
  }
  private cbWritable: (() => void) | null = null;
  /** Room freed up after a short write. */
  get onWritable(): (() => void) | null {
    return this.cbWritable;
  }
  set onWritable(cb: (() => void) | null) {
    this.cbWritable = cb;
    if (cb) this.replay(EV_WRITABLE);
  }
  /** The peer finished sending (FIN); remaining data is still readable. */
  get onEnd(): (() => void) | null {
    return this.cbEnd;
  }
  set onEnd(cb: (() => void) | null) {
    this.cbEnd = cb;
    if (cb) this.replay(EV_END);
  }
  /** Final event; err is null on an orderly close or local abort. */
  get onClose(): ((err: TcpError | null) => void) | null {
    return this.cbClose;
  }
  set onClose(cb: ((err: TcpError | null) => void) | null) {
    this.cbClose = cb;
    if (cb) this.replay(EV_CLOSE);
  }

  /** Re-queues a missed event for a newly set callback and dispatches it. */
  private replay(ev: number): void {
    if (!(this.missed & ev)) return;
    this.missed &= ~ev;
    this.events |= ev;
    this.host.markEvents(this);
    this.host.flush();
  }

  readonly stats: TcpEndpointStats = {
    segmentsIn: 0,
    segmentsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmits: 0,
    fastRecoveries: 0,
    timeouts: 0,
    dupAcks: 0,
    outOfOrder: 0,
    outOfOrderDropped: 0,
    pawsDropped: 0,
    challengeAcks: 0,
    windowProbes: 0,
    spuriousRecoveries: 0,
    spuriousTimeouts: 0,
    lostRetransmits: 0,
    tailProbes: 0,
  };

  state: TcpStateValue = S.CLOSED;
  /** The error the connection ended with, if any. */
  error: TcpError | null = null;
  private passive = false;
  private events = 0;
  private closeEmitted = false;

  // ---- send side
  private iss = 0;
  private sndUna = 0;
  private sndNxt = 0;
  private sndMax = 0;
  private sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndShift = 0;
  /** Sequence number of the first byte in the send ring. */
  private dataStart = 0;
  private sendRing: SendRing | null = null;
  private finQueued = false;
  private finSeq = 0;
  private finAcked = false;
  private writeBlocked = false;
  /** Largest TCP segment (header + data) the path and peer take. */
  private maxSegment = 556;
  /** Data bytes per full segment (maxSegment - 20 - timestamp option). */
  private sendMss = 536;
  private noDelay: boolean;
  private cc: CongestionControl | null = null;
  /** When we last sent data (RFC 5681 §4.1 restart after idle). */
  private lastDataSent = -1;

  // ---- loss recovery
  private readonly scoreboard: SackScoreboard;
  private dupAcks = 0;
  private inRecovery = false;
  private recoverSeq = 0;
  /** RFC 6582 "recover": no new recovery for losses of data sent before it. */
  private recover = 0;
  private recoverValid = false;
  private highRxt = 0;
  private forceRetransmit = false;
  private readonly holeEnd = new Uint32Array(1);
  private readonly sackScratch = new Uint32Array(8);
  /** Eifel (RFC 3522): TSval of our first retransmission in this recovery; -1 when not armed. */
  private undoTsVal = -1;
  private undoSeq = 0;
  /** The armed Eifel check is for a retransmission timeout rather than a fast recovery. */
  private undoAfterTimeout = false;
  /** SND.MAX when we last retransmitted: SACKs for data above it prove earlier retransmissions lost. */
  private rxtMark = 0;
  /** Tail loss probe (RFC 8985 §7) in flight: SND.MAX when it was sent, -1 when none. */
  private tlpHigh = -1;
  /** A SACKed tail probe proved everything un-SACKed below this lost. */
  private forcedLost = 0;
  private forcedLostValid = false;
  /**
   * DupThresh (RFC 6675): 3, raised by one per recovery proven spurious
   * (reordering, not loss) up to MAX_REORDERING, back to 3 on a timeout —
   * Linux's tp->reordering in spirit. Early retransmit and tail loss probes
   * cover small flights that cannot reach a raised threshold.
   */
  private reordering = 3;

  // ---- RTT / RTO
  private readonly rtt: RtoEstimator;
  private rtTiming = false;
  private rtSeq = 0;
  private rtTime = 0;
  private retxCount = 0;

  // ---- receive side
  private irs = 0;
  private rcvNxt = 0;
  /** Right edge of the window we advertised. */
  private rcvAdv = 0;
  private rcvShift = 0;
  /** The MSS we advertise (from the route MTU). */
  private readonly advMss: number;
  private recvRing: RecvRing | null = null;
  private peerFinPending = false;
  private peerFinSeq = 0;
  private peerFinished = false;
  private appClosed = false;
  private ackPending = false;
  private unackedSegs = 0;
  /** D-SACK (RFC 2883) to report in the next ACK: a duplicate segment we received. */
  private dsackPending = false;
  private dsackStart = 0;
  private dsackEnd = 0;
  /** Receive-buffer right-sizing: RCV.NXT that completes the current window's worth, -1 when unarmed. */
  private drsMark = -1;

  // ---- options
  private offerSack: boolean;
  private offerTs: boolean;
  private offerWscale: boolean;
  private sackOk = false;
  private tsOk = false;
  private tsOffset = 0;
  private tsRecent = 0;
  private lastAckSent = 0;

  // ---- timers (absolute ms; Infinity when off)
  private timerMode = TIMER_NONE;
  private rtxDeadline = Infinity;
  private delackDeadline = Infinity;
  private closeDeadline = Infinity;
  private kaDeadline = Infinity;
  private keepAlive = false;
  private keepAliveIdle: number;
  private kaProbes = 0;
  private probes = 0;
  /** Earliest of the timers; the stack's heap key. */
  deadline = Infinity;
  /** Deadline the stack's heap holds for us (managed by the stack). */
  scheduledAt = Infinity;

  constructor(
    private readonly host: EndpointHost,
    readonly config: Readonly<TcpConfig>,
    id: TcpEndpointId,
    mtuPayload: number,
  ) {
    this.localAddress = id.localAddress;
    this.localPort = id.localPort;
    this.remoteAddress = id.remoteAddress;
    this.remotePort = id.remotePort;
    // mtuPayload = route MTU minus the IP header: room for TCP header + data.
    this.advMss = Math.max(64, Math.min(65495, mtuPayload - 20));
    this.noDelay = config.noDelay;
    this.rtt = new RtoEstimator(config.minRto, config.maxRto, config.initialRto);
    this.keepAliveIdle = config.keepAliveIdleMs;
    this.offerSack = config.sack;
    this.offerTs = config.timestamps;
    this.offerWscale = config.windowScaling;
    this.scoreboard = new SackScoreboard(64);
    let shift = 0;
    while (shift < 14 && config.receiveBufferSize >>> shift > 0xffff) shift++;
    this.rcvShift = config.windowScaling ? shift : 0;
  }

  // ======================================================================
  // Application API
  // ======================================================================

  get stateName(): TcpStateName {
    return STATE_NAMES[this.state]!;
  }

  /** In-order bytes waiting to be read. */
  get readableLength(): number {
    return this.recvRing ? this.recvRing.length : 0;
  }

  /** Bytes written but not yet acknowledged by the peer. */
  get writableLength(): number {
    return this.sendRing ? this.sendRing.length : 0;
  }

  /** How many more bytes `write` would take now. */
  get writableFree(): number {
    if (this.finQueued || !this.canWriteState()) return 0;
    return this.sendRing ? this.sendRing.free : Math.min(this.config.initialBufferSize, this.config.sendBufferSize);
  }

  /** True once the peer's FIN arrived (after the readable data, read returns nothing more). */
  get peerClosed(): boolean {
    return this.peerFinished;
  }

  private canWriteState(): boolean {
    const s = this.state;
    return s === S.SYN_SENT || s === S.SYN_RECEIVED || s === S.ESTABLISHED || s === S.CLOSE_WAIT;
  }

  /**
   * Queues data for sending; returns the number of bytes taken (less than
   * data.length when the send buffer is full; `onWritable` fires when room
   * frees up). Throws EPIPE after shutdown/close or on a dead connection.
   */
  write(data: Uint8Array): number {
    if (this.finQueued || !this.canWriteState()) throw new TcpError('EPIPE', 'write after end or on a closed connection');
    this.ensureRings();
    const ring = this.sendRing!;
    if (data.length > ring.free && ring.capacity < this.config.sendBufferSize) {
      // Grow while the network keeps half the buffer in flight (it could use more).
      if (seqDiff(this.sndMax, this.sndUna) >= ring.capacity >>> 1) {
        ring.grow(Math.min(this.config.sendBufferSize, ring.capacity * 2));
      }
    }
    const n = ring.write(data);
    if (n < data.length) this.writeBlocked = true;
    if (n > 0 && this.state !== S.SYN_SENT && this.state !== S.SYN_RECEIVED) {
      this.output(this.host.now);
      this.apiDone();
    }
    return n;
  }

  /** Takes up to `max` in-order bytes (an empty array when none). */
  read(max?: number): Uint8Array {
    const ring = this.recvRing;
    if (!ring || ring.length === 0) return new Uint8Array(0);
    const out = ring.read(max ?? ring.length);
    this.maybeWindowUpdate();
    return out;
  }

  /** Half-close: send FIN after the queued data. Reading continues. */
  shutdown(): void {
    if (this.finQueued) return;
    const s = this.state;
    if (s === S.CLOSED || s === S.LISTEN) return;
    if (s === S.SYN_SENT && !this.sendRing?.length) {
      // Nothing to flush and no connection yet: just give up.
      this.toClosed(null);
      this.apiDone();
      return;
    }
    this.ensureRings();
    this.finQueued = true;
    this.finSeq = seqAdd(this.dataStart, this.sendRing!.length);
    if (s === S.ESTABLISHED) this.state = S.FIN_WAIT_1;
    else if (s === S.CLOSE_WAIT) this.state = S.LAST_ACK;
    if (s === S.ESTABLISHED || s === S.CLOSE_WAIT) this.output(this.host.now);
    this.apiDone();
  }

  /**
   * Full close: the application will neither read nor write. Unread data
   * makes it an abort (RST), as Linux does (RFC 2525 §2.17).
   */
  close(): void {
    if (this.appClosed) return;
    this.appClosed = true;
    if (this.recvRing && this.recvRing.length > 0) {
      this.abort();
      return;
    }
    this.shutdown();
    if (this.state === S.FIN_WAIT_2) this.armCloseTimer(this.host.now + this.config.finWait2TimeoutMs);
    this.apiDone();
  }

  /** Drops the connection at once, telling the peer with RST when synchronized. */
  abort(): void {
    const s = this.state;
    if (s === S.CLOSED) return;
    this.appClosed = true;
    if (s === S.SYN_RECEIVED || s === S.ESTABLISHED || s === S.FIN_WAIT_1 || s === S.FIN_WAIT_2 || s === S.CLOSE_WAIT) {
      this.emit(this.sndMax, TCP_RST | TCP_ACK, 0, this.host.now);
    }
    this.toClosed(null);
    this.apiDone();
  }

  setNoDelay(noDelay = true): void {
    this.noDelay = noDelay;
    if (noDelay && this.state >= S.ESTABLISHED) {
      this.output(this.host.now);
      this.apiDone();
    }
  }

  setKeepAlive(enable: boolean, idleMs?: number): void {
    this.keepAlive = enable;
    if (idleMs !== undefined && idleMs > 0) this.keepAliveIdle = idleMs;
    this.kaProbes = 0;
    this.kaDeadline = enable && this.state >= S.ESTABLISHED ? this.host.now + this.keepAliveIdle : Infinity;
    this.apiDone();
  }

  info(): TcpEndpointInfo {
    return {
      state: this.stateName,
      cwnd: this.cc ? this.cc.cwnd : 0,
      ssthresh: this.cc ? this.cc.ssthresh : 0,
      srtt: this.rtt.srtt,
      rttvar: this.rtt.rttvar,
      rto: this.rtt.rto,
      mss: this.sendMss,
      sndWnd: this.sndWnd,
      rcvWnd: this.rcvRoom(),
      sackOk: this.sackOk,
      timestamps: this.tsOk,
      sndShift: this.sndShift,
      rcvShift: this.rcvShift,
      inRecovery: this.inRecovery,
      congestion: this.cc ? this.cc.name : this.config.congestion,
      sendBuffer: this.sendRing ? this.sendRing.capacity : 0,
      receiveBuffer: this.recvRing ? this.recvRing.capacity : 0,
    };
  }

  /** Test/diagnostic view of sequence variables. */
  get sequence(): { iss: number; irs: number; sndUna: number; sndNxt: number; sndMax: number; rcvNxt: number } {
    return { iss: this.iss, irs: this.irs, sndUna: this.sndUna, sndNxt: this.sndNxt, sndMax: this.sndMax, rcvNxt: this.rcvNxt };
  }

  // ======================================================================
  // Opening (called by the stack)
  // ======================================================================

  /** Active open: send SYN. */
  openActive(iss: number, tsOffset: number, now: number): void {
    this.iss = iss;
    this.tsOffset = tsOffset;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.dataStart = seqAdd(iss, 1);
    this.state = S.SYN_SENT;
    this.ensureRings();
    this.sendSyn(now);
    this.afterChange();
  }

  /**
   * Passive open from a SYN (already validated by the stack): send SYN-ACK.
   * With `synAckSent` the SYN-ACK already went out statelessly (SYN cookie).
   */
  openPassive(syn: Readonly<TcpHeader>, iss: number, tsOffset: number, now: number, synAckSent = false): void {
    this.passive = true;
    this.iss = iss;
    this.tsOffset = tsOffset;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.dataStart = seqAdd(iss, 1);
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.negotiate(syn);
    this.sndWnd = syn.window; // never scaled in a SYN
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = syn.seq;
    this.sndWl2 = iss;
    this.state = S.SYN_RECEIVED;
    if (synAckSent) {
      this.sndNxt = seqAdd(iss, 1);
      this.sndMax = this.sndNxt;
      this.rcvAdv = seqAdd(this.rcvNxt, Math.min(this.rcvRoom(), 0xffff));
      this.retxCount = 1; // no RTT sample from a handshake we did not time
    } else this.sendSyn(now);
    this.afterChange();
  }

  private negotiate(h: Readonly<TcpHeader>): void {
    const peerMss = h.mss >= 0 ? h.mss : this.localAddress.length === 4 ? 536 : 1220;
    this.sackOk = this.offerSack && h.sackPermitted;
    this.tsOk = this.offerTs && h.hasTimestamp;
    if (this.tsOk) this.tsRecent = h.tsVal;
    if (this.offerWscale && h.wscale >= 0) {
      this.sndShift = Math.min(14, h.wscale);
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
    }
    this.maxSegment = Math.max(20 + 64, Math.min(peerMss, this.advMss) + 20);
    this.sendMss = this.maxSegment - 20 - (this.tsOk ? 12 : 0);
    // What we answer in a SYN-ACK mirrors what the peer offered.
    this.offerSack = this.sackOk;
    this.offerTs = this.tsOk;
    this.offerWscale = this.offerWscale && h.wscale >= 0;
  }

  private ensureRings(): void {
    const c = this.config;
    if (!this.sendRing) this.sendRing = new SendRing(Math.min(c.initialBufferSize, c.sendBufferSize));
    if (!this.recvRing) this.recvRing = new RecvRing(this.initialRecvCapacity(), c.maxOutOfOrderRanges);
  }

  private sendSyn(now: number): void {
    const flags = this.state === S.SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;
    this.emit(this.iss, flags, 0, now);
    if (seqLE(this.sndNxt, this.iss)) this.sndNxt = seqAdd(this.iss, 1);
    if (seqLE(this.sndMax, this.iss)) this.sndMax = seqAdd(this.iss, 1);
    this.armRtx(TIMER_RTO, now + this.rtt.rto);
  }

  private enterEstablished(now: number): void {
    this.state = this.finQueued ? S.FIN_WAIT_1 : S.ESTABLISHED;
    this.ensureRings();
    this.cc = createCongestionControl(this.config.congestion, this.sendMss);
    this.retxCount = 0;
    this.rtt.resetBackoff();
    if (this.keepAlive) this.kaDeadline = now + this.keepAliveIdle;
    this.events |= EV_CONNECT;
    if (this.passive) this.host.established(this);
  }

  // ======================================================================
  // Segment arrival (RFC 9293 §3.10.7)
  // ======================================================================

  segmentArrives(h: TcpHeader, data: Uint8Array, now: number): void {
    this.stats.segmentsIn++;
    if (this.state === S.SYN_SENT) this.synSentArrives(h, data, now);
    else if (this.state !== S.CLOSED && this.state !== S.LISTEN) this.synchronizedArrives(h, data, now);
    this.afterChange();
  }

  private synSentArrives(h: TcpHeader, data: Uint8Array, now: number): void {
    const flags = h.flags;
    let ackOk = false;
    if (flags & TCP_ACK) {
      if (seqLE(h.ack, this.iss) || seqGT(h.ack, this.sndMax)) {
        if (!(flags & TCP_RST)) this.emitRaw(h.ack, 0, TCP_RST);
        return;
      }
      ackOk = true;
    }
    if (flags & TCP_RST) {
      if (ackOk) this.toClosed(new TcpError('ECONNREFUSED', 'connection refused'));
      return;
    }
    if (!(flags & TCP_SYN)) return;
    this.irs = h.seq;
    this.rcvNxt = seqAdd(h.seq, 1);
    this.negotiate(h);
    this.lastAckSent = this.rcvNxt;
    if (ackOk) {
      this.sndUna = h.ack;
      if (this.tsOk && h.tsEcr !== 0) {
        const sample = (((now + this.tsOffset) >>> 0) - h.tsEcr) >>> 0;
        if (sample < 0x7fffffff) this.rtt.sample(sample);
      }
      else if (this.retxCount === 0) this.rtt.sample(now - this.rtTimeSyn);
    }
    this.sndWnd = h.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = h.seq;
    this.sndWl2 = h.ack;
    if (ackOk && seqGT(this.sndUna, this.iss)) {
      this.rtxDeadline = Infinity;
      this.timerMode = TIMER_NONE;
      this.enterEstablished(now);
      this.rcvAdv = this.rcvNxt;
      if (data.length > 0 || flags & TCP_FIN) {
        // Data on a SYN-ACK: process it as if it came on the next segment.
        h.seq = this.rcvNxt;
        h.flags = flags & ~TCP_SYN;
        this.synchronizedArrives(h, data, now);
        return;
      }
      this.sendAck(now);
      this.output(now);
    } else {
      // Simultaneous open (RFC 9293 figure 7).
      this.state = S.SYN_RECEIVED;
      this.sendSyn(now);
    }
  }

  private synchronizedArrives(h: TcpHeader, data: Uint8Array, now: number): void {
    let flags = h.flags;
    const state0 = this.state;

    if (state0 === S.SYN_RECEIVED && flags & TCP_SYN && h.seq === this.irs) {
      if (!(flags & TCP_ACK)) {
        // The peer retransmitted its SYN: our SYN-ACK was lost.
        if (!(flags & TCP_RST)) this.emit(this.iss, TCP_SYN | TCP_ACK, 0, now);
        return;
      }
      // Simultaneous open: the peer's SYN-ACK acknowledges our SYN; take it as the ACK.
      h.seq = seqAdd(h.seq, 1);
      flags &= ~TCP_SYN;
      h.flags = flags;
    }

    // PAWS (RFC 7323 §5.3).
    if (this.tsOk && h.hasTimestamp && !(flags & TCP_RST) && seqLT(h.tsVal, this.tsRecent)) {
      this.stats.pawsDropped++;
      this.sendAck(now);
      return;
    }

    const segLen = data.length + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    if (!this.acceptable(h.seq, segLen)) {
      // RFC 9293: a zero window still takes valid ACKs: process the ACK, drop the data.
      const room = this.rcvRoom();
      if (room === 0 && h.seq === this.rcvNxt && flags & TCP_ACK && !(flags & (TCP_RST | TCP_SYN))) {
        data = data.subarray(0, 0);
        flags &= ~TCP_FIN;
        h.flags = flags;
        this.ackPending = true;
        this.unackedSegs = ACK_NOW;
      } else {
        if (!(flags & TCP_RST)) {
          if (this.sackOk && data.length > 0 && seqLT(h.seq, this.rcvNxt)) {
            // An old duplicate: report it (RFC 2883 D-SACK) so the sender can tell it was spurious.
            this.dsackPending = true;
            this.dsackStart = h.seq;
            this.dsackEnd = seqMin(seqAdd(h.seq, data.length), this.rcvNxt);
          }
          this.sendAck(now);
          if (this.state === S.TIME_WAIT && flags & TCP_FIN) this.armCloseTimer(now + 2 * this.config.mslMs);
        }
        return;
      }
    }

    if (flags & TCP_RST) {
      if (h.seq === this.rcvNxt) this.resetReceived();
      else this.challengeAck(now);
      return;
    }

    if (flags & TCP_SYN) {
      if (this.state === S.SYN_RECEIVED && this.passive) {
        // RFC 9293: back to LISTEN; our listener still exists, so just forget this attempt.
        this.toClosed(null);
        return;
      }
      // RFC 5961 §4: any SYN in a synchronized state gets a challenge ACK.
      this.challengeAck(now);
      return;
    }

    if (!(flags & TCP_ACK)) return;

    if (this.state === S.SYN_RECEIVED) {
      if (seqGT(h.ack, this.sndUna) && seqLE(h.ack, this.sndMax)) {
        this.rtxDeadline = Infinity;
        this.timerMode = TIMER_NONE;
        this.sndWnd = h.window << this.sndShift;
        this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
        this.sndWl1 = h.seq;
        this.sndWl2 = h.ack;
        this.rcvAdv = seqMax(this.rcvAdv, this.rcvNxt);
        if (!this.tsOk && this.retxCount === 0) this.rtt.sample(now - this.rtTimeSyn);
        this.enterEstablished(now);
      } else {
        this.emitRaw(h.ack, 0, TCP_RST);
        return;
      }
    }

    // RFC 5961 §5.2 ACK acceptability.
    if (seqGT(h.ack, this.sndMax)) {
      this.sendAck(now);
      return;
    }
    if (seqLT(h.ack, (this.sndUna - this.maxSndWnd) >>> 0) && this.maxSndWnd > 0) {
      this.challengeAck(now);
      return;
    }

    this.processAck(h, data.length, now);
    if (this.state === S.CLOSED) return;

    if (this.finAcked) {
      if (this.state === S.FIN_WAIT_1) {
        this.state = S.FIN_WAIT_2;
        if (this.appClosed) this.armCloseTimer(now + this.config.finWait2TimeoutMs);
      } else if (this.state === S.CLOSING) {
        this.enterTimeWait(now);
      } else if (this.state === S.LAST_ACK) {
        this.toClosed(null);
        return;
      }
    }

    // TS.Recent (RFC 7323 §4.3), after the segment proved acceptable.
    if (this.tsOk && h.hasTimestamp && seqLE(h.seq, this.lastAckSent)) this.tsRecent = h.tsVal;

    const s = this.state;
    if (data.length > 0) {
      if (s === S.ESTABLISHED || s === S.FIN_WAIT_1 || s === S.FIN_WAIT_2) {
        this.receiveData(h.seq, data, now);
        if (this.isClosed()) return;
      }
    }
    if (flags & TCP_FIN && s !== S.CLOSE_WAIT && s !== S.CLOSING && s !== S.LAST_ACK && s !== S.TIME_WAIT) {
      const finAt = seqAdd(h.seq, data.length);
      if (seqLE(finAt, seqAdd(this.rcvNxt, this.rcvRoom()))) {
        this.peerFinPending = true;
        this.peerFinSeq = finAt;
      }
    }
    if (this.peerFinPending && this.rcvNxt === this.peerFinSeq) this.finReceived(now);
    if (this.isClosed()) return;

    this.output(now);
    this.settleAck(now);
  }

  /** Reads the state afresh (TypeScript narrows `this.state` across calls that change it). */
  private isClosed(): boolean {
    return this.state === S.CLOSED;
  }

  private rcvRoom(): number {
    return this.recvRing ? this.recvRing.window : this.initialRecvCapacity();
  }

  private initialRecvCapacity(): number {
    return Math.min(this.config.initialBufferSize, this.config.receiveBufferSize);
  }

  private acceptable(seq: number, segLen: number): boolean {
    const wnd = this.rcvRoom();
    const nxt = this.rcvNxt;
    if (segLen === 0) {
      if (wnd === 0) return seq === nxt;
      return seqInRange(seq, nxt, seqAdd(nxt, wnd));
    }
    if (wnd === 0) return false;
    const end = seqAdd(nxt, wnd);
    return seqInRange(seq, nxt, end) || seqInRange(seqAdd(seq, segLen - 1), nxt, end);
  }

  private resetReceived(): void {
    switch (this.state) {
      case S.SYN_RECEIVED:
        if (this.passive) this.toClosed(null);
        else this.toClosed(new TcpError('ECONNREFUSED', 'connection refused'));
        return;
      case S.ESTABLISHED:
      case S.FIN_WAIT_1:
      case S.FIN_WAIT_2:
      case S.CLOSE_WAIT:
        this.toClosed(new TcpError('ECONNRESET', 'connection reset by peer'));
        return;
      default:
        this.toClosed(null);
    }
  }

  private challengeAck(now: number): void {
    if (!this.host.allowChallengeAck(now)) return;
    this.stats.challengeAcks++;
    this.sendAck(now);
  }

  private processAck(h: TcpHeader, dataLen: number, now: number): void {
    const ack = h.ack;
    const cc = this.cc!;
    const wnd = h.window << this.sndShift;
    this.probes = 0;
    if (seqGT(ack, this.sndUna)) {
      // RTT sample (RFC 7323 timestamps, or one timed segment per RTT per Karn).
      if (this.tsOk && h.hasTimestamp && h.tsEcr !== 0) {
        const sample = (((now + this.tsOffset) >>> 0) - h.tsEcr) >>> 0;
        if (sample < 0x7fffffff) this.rtt.sample(sample);
      } else if (this.rtTiming && seqGT(ack, this.rtSeq)) {
        this.rtTiming = false;
        this.rtt.sample(now - this.rtTime);
      }
      const ring = this.sendRing;
      let dataAcked = ring ? seqDiff(ack, this.dataStart) : 0;
      if (ring && dataAcked > ring.length) dataAcked = ring.length;
      if (ring && dataAcked > 0) {
        const wasFull = ring.free === 0;
        ring.consume(dataAcked);
        this.dataStart = seqAdd(this.dataStart, dataAcked);
        // The application kept the buffer full and the network kept half of it
        // in flight: the buffer, not the path, is the limit — grow it.
        if (wasFull && ring.capacity < this.config.sendBufferSize && seqDiff(this.sndMax, this.sndUna) >= ring.capacity >>> 1) {
          ring.grow(Math.min(this.config.sendBufferSize, ring.capacity * 2));
        }
      }
      if (this.finQueued && seqGT(ack, this.finSeq)) this.finAcked = true;
      this.sndUna = ack;
      if (seqLT(this.sndNxt, ack)) this.sndNxt = ack;
      if (seqLT(this.highRxt, ack)) this.highRxt = ack;
      this.scoreboard.advance(ack);
      this.retxCount = 0;
      this.rtt.resetBackoff();
      if (this.undoTsVal >= 0 && seqGT(ack, this.undoSeq)) {
        // The first ACK covering the first retransmission: if it echoes a
        // timestamp older than that retransmission, the original arrived and
        // the "loss" was reordering — undo the window reduction.
        if (h.hasTimestamp && seqLT(h.tsEcr, this.undoTsVal)) {
          // Recovery goes on (other holes may be real losses), at the old window.
          this.stats.spuriousRecoveries++;
          cc.undo();
          if (!this.undoAfterTimeout && this.reordering < MAX_REORDERING) this.reordering++;
          if (this.undoAfterTimeout) {
            // A spurious timeout (a delay spike): the originals are still in
            // flight, so resume with new data instead of going back (RFC 4015).
            this.stats.spuriousTimeouts++;
            if (seqLT(this.sndNxt, this.sndMax)) this.sndNxt = this.sndMax;
          }
        }
        this.undoTsVal = -1;
      }
      if (this.inRecovery) {
        if (seqGE(ack, this.recoverSeq)) {
          this.inRecovery = false;
          this.forcedLostValid = false;
          this.dupAcks = 0;
          const flight = seqDiff(this.sndMax, this.sndUna);
          cc.cwnd = Math.max(Math.min(cc.ssthresh, flight + this.sendMss), this.sendMss);
        } else if (!this.sackOk) {
          // NewReno partial ACK (RFC 6582 §3.2 step 5): the next hole is lost too.
          this.highRxt = ack;
          this.dupAcks = 0;
          this.forceRetransmit = true;
        }
      } else {
        this.dupAcks = 0;
        // Grow only when the window was in use (RFC 7661 / RFC 9438 §5.8):
        // an application-limited sender must not inflate cwnd it never tested.
        const flightBefore = seqDiff(this.sndMax, this.sndUna) + dataAcked;
        if (dataAcked > 0 && 2 * flightBefore >= cc.cwnd) cc.onAck(dataAcked, now, this.rtt.srtt);
      }
      if (this.writeBlocked && ring && ring.free > 0) {
        this.writeBlocked = false;
        this.events |= EV_WRITABLE;
      }
      if (this.sndUna === this.sndMax) {
        if (this.timerMode === TIMER_RTO || this.timerMode === TIMER_TLP) {
          this.rtxDeadline = Infinity;
          this.timerMode = TIMER_NONE;
        }
      } else this.armLossTimer(now);
    } else if (
      ack === this.sndUna &&
      dataLen === 0 &&
      !(h.flags & (TCP_SYN | TCP_FIN)) &&
      wnd === this.sndWnd &&
      wnd !== 0 && // answers to window probes are not loss signals
      seqGT(this.sndMax, this.sndUna)
    ) {
      this.dupAcks++;
      this.stats.dupAcks++;
    }

    if (this.sackOk && h.sackCount > 0) {
      const b = h.sackBlocks;
      for (let i = 0; i < h.sackCount; i++) this.scoreboard.add(b[i * 2]!, b[i * 2 + 1]!, this.sndUna, this.sndMax);
    }

    // Window update (RFC 9293 §3.10.7.4).
    if (seqLT(this.sndWl1, h.seq) || (this.sndWl1 === h.seq && seqLE(this.sndWl2, ack))) {
      this.sndWnd = wnd;
      if (wnd > this.maxSndWnd) this.maxSndWnd = wnd;
      this.sndWl1 = h.seq;
      this.sndWl2 = ack;
      if (wnd > 0 && this.timerMode === TIMER_PERSIST) {
        this.timerMode = TIMER_NONE;
        this.rtxDeadline = Infinity;
        this.rtt.resetBackoff();
      }
    }

    if (this.tlpHigh >= 0) {
      if (seqGE(this.sndUna, this.tlpHigh)) this.tlpHigh = -1;
      else if (this.sackOk && !this.inRecovery && this.scoreboard.isSacked(seqAdd(this.tlpHigh, -1))) {
        // The probe arrived but data sent before it did not: that data is
        // lost (what RACK concludes from send order), recover it now.
        this.tlpHigh = -1;
        this.forcedLost = this.scoreboard.highest(this.sndUna);
        this.forcedLostValid = true;
        this.enterRecovery(now);
      }
    }
    if (!this.inRecovery && seqGT(this.sndMax, this.sndUna) && (!this.recoverValid || seqGT(this.sndUna, this.recover))) {
      const thresh = this.dupThreshold();
      const lost = this.sackOk && seqGT(this.scoreboard.lostBoundary(this.sndUna, this.sendMss, thresh), this.sndUna);
      if (this.dupAcks >= thresh || lost) this.enterRecovery(now);
    }
  }

  /**
   * DupThresh, lowered by early retransmit (RFC 5827) when fewer than four
   * segments are outstanding and nothing new can be sent: a small flight
   * cannot produce three duplicate ACKs, so it would wait for the RTO.
   */
  private dupThreshold(): number {
    const flight = seqDiff(this.sndMax, this.sndUna);
    const oseg = Math.ceil(flight / this.sendMss);
    if (oseg >= 4) return this.reordering;
    const ring = this.sendRing;
    const unsent = ring ? seqDiff(seqAdd(this.dataStart, ring.length), this.sndNxt) : 0;
    const canSendNew = unsent > 0 && seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt) > 0;
    if (canSendNew) return this.reordering;
    return Math.max(1, oseg - 1);
  }

  private enterRecovery(now: number): void {
    const cc = this.cc!;
    this.inRecovery = true;
    this.recoverSeq = this.sndMax;
    this.recover = this.sndMax;
    this.recoverValid = true;
    this.highRxt = this.sndUna;
    this.forceRetransmit = true;
    this.rtTiming = false;
    this.stats.fastRecoveries++;
    cc.onCongestion(now, seqDiff(this.sndMax, this.sndUna));
  }

  private rtTimeSyn = 0;

  private receiveData(seq: number, data: Uint8Array, now: number): void {
    const ring = this.recvRing!;
    if (seqLT(seq, this.rcvNxt)) {
      const cut = seqDiff(this.rcvNxt, seq);
      if (cut >= data.length) {
        this.ackPending = true;
        this.unackedSegs = ACK_NOW; // duplicate: ACK at once so the sender learns
        if (this.sackOk) {
          // Tell the sender it retransmitted needlessly (RFC 2883 D-SACK).
          this.dsackPending = true;
          this.dsackStart = seq;
          this.dsackEnd = seqAdd(seq, data.length);
        }
        return;
      }
      data = data.subarray(cut);
      seq = this.rcvNxt;
    }
    const offset = seqDiff(seq, this.rcvNxt);
    const room = ring.window;
    if (offset >= room) {
      this.ackPending = true;
      this.unackedSegs = ACK_NOW;
      return;
    }
    if (offset + data.length > room) data = data.subarray(0, room - offset);
    if (this.appClosed) {
      // Nobody will read this: reset, as Linux does.
      this.emit(this.sndMax, TCP_RST | TCP_ACK, 0, now);
      this.toClosed(null);
      return;
    }
    const hadHoles = ring.rangeCount > 0;
    const advanced = ring.store(offset, data);
    if (advanced === RECV_REJECTED) {
      this.stats.outOfOrderDropped++;
      this.ackPending = true;
      this.unackedSegs = ACK_NOW;
      return;
    }
    this.stats.bytesIn += data.length;
    if (advanced > 0) {
      this.rcvNxt = seqAdd(this.rcvNxt, advanced);
      this.rightSizeReceiveBuffer();
      this.events |= EV_READABLE;
    }
    this.ackPending = true;
    if (offset > 0 || hadHoles) {
      if (offset > 0) this.stats.outOfOrder++;
      this.unackedSegs = ACK_NOW; // out of order or filling a hole: ACK at once (RFC 5681 §4.2)
    } else {
      this.unackedSegs++;
    }
  }

  /**
   * Dynamic right-sizing (in the spirit of Linux's DRS): each time a whole
   * buffer's worth of data has arrived while the application kept at least
   * half the buffer free, the window was what limited the peer — double the
   * buffer (up to receiveBufferSize). Slow readers and idle connections stay small.
   */
  private rightSizeReceiveBuffer(): void {
    const ring = this.recvRing!;
    if (this.drsMark < 0) {
      this.drsMark = seqAdd(this.rcvNxt, ring.capacity);
      return;
    }
    if (seqLT(this.rcvNxt, this.drsMark)) return;
    if (ring.length < ring.capacity >>> 1 && ring.capacity < this.config.receiveBufferSize) {
      ring.grow(Math.min(this.config.receiveBufferSize, ring.capacity * 2));
    }
    this.drsMark = seqAdd(this.rcvNxt, ring.capacity);
  }

  private finReceived(now: number): void {
    this.peerFinPending = false;
    this.peerFinished = true;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.ackPending = true;
    this.unackedSegs = ACK_NOW;
    this.events |= EV_END;
    switch (this.state) {
      case S.SYN_RECEIVED:
      case S.ESTABLISHED:
        this.state = S.CLOSE_WAIT;
        break;
      case S.FIN_WAIT_1:
        if (this.finAcked) this.enterTimeWait(now);
        else this.state = S.CLOSING;
        break;
      case S.FIN_WAIT_2:
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
  }

  /** Drops buffers nobody needs any more (TIME_WAIT can last minutes). Unread data stays readable. */
  private releaseBuffers(): void {
    this.sendRing = null;
    if (this.recvRing && this.recvRing.length === 0) this.recvRing = null;
    else this.recvRing?.clearOutOfOrder();
  }

  private enterTimeWait(now: number): void {
    this.releaseBuffers();
    this.state = S.TIME_WAIT;
    this.timerMode = TIMER_NONE;
    this.rtxDeadline = Infinity;
    this.kaDeadline = Infinity;
    this.armCloseTimer(now + 2 * this.config.mslMs);
    this.events |= EV_CLOSE;
  }

  private armCloseTimer(at: number): void {
    this.closeDeadline = at;
  }

  /** Sends the ACK we owe now, or arms the delayed-ACK timer. */
  private settleAck(now: number): void {
    if (!this.ackPending) return;
    if (this.unackedSegs >= 2) {
      if (this.unackedSegs < MAX_STRETCH_SEGMENTS && this.host.deferAck?.(this)) {
        // The batch's end sends it; the delayed-ACK timer stays as the backstop.
        if (this.delackDeadline === Infinity) this.delackDeadline = now + this.config.delayedAckMs;
        return;
      }
      this.sendAck(now);
    } else if (this.delackDeadline === Infinity) this.delackDeadline = now + this.config.delayedAckMs;
  }

  /** End of a receive batch: the ACK deferred by settleAck (if still owed). */
  sendDeferredAck(now: number): void {
    if (this.ackPending && this.state !== S.CLOSED) {
      this.sendAck(now);
      this.afterChange();
    }
  }

  private sendAck(now: number): void {
    // SND.MAX, not SND.NXT: after a timeout rewinds SND.NXT, an old sequence
    // number would make the peer drop our ACK as out of window (and we theirs).
    this.emit(this.sndMax, TCP_ACK, 0, now);
  }

  private maybeWindowUpdate(): void {
    const s = this.state;
    if (s !== S.ESTABLISHED && s !== S.FIN_WAIT_1 && s !== S.FIN_WAIT_2) return;
    const ring = this.recvRing!;
    const cur = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
    const room = ring.window;
    // Like Linux's tcp_cleanup_rbuf: announce only a window that at least
    // doubles what the peer may still send, and only when that has fallen to
    // half the buffer or less — not an ACK per read.
    if (room - cur >= Math.min(ring.capacity >>> 1, this.advMss) && cur * 2 <= ring.capacity && room >= 2 * cur) {
      this.sendAck(this.host.now);
      this.apiDone();
    }
  }

  // ======================================================================
  // Sending
  // ======================================================================

  /** Sends what congestion control, the peer's window and Nagle allow. */
  private output(now: number): void {
    const s = this.state;
    if (s !== S.ESTABLISHED && s !== S.CLOSE_WAIT && s !== S.FIN_WAIT_1 && s !== S.CLOSING && s !== S.LAST_ACK) return;
    const cc = this.cc!;
    const ring = this.sendRing!;
    let pipe = 0;
    if (this.inRecovery) {
      if (this.sackOk && seqGT(this.highRxt, this.sndUna) && seqLT(this.rxtMark, this.sndMax)) {
        // Data sent after our last retransmission is SACKed beyond the
        // reordering allowance while holes below remain: those
        // retransmissions were lost too. Walk the holes again instead of
        // waiting for the RTO.
        const above = this.scoreboard.sackedBetween(this.rxtMark, this.sndMax);
        if (above > (this.reordering - 1) * this.sendMss && this.scoreboard.nextHole(this.sndUna, this.highRxt, this.holeEnd) >= 0) {
          this.stats.lostRetransmits++;
          this.highRxt = this.sndUna;
          this.rxtMark = this.sndMax;
        }
      }
      const lost = this.lostBoundary();
      pipe = this.pipe(lost);
      while (pipe < cc.cwnd || this.forceRetransmit) {
        const from = seqMax(this.highRxt, this.sndUna);
        const hole = this.scoreboard.nextHole(from, lost, this.holeEnd);
        if (hole < 0) break;
        const cap = this.segmentCapacity();
        let len = Math.min(seqDiff(this.holeEnd[0]!, hole), cap);
        const dataEnd = seqAdd(this.dataStart, ring.length);
        let fin = false;
        if (seqGE(seqAdd(hole, len), dataEnd)) {
          len = Math.max(0, seqDiff(dataEnd, hole));
          fin = this.finQueued && seqGT(this.sndMax, this.finSeq);
          if (len === 0 && !fin) break;
        }
        if (this.forceRetransmit && this.tsOk && hole === this.sndUna) {
          this.undoTsVal = (now + this.tsOffset) >>> 0;
          this.undoSeq = hole;
          this.undoAfterTimeout = false;
        }
        this.emitData(hole, len, fin, now);
        this.stats.retransmits++;
        this.rxtMark = this.sndMax;
        this.highRxt = seqAdd(hole, len + (fin ? 1 : 0));
        pipe += len;
        this.forceRetransmit = false;
      }
      this.forceRetransmit = false;
    }
    if (this.sndUna === this.sndMax && this.lastDataSent >= 0 && now - this.lastDataSent > this.rtt.rto) {
      // Idle for more than an RTO: the ACK clock is gone, do not burst the old window (RFC 5681 §4.1).
      const iw = initialWindow(this.sendMss);
      if (cc.cwnd > iw) cc.cwnd = iw;
      cc.onIdle();
    }
    for (;;) {
      if (!this.inRecovery && this.scoreboard.count > 0 && seqLT(this.sndNxt, this.sndMax)) {
        // Go-back-N after a timeout: skip what the peer SACKed.
        const hole = this.scoreboard.nextHole(this.sndNxt, this.sndMax, this.holeEnd);
        this.sndNxt = hole < 0 ? this.sndMax : hole;
      }
      const inflight = this.inRecovery ? pipe : seqDiff(this.sndNxt, this.sndUna);
      const dataEnd = seqAdd(this.dataStart, ring.length);
      let unsent = seqDiff(dataEnd, this.sndNxt);
      if (unsent < 0) unsent = 0;
      const finPending = this.finQueued && seqLE(this.sndNxt, this.finSeq);
      if (unsent === 0 && !finPending) break;
      const wndLimit = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      const cwndLimit = cc.cwnd - inflight;
      const cap = this.segmentCapacity();
      let len = Math.min(unsent, cap, wndLimit, cwndLimit);
      if (len < 0) len = 0;
      if (len > 0 && !this.inRecovery && this.scoreboard.count > 0 && seqLT(this.sndNxt, this.sndMax)) {
        const toSacked = seqDiff(this.holeEnd[0]!, this.sndNxt); // end of the hole found above
        if (toSacked > 0 && toSacked < len) len = toSacked;
      }
      const fin = finPending && len === unsent && wndLimit >= 0 && cwndLimit > 0;
      if (len === 0 && !fin) break;
      if (len < cap && !fin) {
        if (len < unsent) {
          // Window-limited: sender-side silly window avoidance (RFC 9293 §3.8.6.2.1).
          if (len < this.maxSndWnd >>> 1 && inflight > 0) break;
        } else if (!this.noDelay && inflight > 0) {
          break; // Nagle: one small segment in flight at a time
        }
      }
      const isNew = this.sndNxt === this.sndMax;
      if (isNew && !this.tsOk && !this.rtTiming) {
        this.rtTiming = true;
        this.rtSeq = this.sndNxt;
        this.rtTime = now;
      }
      if (!isNew) {
        this.stats.retransmits++;
        if (this.rtTiming && seqLE(this.sndNxt, this.rtSeq)) this.rtTiming = false;
      }
      this.emitData(this.sndNxt, len, fin, now);
      this.lastDataSent = now;
      this.sndNxt = seqAdd(this.sndNxt, len + (fin ? 1 : 0));
      if (seqGT(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      if (this.inRecovery) pipe += len;
      if (this.timerMode === TIMER_NONE || this.timerMode === TIMER_TLP) this.armLossTimer(now);
    }
    // Zero window with data waiting and nothing in flight: persist timer.
    if (this.sndUna === this.sndMax && this.timerMode === TIMER_NONE) {
      const dataEnd = seqAdd(this.dataStart, ring.length);
      const waiting = seqGT(dataEnd, this.sndNxt) || (this.finQueued && seqLE(this.sndNxt, this.finSeq));
      if (waiting && seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt) <= 0) {
        this.armRtx(TIMER_PERSIST, now + this.rtt.rto);
      }
    }
  }

  /** Data bytes that fit one segment given the options it will carry. */
  private segmentCapacity(): number {
    let hl = 20 + (this.tsOk ? 12 : 0);
    const ring = this.recvRing;
    if (this.sackOk && ring && ring.rangeCount > 0) {
      const blocks = Math.min(ring.rangeCount, this.tsOk ? 3 : 4);
      hl += 4 + 8 * blocks;
    }
    return this.maxSegment - hl;
  }

  /** RFC 6675 IsLost boundary, or the NewReno equivalent (the first unacked segment). */
  private lostBoundary(): number {
    if (this.sackOk) {
      const b = this.scoreboard.lostBoundary(this.sndUna, this.sendMss, this.dupThreshold());
      return this.forcedLostValid && this.inRecovery ? seqMax(b, this.forcedLost) : b;
    }
    if (!this.inRecovery) return this.sndUna;
    return seqAdd(this.sndUna, Math.min(this.sendMss, seqDiff(this.sndMax, this.sndUna)));
  }

  /** RFC 6675 pipe: bytes believed in the network. */
  private pipe(lost: number): number {
    const una = this.sndUna;
    const flight = seqDiff(this.sndMax, una);
    let sacked: number;
    if (this.sackOk) sacked = this.scoreboard.sacked;
    else sacked = Math.min(this.dupAcks * this.sendMss, Math.max(0, flight - this.sendMss));
    let p = flight - sacked;
    const rxt = seqMax(this.highRxt, una);
    if (seqLT(rxt, lost)) {
      // Lost and not yet retransmitted: not in the network.
      const lostNotRxt = seqDiff(lost, rxt) - (this.sackOk ? this.scoreboard.sackedBetween(rxt, lost) : 0);
      p -= lostNotRxt;
    }
    return p < 0 ? 0 : p;
  }

  private emitData(seq: number, len: number, fin: boolean, now: number): void {
    let flags = TCP_ACK;
    if (len > 0 && seqAdd(seq, len) === seqAdd(this.dataStart, this.sendRing!.length)) flags |= TCP_PSH;
    if (fin) flags |= TCP_FIN;
    this.emit(seq, flags, len, now);
    this.stats.bytesOut += len;
  }

  /** Builds and transmits one segment of this connection. */
  private emit(seq: number, flags: number, dataLen: number, now: number): void {
    const h = this.host.hdr;
    const syn = (flags & TCP_SYN) !== 0;
    h.srcPort = this.localPort;
    h.dstPort = this.remotePort;
    h.seq = seq;
    h.ack = flags & TCP_ACK ? this.rcvNxt : 0;
    h.flags = flags;
    h.urgent = 0;
    h.mss = syn ? this.advMss : -1;
    h.wscale = syn && this.offerWscale ? this.rcvShift : -1;
    h.sackPermitted = syn && this.offerSack;
    h.hasTimestamp = syn ? this.offerTs : this.tsOk;
    h.tsVal = (now + this.tsOffset) >>> 0;
    h.tsEcr = syn && !(flags & TCP_ACK) ? 0 : this.tsRecent;
    h.sackCount = 0;
    const ring = this.recvRing;
    if (!syn && this.sackOk && !(flags & TCP_RST)) {
      const max = this.tsOk ? 3 : 4;
      let first = 0;
      if (this.dsackPending && dataLen === 0) {
        // A D-SACK block goes first and is reported once.
        this.dsackPending = false;
        h.sackBlocks[0] = this.dsackStart;
        h.sackBlocks[1] = this.dsackEnd;
        first = 1;
      }
      if (ring && ring.rangeCount > 0) {
        const n = ring.sackBlocks(this.rcvNxt, this.sackScratch, max - first);
        h.sackBlocks.set(this.sackScratch.subarray(0, n * 2), first * 2);
        first += n;
      }
      h.sackCount = first;
    }
    h.window = flags & TCP_RST && !(flags & TCP_ACK) ? 0 : this.advertiseWindow(syn);
    const hl = tcpHeaderLength(h);
    const buf = allocSegment(SEGMENT_HEADROOM + hl + dataLen);
    writeTcpHeader(buf, SEGMENT_HEADROOM, h);
    if (dataLen > 0) this.sendRing!.copyOut(seqDiff(seq, this.dataStart), buf, SEGMENT_HEADROOM + hl, dataLen);
    const seg = buf.subarray(SEGMENT_HEADROOM);
    setTcpChecksum(seg, this.localAddress, this.remoteAddress);
    if (flags & TCP_ACK) {
      this.lastAckSent = this.rcvNxt;
      this.ackPending = false;
      this.unackedSegs = 0;
      this.delackDeadline = Infinity;
    }
    if (syn && this.retxCount === 0) this.rtTimeSyn = now;
    this.stats.segmentsOut++;
    this.host.transmit(this, buf, SEGMENT_HEADROOM);
  }

  /** A bare segment not tied to our sequence state (RST answering a bad ACK). */
  private emitRaw(seq: number, ack: number, flags: number): void {
    const h = this.host.hdr;
    h.srcPort = this.localPort;
    h.dstPort = this.remotePort;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.window = 0;
    h.urgent = 0;
    h.mss = -1;
    h.wscale = -1;
    h.sackPermitted = false;
    h.hasTimestamp = false;
    h.sackCount = 0;
    const buf = new Uint8Array(SEGMENT_HEADROOM + 20);
    writeTcpHeader(buf, SEGMENT_HEADROOM, h);
    setTcpChecksum(buf.subarray(SEGMENT_HEADROOM), this.localAddress, this.remoteAddress);
    this.stats.segmentsOut++;
    this.host.transmit(this, buf, SEGMENT_HEADROOM);
  }

  /** Window to advertise, scaled; never moves the right edge left; receiver SWS avoidance. */
  private advertiseWindow(syn: boolean): number {
    const room = this.rcvRoom();
    if (syn) {
      const w = Math.min(room, 0xffff);
      this.rcvAdv = seqAdd(this.rcvNxt, w);
      return w;
    }
    let cur = seqDiff(this.rcvAdv, this.rcvNxt);
    if (cur < 0) cur = 0;
    let wnd = room;
    const ringCap = this.recvRing ? this.recvRing.capacity : room;
    if (room - cur < Math.min(ringCap >>> 1, this.advMss)) wnd = Math.min(cur, room);
    let scaled = wnd >>> this.rcvShift;
    if (scaled > 0xffff) scaled = 0xffff;
    const right = seqAdd(this.rcvNxt, scaled << this.rcvShift);
    if (seqGT(right, this.rcvAdv)) this.rcvAdv = right;
    return scaled;
  }

  /**
   * The path MTU shrank (ICMP fragmentation needed / packet too big):
   * `mtuPayload` is the new room for TCP header + data. Segments in flight
   * were too big, so send them again at the new size (RFC 1191 §6.5).
   */
  pathMtuChanged(mtuPayload: number, now: number): void {
    const seg = Math.max(20 + 64, mtuPayload);
    if (seg >= this.maxSegment) return;
    this.maxSegment = seg;
    this.sendMss = seg - 20 - (this.tsOk ? 12 : 0);
    const s = this.state;
    if (s >= S.ESTABLISHED && this.sendRing && seqGT(this.sndMax, this.sndUna)) {
      this.sndNxt = this.sndUna;
      this.highRxt = this.sndUna;
      this.inRecovery = false;
      this.scoreboard.clear();
      this.rtTiming = false;
      this.output(now);
    }
    this.afterChange();
  }

  // ======================================================================
  // Timers
  // ======================================================================

  private armRtx(mode: number, at: number): void {
    this.timerMode = mode;
    this.rtxDeadline = at;
  }

  /** Called by the stack when `deadline` has passed. */
  onTimer(now: number): void {
    if (this.state === S.CLOSED) return;
    if (this.closeDeadline <= now) {
      this.closeDeadline = Infinity;
      if (this.state === S.TIME_WAIT || this.state === S.FIN_WAIT_2) {
        this.toClosed(null);
        this.afterChange();
        return;
      }
    }
    if (this.delackDeadline <= now) {
      this.delackDeadline = Infinity;
      if (this.ackPending) this.sendAck(now);
    }
    if (this.rtxDeadline <= now) {
      this.rtxDeadline = Infinity;
      const mode = this.timerMode;
      this.timerMode = TIMER_NONE;
      if (mode === TIMER_RTO) this.onRetransmitTimeout(now);
      else if (mode === TIMER_PERSIST) this.onPersistTimeout(now);
      else if (mode === TIMER_TLP) this.onTailLossProbe(now);
    }
    if (this.kaDeadline <= now && !this.isClosed()) this.onKeepAliveTimeout(now);
    this.afterChange();
  }

  private onRetransmitTimeout(now: number): void {
    const s = this.state;
    this.stats.timeouts++;
    this.retxCount++;
    this.rtt.backOff();
    if (s === S.SYN_SENT || s === S.SYN_RECEIVED) {
      if (this.retxCount > this.config.synRetries) {
        if (this.passive) this.toClosed(null);
        else this.toClosed(new TcpError('ETIMEDOUT', 'connection timed out'));
        return;
      }
      this.stats.retransmits++;
      this.sendSyn(now);
      return;
    }
    if (this.sndUna === this.sndMax) return;
    if (this.sndWnd === 0) {
      // The peer's window closed with data outstanding: that is flow control,
      // not loss. Probe (persist) instead of retransmitting into a closed window.
      this.retxCount--;
      this.sndNxt = this.sndUna;
      this.onPersistTimeout(now);
      return;
    }
    if (this.retxCount > this.config.retries) {
      this.toClosed(new TcpError('ETIMEDOUT', 'connection timed out'));
      return;
    }
    const cc = this.cc!;
    cc.onTimeout(now, seqDiff(this.sndMax, this.sndUna));
    // A timeout says loss detection was too slow: back to the standard DupThresh (as Linux does).
    this.reordering = 3;
    // Eifel for timeouts: only the first one in a row can be undone (later
    // ones follow retransmissions of the same data).
    if (this.tsOk && this.retxCount === 1) {
      this.undoTsVal = (now + this.tsOffset) >>> 0;
      this.undoSeq = this.sndUna;
      this.undoAfterTimeout = true;
    } else this.undoTsVal = -1;
    this.tlpHigh = -1;
    this.forcedLostValid = false;
    this.recover = this.sndMax;
    this.recoverValid = true;
    this.inRecovery = false;
    this.dupAcks = 0;
    // RFC 2018 §8 lets a receiver renege on SACKed data, so SACK state must
    // not be trusted forever: keep it for the first timeout (go-back-N skips
    // what the peer holds), forget it from the second one on.
    if (this.retxCount > 1) this.scoreboard.clear();
    this.sndNxt = this.sndUna;
    this.highRxt = this.sndUna;
    this.rtTiming = false;
    this.output(now);
    if (this.timerMode === TIMER_NONE) this.armRtx(TIMER_RTO, now + this.rtt.rto);
  }

  /**
   * Loss timer for outstanding data: a tail loss probe (RFC 8985 §7) after
   * about two RTTs when SACK can tell us what the probe uncovers, else the RTO.
   */
  private armLossTimer(now: number): void {
    if (this.sackOk && !this.inRecovery && this.rtt.srtt > 0 && this.tlpHigh < 0) {
      let pto = Math.max(2 * this.rtt.srtt, 10);
      // A single segment may wait for the peer's delayed-ACK timer.
      if (seqDiff(this.sndMax, this.sndUna) <= this.sendMss) pto += 200;
      if (pto < this.rtt.rto) {
        this.armRtx(TIMER_TLP, now + pto);
        return;
      }
    }
    this.armRtx(TIMER_RTO, now + this.rtt.rto);
  }

  /** No ACK for a while: send one segment (new data, or the last one again) to make the peer SACK the tail. */
  private onTailLossProbe(now: number): void {
    const s = this.state;
    const sending = s === S.ESTABLISHED || s === S.CLOSE_WAIT || s === S.FIN_WAIT_1 || s === S.CLOSING || s === S.LAST_ACK;
    if (this.sndUna === this.sndMax || this.inRecovery || !sending) {
      if (this.sndUna !== this.sndMax) this.armRtx(TIMER_RTO, now + this.rtt.rto);
      return;
    }
    this.stats.tailProbes++;
    this.tlpHigh = this.sndMax;
    const ring = this.sendRing!;
    const cc = this.cc!;
    const unsent = seqDiff(seqAdd(this.dataStart, ring.length), this.sndNxt);
    const wndLimit = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    if (unsent > 0 && wndLimit > 0 && this.sndNxt === this.sndMax) {
      // New data, one segment, regardless of cwnd and Nagle.
      const cwnd = cc.cwnd;
      const noDelay = this.noDelay;
      cc.cwnd = Math.max(cwnd, seqDiff(this.sndNxt, this.sndUna) + this.sendMss);
      this.noDelay = true;
      this.output(now);
      cc.cwnd = cwnd;
      this.noDelay = noDelay;
      this.tlpHigh = this.sndMax;
    } else {
      const finSent = this.finQueued && seqGT(this.sndMax, this.finSeq);
      const end = finSent ? this.finSeq : this.sndMax;
      const start = seqMax(this.sndUna, seqAdd(end, -this.segmentCapacity()));
      const len = Math.max(0, seqDiff(end, start));
      if (len > 0 || finSent) {
        this.emitData(start, len, finSent, now);
        this.stats.retransmits++;
        this.rtTiming = false;
      }
    }
    this.armRtx(TIMER_RTO, now + this.rtt.rto);
  }

  private onPersistTimeout(now: number): void {
    this.probes++;
    if (this.probes > this.config.retries) {
      this.toClosed(new TcpError('ETIMEDOUT', 'peer window stayed closed'));
      return;
    }
    // Zero-window probe: an old sequence number makes the peer answer with its window.
    this.stats.windowProbes++;
    this.emit(seqAdd(this.sndUna, -1), TCP_ACK, 0, now);
    this.rtt.backOff();
    this.armRtx(TIMER_PERSIST, now + this.rtt.rto);
  }

  private onKeepAliveTimeout(now: number): void {
    const s = this.state;
    if (!this.keepAlive || (s !== S.ESTABLISHED && s !== S.CLOSE_WAIT)) {
      this.kaDeadline = Infinity;
      return;
    }
    if (this.kaProbes >= this.config.keepAliveCount) {
      this.toClosed(new TcpError('ETIMEDOUT', 'keepalive timed out'));
      return;
    }
    if (this.sndUna === this.sndMax) {
      this.kaProbes++;
      this.emit(seqAdd(this.sndUna, -1), TCP_ACK, 0, now);
    }
    this.kaDeadline = now + this.config.keepAliveIntervalMs;
  }

  /** Any segment from the peer proves it alive. Called by the stack before segmentArrives. */
  heardFromPeer(now: number): void {
    if (this.keepAlive) {
      this.kaProbes = 0;
      this.kaDeadline = now + this.keepAliveIdle;
    }
  }

  // ======================================================================
  // Closing and event plumbing
  // ======================================================================

  private toClosed(err: TcpError | null): void {
    if (this.state === S.CLOSED) return;
    this.state = S.CLOSED;
    this.error = err;
    this.rtxDeadline = Infinity;
    this.delackDeadline = Infinity;
    this.closeDeadline = Infinity;
    this.kaDeadline = Infinity;
    this.timerMode = TIMER_NONE;
    this.releaseBuffers();
    this.events |= EV_CLOSE;
    this.host.release(this);
  }

  /** afterChange, then dispatch events (end of an application call). */
  private apiDone(): void {
    this.afterChange();
    this.host.flush();
  }

  /** Closes without telling the peer (half-open eviction, TIME_WAIT reuse). */
  discard(): void {
    this.toClosed(null);
    this.afterChange();
  }

  /** RCV.NXT, for the stack's TIME_WAIT reuse check. */
  get rcvNext(): number {
    return this.rcvNxt;
  }

  /** Recomputes the deadline and tells the stack about timers and events. */
  private afterChange(): void {
    const d = Math.min(this.rtxDeadline, this.delackDeadline, this.closeDeadline, this.kaDeadline);
    if (d !== this.deadline) {
      this.deadline = d;
      this.host.schedule(this);
    }
    if (this.events !== 0) this.host.markEvents(this);
  }

  /** Runs the application callbacks for collected events (called by the stack). */
  dispatchEvents(): void {
    const ev = this.events;
    this.events = 0;
    if (ev & EV_CONNECT && this.state !== S.CLOSED) {
      if (this.cbConnect) this.cbConnect();
      else if (!this.passive) this.missed |= EV_CONNECT; // accepted connections arrive connected
    }
    if (ev & EV_READABLE && this.recvRing && this.recvRing.length > 0) this.cbReadable?.();
    if (ev & EV_END) {
      if (this.cbEnd) this.cbEnd();
      else this.missed |= EV_END;
    }
    if (ev & EV_WRITABLE && this.state !== S.CLOSED) {
      if (this.cbWritable) this.cbWritable();
      else this.missed |= EV_WRITABLE;
    }
    if (ev & EV_CLOSE && !this.closeEmitted) {
      if (this.cbClose) {
        this.closeEmitted = true;
        this.cbClose(this.error);
      } else this.missed |= EV_CLOSE;
    }
  }
}
