/**
 * The TCP layer of one netstack: connection table (4-tuple → endpoint),
 * listeners with bounded accept backlogs, a bounded half-open table with
 * oldest-first eviction (SYN flood resistance), the TCP Forwarder for SYNs no
 * listener claims, RST for segments nobody owns, and one timer heap for all
 * connections. Sans-I/O: `input(..., now)` in, `link.send` out,
 * `nextDeadline()` / `tick(now)` for time.
 */
import {
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  TcpHeaderError,
  newTcpHeader,
  parseTcpHeader,
  setTcpChecksum,
  verifyTcpChecksum,
  writeTcpHeader,
  type TcpHeader,
} from '../../header/tcp.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './config.js';
import { SEGMENT_HEADROOM, TcpEndpoint, TcpState, type EndpointHost, type TcpEndpointId } from './endpoint.js';
import { COOKIE_MSS, IsnGenerator } from './isn.js';
import { seqAdd, seqGT } from './seq.js';

/** Where segments go and how big they may be. */
export interface TcpLink {
  /**
   * Sends a finished segment: `buf[offset..]` is the TCP header + data with
   * its checksum set, and `offset` bytes of headroom precede it for the IP
   * header. The link owns `buf` afterwards. `ep` is null for stateless RSTs.
   */
  send(ep: TcpEndpoint | null, src: Uint8Array, dst: Uint8Array, buf: Uint8Array, offset: number): void;
  /** Bytes available for TCP (header + data) in one IP packet from local to remote: MTU minus IP header. */
  mtuPayload(local: Uint8Array, remote: Uint8Array): number;
}

export interface TcpStackOptions {
  config?: Partial<TcpConfig>;
  /** Secret for RFC 6528 ISNs (random when omitted). */
  isnSecret?: Uint8Array;
  /** Replaces the ISN generator (tests: ISN near 2^32). Returns [isn, timestampOffset]. */
  isn?: (local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, now: number) => [number, number];
  /** Connections in SYN_RECEIVED across the stack; the oldest is evicted beyond this. */
  maxHalfOpen?: number;
  /** All connections (any state); SYNs beyond it are dropped. */
  maxConnections?: number;
  ephemeralPortRange?: readonly [number, number];
  /** RFC 5961 §7 challenge ACKs per second, stack-wide. */
  challengeAckLimit?: number;
  /** Verify checksums of received segments (default true). */
  verifyChecksum?: boolean;
  /**
   * Answer SYNs with SYN cookies (RFC 4987) when a listener's half-open
   * share of its backlog or the stack's half-open table is full (default
   * true). Cookie connections carry MSS only (no window scale, SACK, timestamps).
   */
  synCookies?: boolean;
  /** Undecided forwarder requests kept at once (default 1024). */
  maxForwarderInFlight?: number;
  /**
   * Time source for application calls made between input/tick calls (the
   * I/O adapter's clock). Without it, `now` is the latest time seen in
   * input()/tick().
   */
  clock?: () => number;
}

export interface TcpStackStats {
  segmentsIn: number;
  malformed: number;
  badChecksum: number;
  resetsSent: number;
  noConnection: number;
  synsReceived: number;
  listenOverflow: number;
  halfOpenEvicted: number;
  connectionLimit: number;
  timeWaitReused: number;
  forwarderRequests: number;
  forwarderDropped: number;
  cookiesSent: number;
  cookiesAccepted: number;
  cookiesRejected: number;
}

export interface ListenOptions {
  /** Local address to listen on; null/omitted for any own address. */
  address?: Uint8Array | null;
  /** Connections waiting in accept() plus those still in the handshake (default 128). */
  backlog?: number;
  /** Per-connection configuration overrides. */
  config?: Partial<TcpConfig>;
  /** Also take SYNs to temporary (promiscuous) addresses; default false (see shared/icmp.md). */
  acceptTemporary?: boolean;
}

export class TcpListener {
  /** Called for each new connection; when unset, connections queue for accept(). */
  onConnection: ((ep: TcpEndpoint) => void) | null = null;
  /** Called when accept() has something (only when onConnection is unset). */
  onAcceptable: (() => void) | null = null;
  private readonly queue: TcpEndpoint[] = [];
  halfOpen = 0;
  closed = false;
  /** Ready-to-dispatch connections (internal). */
  readonly ready: TcpEndpoint[] = [];

  constructor(
    private readonly stack: TcpStack,
    readonly address: Uint8Array | null,
    readonly port: number,
    readonly backlog: number,
    readonly config: Readonly<TcpConfig>,
    readonly acceptTemporary: boolean,
  ) {}

  /** Connections established and not yet accepted. */
  get pending(): number {
    return this.queue.length;
  }

  get full(): boolean {
    return this.queue.length + this.halfOpen >= this.backlog;
  }

  accept(): TcpEndpoint | null {
    return this.queue.shift() ?? null;
  }

  /** Stops listening; queued connections are aborted. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stack.unlisten(this);
    for (const ep of this.queue.splice(0)) ep.abort();
  }

  /** @internal A queued connection died before accept(). */
  forget(ep: TcpEndpoint): void {
    const i = this.queue.indexOf(ep);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** @internal */
  deliverEstablished(ep: TcpEndpoint): void {
    if (this.onConnection) this.ready.push(ep);
    else {
      this.queue.push(ep);
      this.ready.push(ep);
    }
  }

  /** @internal */
  dispatch(): void {
    while (this.ready.length > 0) {
      const ep = this.ready.shift()!;
      if (this.onConnection) {
        const i = this.queue.indexOf(ep);
        if (i >= 0) this.queue.splice(i, 1);
        this.onConnection(ep);
      } else this.onAcceptable?.();
    }
  }
}

/** A SYN that no listener claimed, handed to the forwarder's handler. */
export interface TcpForwarderRequest extends TcpEndpointId {
  /** True when the destination is not an own address (promiscuous NIC). */
  readonly temporary: boolean;
  /** The SYN's sequence number and options, read-only. */
  readonly syn: Readonly<TcpHeader>;
  /**
   * Completes the handshake (sends SYN-ACK) and returns the endpoint; null
   * when the request was already decided or evicted. May be called later than
   * the handler call (asynchronous decisions).
   */
  accept(config?: Partial<TcpConfig>): TcpEndpoint | null;
  /** Refuses with RST. */
  reject(): void;
  /** Ignores the SYN (the peer retries, then times out). */
  drop(): void;
}

export type TcpForwarderHandler = (req: TcpForwarderRequest) => void;

class ForwarderRequest implements TcpForwarderRequest {
  decided = false;
  constructor(
    private readonly stack: TcpStack,
    readonly key: string,
    readonly localAddress: Uint8Array,
    readonly localPort: number,
    readonly remoteAddress: Uint8Array,
    readonly remotePort: number,
    readonly temporary: boolean,
    readonly syn: TcpHeader,
  ) {}

  accept(config?: Partial<TcpConfig>): TcpEndpoint | null {
    if (this.decided) return null;
    this.decided = true;
    return this.stack.forwarderAccept(this, config);
  }

  reject(): void {
    if (this.decided) return;
    this.decided = true;
    this.stack.forwarderDone(this);
    this.stack.sendResetFor(this.localAddress, this.remoteAddress, this.syn, 1);
  }

  drop(): void {
    if (this.decided) return;
    this.decided = true;
    this.stack.forwarderDone(this);
  }
}

const EMPTY = new Uint8Array(0);

function addrHash16(a: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < a.length; i += 2) h ^= (a[i]! << 8) | a[i + 1]!;
  return h;
}

function addrEq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length; i++) s += (a[i]! < 16 ? '0' : '') + a[i]!.toString(16);
  return s;
}

export interface ConnectOptions {
  localAddress: Uint8Array;
  /** 0/omitted: an ephemeral port. */
  localPort?: number;
  remoteAddress: Uint8Array;
  remotePort: number;
  config?: Partial<TcpConfig>;
}

export class TcpStack implements EndpointHost {
  readonly hdr: TcpHeader = newTcpHeader();
  readonly stats: TcpStackStats = {
    segmentsIn: 0,
    malformed: 0,
    badChecksum: 0,
    resetsSent: 0,
    noConnection: 0,
    synsReceived: 0,
    listenOverflow: 0,
    halfOpenEvicted: 0,
    connectionLimit: 0,
    timeWaitReused: 0,
    forwarderRequests: 0,
    forwarderDropped: 0,
    cookiesSent: 0,
    cookiesAccepted: 0,
    cookiesRejected: 0,
  };
  readonly config: Readonly<TcpConfig>;
  private lastNow = 0;
  private readonly clock: (() => number) | null;

  private readonly rx: TcpHeader = newTcpHeader();
  private readonly table = new Map<number, TcpEndpoint>();
  private connCount = 0;
  private readonly listeners = new Map<number, TcpListener[]>();
  private readonly halfOpen = new Map<TcpEndpoint, TcpListener | null>();
  private readonly isnGen: IsnGenerator;
  private readonly isnFn: TcpStackOptions['isn'];
  private readonly maxHalfOpen: number;
  private readonly maxConnections: number;
  private readonly portLo: number;
  private readonly portHi: number;
  private nextPort: number;
  private readonly verify: boolean;
  private readonly challengeLimit: number;
  private challengeWindowStart = 0;
  private challengeCount = 0;
  private forwarder: TcpForwarderHandler | null = null;
  private readonly forwarderPending = new Map<string, ForwarderRequest>();
  private readonly maxForwarderInFlight: number;
  private readonly synCookies: boolean;
  private lastCookieSent = -1;
  // Timer heap (lazy: stale entries are skipped when popped).
  private readonly heapAt: number[] = [];
  private readonly heapEp: TcpEndpoint[] = [];
  // Event dispatch.
  private readonly dirty: TcpEndpoint[] = [];
  private readonly dirtyListeners: TcpListener[] = [];
  private dispatching = false;
  // Outgoing segments wait here until the current operation is complete, so a
  // link that delivers synchronously (loopback, in-process pairs) never
  // re-enters a connection in the middle of its own processing.
  private readonly outEp: (TcpEndpoint | null)[] = [];
  private readonly outSrc: Uint8Array[] = [];
  private readonly outDst: Uint8Array[] = [];
  private readonly outBuf: Uint8Array[] = [];
  private readonly outOff: number[] = [];
  private outHead = 0;
  /** Segment most recently refused by deliver() as malformed/bad checksum, so later stages skip it quietly. */
  private lastRefused: Uint8Array | null = null;
  // Receive batching (beginBatch/endBatch): connections whose ACK waits for the batch's end.
  private batching = false;
  private readonly ackLater = new Set<TcpEndpoint>();

  constructor(private readonly link: TcpLink, opts: TcpStackOptions = {}) {
    this.config = Object.freeze({ ...DEFAULT_TCP_CONFIG, ...opts.config });
    this.isnGen = new IsnGenerator(opts.isnSecret);
    this.isnFn = opts.isn;
    this.maxHalfOpen = opts.maxHalfOpen ?? 1024;
    this.maxConnections = opts.maxConnections ?? 65536;
    const [lo, hi] = opts.ephemeralPortRange ?? [49152, 65535];
    this.portLo = lo;
    this.portHi = hi;
    this.nextPort = lo + Math.floor(Math.random() * (hi - lo + 1));
    this.verify = opts.verifyChecksum ?? true;
    this.challengeLimit = opts.challengeAckLimit ?? 1000;
    this.maxForwarderInFlight = opts.maxForwarderInFlight ?? 1024;
    this.clock = opts.clock ?? null;
    this.synCookies = opts.synCookies ?? true;
  }

  /** Current time (ms): the latest seen in input()/tick(), or the clock when given. */
  get now(): number {
    if (this.clock) {
      const c = this.clock();
      if (c > this.lastNow) this.lastNow = c;
    }
    return this.lastNow;
  }

  /** Moves time forward without running timers (tests; adapters without a clock). */
  set now(t: number) {
    if (t > this.lastNow) this.lastNow = t;
  }

  /** Live connections (any state but CLOSED), TIME_WAIT included. */
  get connectionCount(): number {
    return this.connCount;
  }

  get halfOpenCount(): number {
    return this.halfOpen.size;
  }

  // ---------------------------------------------------------------- input

  /**
   * Full input path for a segment to `dst` from `src`: a connection or
   * listener, else the forwarder, else RST — except for temporary
   * (promiscuous) destinations, which get no answer. Returns true when
   * something claimed the segment.
   */
  input(src: Uint8Array, dst: Uint8Array, seg: Uint8Array, now: number, temporary = false): boolean {
    if (this.deliver(src, dst, seg, now, temporary)) return true;
    if (this.forwarder && this.forward(src, dst, seg, now, temporary, this.forwarder)) return true;
    if (!temporary) this.replyReset(src, dst, seg);
    return false;
  }

  /** Delivers to a connection or listener; false when none owns the segment (or it is malformed). */
  deliver(src: Uint8Array, dst: Uint8Array, seg: Uint8Array, now: number, temporary = false): boolean {
    if (now > this.lastNow) this.lastNow = now;
    this.stats.segmentsIn++;
    this.lastRefused = null; // deliver() is the first stage for every packet
    const h = this.parse(src, dst, seg);
    if (!h) return false;
    const payload = seg.subarray(h.headerLength);
    let ep = this.lookup(dst, h.dstPort, src, h.srcPort);
    if (ep && ep.state === TcpState.TIME_WAIT && h.flags & TCP_SYN && !(h.flags & (TCP_ACK | TCP_RST))) {
      // RFC 9293 §3.10.7.4 / RFC 6191: a new SYN above the old sequence space
      // may reopen; it then goes to a listener, the forwarder, or gets RST.
      if (seqGT(h.seq, ep.rcvNext)) {
        this.stats.timeWaitReused++;
        ep.discard();
        ep = null;
      }
    }
    if (ep) {
      ep.heardFromPeer(now);
      ep.segmentArrives(h, payload, now);
      this.flush();
      return true;
    }
    const listener = this.findListener(dst, h.dstPort, temporary);
    if (!listener) {
      this.stats.noConnection++;
      return false;
    }
    const flags = h.flags;
    if (flags & TCP_RST) return true; // LISTEN: ignore RST
    if (flags & TCP_ACK) {
      // LISTEN: an ACK is answered with RST (by the caller) unless it returns a valid SYN cookie.
      if (!(flags & TCP_SYN) && this.synCookies) return this.cookieAck(listener, src, dst, h, payload, now);
      return false;
    }
    if (!(flags & TCP_SYN)) return true; // drop
    this.stats.synsReceived++;
    if (listener.pending >= listener.backlog) {
      this.stats.listenOverflow++;
      return true; // accept queue full: silently dropped, like Linux
    }
    if (listener.full || this.halfOpen.size >= this.maxHalfOpen) {
      if (this.synCookies) {
        this.sendCookieSynAck(dst, src, h, now);
        return true;
      }
      if (listener.full) {
        this.stats.listenOverflow++;
        return true;
      }
    }
    this.passiveOpen(listener, listener.config, dst, src, h, now, listener);
    this.flush();
    return true;
  }

  private sendCookieSynAck(local: Uint8Array, remote: Uint8Array, syn: Readonly<TcpHeader>, now: number): void {
    const ourMss = Math.max(64, this.link.mtuPayload(local, remote) - 20);
    const peerMss = syn.mss >= 0 ? syn.mss : local.length === 4 ? 536 : 1220;
    const want = Math.min(ourMss, peerMss);
    let idx = 0;
    while (idx < COOKIE_MSS.length - 1 && COOKIE_MSS[idx + 1]! <= want) idx++;
    const cookie = this.isnGen.cookie(local, syn.dstPort, remote, syn.srcPort, syn.seq, idx, now);
    const o = this.hdr;
    o.srcPort = syn.dstPort;
    o.dstPort = syn.srcPort;
    o.seq = cookie;
    o.ack = seqAdd(syn.seq, 1);
    o.flags = TCP_SYN | TCP_ACK;
    o.window = Math.min(this.config.receiveBufferSize, 0xffff);
    o.urgent = 0;
    o.mss = ourMss;
    o.wscale = -1;
    o.sackPermitted = false;
    o.hasTimestamp = false;
    o.sackCount = 0;
    const buf = new Uint8Array(SEGMENT_HEADROOM + 24);
    writeTcpHeader(buf, SEGMENT_HEADROOM, o);
    setTcpChecksum(buf.subarray(SEGMENT_HEADROOM), local, remote);
    this.stats.cookiesSent++;
    this.lastCookieSent = now;
    this.enqueue(null, local, remote, buf, SEGMENT_HEADROOM);
    this.flush();
  }

  private cookieAck(
    listener: TcpListener,
    remote: Uint8Array,
    local: Uint8Array,
    h: TcpHeader,
    payload: Uint8Array,
    now: number,
  ): boolean {
    const irs = seqAdd(h.seq, -1);
    const cookie = seqAdd(h.ack, -1);
    const idx = this.isnGen.checkCookie(local, h.dstPort, remote, h.srcPort, irs, cookie, now);
    if (idx < 0) {
      this.stats.cookiesRejected++;
      // A cookie can only be checked on the first segment after the handshake
      // (SEQ = IRS+1). Later data that overtook it cannot be judged: drop it
      // quietly while cookies are in use, rather than reset a real connection.
      if (payload.length > 0 && this.lastCookieSent >= 0 && now - this.lastCookieSent < 128_000) return true;
      return false;
    }
    if (listener.pending >= listener.backlog || this.connCount >= this.maxConnections) {
      this.stats.listenOverflow++;
      return true; // the peer retransmits; maybe there is room then
    }
    this.stats.cookiesAccepted++;
    const syn = newTcpHeader();
    syn.srcPort = h.srcPort;
    syn.dstPort = h.dstPort;
    syn.seq = irs;
    syn.flags = TCP_SYN;
    syn.window = h.window;
    syn.mss = COOKIE_MSS[idx]!;
    const ep = this.passiveOpen(listener, listener.config, local, remote, syn, now, listener, cookie);
    if (ep) ep.segmentArrives(h, payload, now);
    this.flush();
    return true;
  }

  /**
   * Offers a SYN no listener took to a forwarder handler. Returns true when
   * consumed (handed to the handler, a duplicate of a pending request, or
   * dropped because too many are pending); false for anything not a SYN.
   */
  forward(
    src: Uint8Array,
    dst: Uint8Array,
    seg: Uint8Array,
    now: number,
    temporary: boolean,
    handler: TcpForwarderHandler,
  ): boolean {
    if (now > this.lastNow) this.lastNow = now;
    const h = this.parse(src, dst, seg);
    if (!h) return false;
    if ((h.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return false;
    const key = `${hex(src)}:${h.srcPort}>${hex(dst)}:${h.dstPort}`;
    if (this.forwarderPending.has(key)) return true; // retransmitted SYN while undecided
    if (this.forwarderPending.size >= this.maxForwarderInFlight) {
      // Bounded: forget the oldest undecided request.
      const oldest = this.forwarderPending.values().next().value as ForwarderRequest;
      oldest.drop();
      this.stats.forwarderDropped++;
    }
    const syn = newTcpHeader();
    Object.assign(syn, h, { sackBlocks: new Uint32Array(0) });
    const req = new ForwarderRequest(this, key, new Uint8Array(dst), h.dstPort, new Uint8Array(src), h.srcPort, temporary, syn);
    this.forwarderPending.set(key, req);
    this.stats.forwarderRequests++;
    handler(req);
    this.flush();
    return true;
  }

  /** Answers a segment nobody owns with RST (RFC 9293 §3.10.7.1); never answers a RST. */
  replyReset(src: Uint8Array, dst: Uint8Array, seg: Uint8Array): void {
    const h = this.parse(src, dst, seg);
    if (!h || h.flags & TCP_RST) return;
    const len = seg.length - h.headerLength + (h.flags & TCP_SYN ? 1 : 0) + (h.flags & TCP_FIN ? 1 : 0);
    this.sendResetFor(dst, src, h, len);
  }

  /** @internal RST answering header `h` (from remote to local) of `segLen` sequence space. */
  sendResetFor(local: Uint8Array, remote: Uint8Array, h: Readonly<TcpHeader>, segLen: number): void {
    const o = this.hdr;
    o.srcPort = h.dstPort;
    o.dstPort = h.srcPort;
    if (h.flags & TCP_ACK) {
      o.seq = h.ack;
      o.ack = 0;
      o.flags = TCP_RST;
    } else {
      o.seq = 0;
      o.ack = seqAdd(h.seq, segLen);
      o.flags = TCP_RST | TCP_ACK;
    }
    o.window = 0;
    o.urgent = 0;
    o.mss = -1;
    o.wscale = -1;
    o.sackPermitted = false;
    o.hasTimestamp = false;
    o.sackCount = 0;
    const buf = new Uint8Array(SEGMENT_HEADROOM + 20);
    writeTcpHeader(buf, SEGMENT_HEADROOM, o);
    setTcpChecksum(buf.subarray(SEGMENT_HEADROOM), local, remote);
    this.stats.resetsSent++;
    this.enqueue(null, local, remote, buf, SEGMENT_HEADROOM);
    this.flush();
  }

  private parse(src: Uint8Array, dst: Uint8Array, seg: Uint8Array): TcpHeader | null {
    if (seg === this.lastRefused) return null;
    const h = this.rx;
    try {
      parseTcpHeader(seg, h);
    } catch (e) {
      if (!(e instanceof TcpHeaderError)) throw e;
      this.stats.malformed++;
      this.lastRefused = seg;
      return null;
    }
    if (this.verify && !verifyTcpChecksum(seg, src, dst)) {
      this.stats.badChecksum++;
      this.lastRefused = seg;
      return null;
    }
    if (h.srcPort === 0 || h.dstPort === 0) {
      this.stats.malformed++;
      this.lastRefused = seg;
      return null;
    }
    return h;
  }

  // ---------------------------------------------------------------- table

  private key(localPort: number, remote: Uint8Array, remotePort: number): number {
    return addrHash16(remote) * 0x100000000 + localPort * 0x10000 + remotePort;
  }

  /** The connection for a 4-tuple, if any. */
  lookup(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): TcpEndpoint | null {
    let ep = this.table.get(this.key(localPort, remote, remotePort)) ?? null;
    while (ep) {
      if (
        ep.localPort === localPort &&
        ep.remotePort === remotePort &&
        addrEq(ep.remoteAddress, remote) &&
        addrEq(ep.localAddress, local)
      ) {
        return ep;
      }
      ep = ep.nextInBucket;
    }
    return null;
  }

  private insert(ep: TcpEndpoint): void {
    const k = this.key(ep.localPort, ep.remoteAddress, ep.remotePort);
    ep.nextInBucket = this.table.get(k) ?? null;
    this.table.set(k, ep);
    this.connCount++;
  }

  private remove(ep: TcpEndpoint): void {
    const k = this.key(ep.localPort, ep.remoteAddress, ep.remotePort);
    let cur = this.table.get(k) ?? null;
    let prev: TcpEndpoint | null = null;
    while (cur && cur !== ep) {
      prev = cur;
      cur = cur.nextInBucket;
    }
    if (!cur) return;
    if (prev) prev.nextInBucket = ep.nextInBucket;
    else if (ep.nextInBucket) this.table.set(k, ep.nextInBucket);
    else this.table.delete(k);
    ep.nextInBucket = null;
    this.connCount--;
  }

  private findListener(local: Uint8Array, port: number, temporary: boolean): TcpListener | null {
    const list = this.listeners.get(port);
    if (!list) return null;
    let wildcard: TcpListener | null = null;
    for (const l of list) {
      if (l.address) {
        if (addrEq(l.address, local)) return l;
      } else if (l.address === null && (!temporary || l.acceptTemporary) && !wildcard) {
        // A wildcard listener serves one address family at a time only if asked; keep it simple: any family.
        wildcard = l;
      }
    }
    return wildcard;
  }

  // ---------------------------------------------------------------- opening

  /** Active open. The endpoint's onConnect/onClose report the outcome. */
  connect(opts: ConnectOptions, now: number = this.now): TcpEndpoint {
    if (now > this.lastNow) this.lastNow = now;
    if (this.connCount >= this.maxConnections) throw new Error('TCP connection limit reached');
    const local = new Uint8Array(opts.localAddress);
    const remote = new Uint8Array(opts.remoteAddress);
    let port = opts.localPort ?? 0;
    if (port === 0) port = this.ephemeralPort(local, remote, opts.remotePort);
    else if (this.lookup(local, port, remote, opts.remotePort)) throw new Error('TCP 4-tuple in use');
    const config = opts.config ? Object.freeze({ ...this.config, ...opts.config }) : this.config;
    const ep = new TcpEndpoint(
      this,
      config,
      { localAddress: local, localPort: port, remoteAddress: remote, remotePort: opts.remotePort },
      this.link.mtuPayload(local, remote),
    );
    this.insert(ep);
    const [iss, tsOff] = this.isnFor(local, port, remote, opts.remotePort, now);
    ep.openActive(iss, tsOff, now);
    this.flush();
    return ep;
  }

  private ephemeralPort(local: Uint8Array, remote: Uint8Array, remotePort: number): number {
    const span = this.portHi - this.portLo + 1;
    for (let i = 0; i < span; i++) {
      const p = this.nextPort;
      this.nextPort = p >= this.portHi ? this.portLo : p + 1;
      if (!this.lookup(local, p, remote, remotePort) && !this.listeners.has(p)) return p;
    }
    throw new Error('no free ephemeral TCP port');
  }

  private isnFor(local: Uint8Array, lport: number, remote: Uint8Array, rport: number, now: number): [number, number] {
    return this.isnFn ? this.isnFn(local, lport, remote, rport, now) : this.isnGen.generate(local, lport, remote, rport, now);
  }

  listen(port: number, opts: ListenOptions = {}): TcpListener {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`bad TCP port ${port}`);
    const address = opts.address ? new Uint8Array(opts.address) : null;
    const list = this.listeners.get(port) ?? [];
    for (const l of list) {
      if ((l.address === null && address === null) || (l.address && address && addrEq(l.address, address))) {
        throw new Error(`TCP port ${port} already has a listener`);
      }
    }
    const config = opts.config ? Object.freeze({ ...this.config, ...opts.config }) : this.config;
    const l = new TcpListener(this, address, port, Math.max(1, opts.backlog ?? 128), config, opts.acceptTemporary ?? false);
    list.push(l);
    this.listeners.set(port, list);
    return l;
  }

  /** @internal */
  unlisten(l: TcpListener): void {
    const list = this.listeners.get(l.port);
    if (!list) return;
    const i = list.indexOf(l);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(l.port);
  }

  /** Installs (or removes) the handler for SYNs no listener claims, used by input(). */
  setForwarder(handler: TcpForwarderHandler | null): void {
    this.forwarder = handler;
  }

  private passiveOpen(
    owner: TcpListener | null,
    config: Readonly<TcpConfig>,
    local: Uint8Array,
    remote: Uint8Array,
    syn: Readonly<TcpHeader>,
    now: number,
    listener: TcpListener | null,
    cookie = -1,
  ): TcpEndpoint | null {
    if (this.connCount >= this.maxConnections) {
      this.stats.connectionLimit++;
      return null;
    }
    if (cookie < 0 && this.halfOpen.size >= this.maxHalfOpen) {
      const oldest = this.halfOpen.keys().next().value as TcpEndpoint;
      this.stats.halfOpenEvicted++;
      oldest.discard();
    }
    const l = new Uint8Array(local);
    const r = new Uint8Array(remote);
    const ep = new TcpEndpoint(
      this,
      config,
      { localAddress: l, localPort: syn.dstPort, remoteAddress: r, remotePort: syn.srcPort },
      this.link.mtuPayload(l, r),
    );
    ep.owner = owner;
    this.insert(ep);
    this.halfOpen.set(ep, listener);
    if (listener) listener.halfOpen++;
    const [iss, tsOff] = this.isnFor(l, syn.dstPort, r, syn.srcPort, now);
    if (cookie >= 0) ep.openPassive(syn, cookie, tsOff, now, true);
    else ep.openPassive(syn, iss, tsOff, now);
    return ep;
  }

  /** @internal */
  forwarderAccept(req: ForwarderRequest, config?: Partial<TcpConfig>): TcpEndpoint | null {
    this.forwarderDone(req);
    const cfg = config ? Object.freeze({ ...this.config, ...config }) : this.config;
    if (this.lookup(req.localAddress, req.localPort, req.remoteAddress, req.remotePort)) return null;
    const ep = this.passiveOpen(null, cfg, req.localAddress, req.remoteAddress, req.syn, this.now, null);
    this.flush();
    return ep;
  }

  /** @internal */
  forwarderDone(req: ForwarderRequest): void {
    if (this.forwarderPending.get(req.key) === req) this.forwarderPending.delete(req.key);
  }

  /**
   * A smaller path MTU toward `remote` (from ICMP): `local`/`remote` and the
   * ports come from the quoted segment we sent. `mtuPayload` = MTU minus IP header.
   */
  pathMtuChanged(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, mtuPayload: number): void {
    const ep = this.lookup(local, localPort, remote, remotePort);
    if (!ep) return;
    ep.pathMtuChanged(mtuPayload, this.now);
    this.flush();
  }

  // ---------------------------------------------------------------- receive batches

  /**
   * The link is about to hand over a batch of segments (one socket read):
   * ACKs owed for in-order data wait for endBatch(), so a batch of N segments
   * costs one ACK per connection, not N/2. Idempotent; without endBatch()
   * the delayed-ACK timer still sends them.
   */
  beginBatch(): void {
    this.batching = true;
  }

  /** The batch is over: send the deferred ACKs. */
  endBatch(): void {
    this.batching = false;
    if (this.ackLater.size === 0) return;
    const now = this.now;
    for (const ep of this.ackLater) ep.sendDeferredAck(now);
    this.ackLater.clear();
    this.flush();
  }

  deferAck(ep: TcpEndpoint): boolean {
    if (!this.batching) return false;
    this.ackLater.add(ep);
    return true;
  }

  // ---------------------------------------------------------------- EndpointHost

  transmit(ep: TcpEndpoint, buf: Uint8Array, offset: number): void {
    this.enqueue(ep, ep.localAddress, ep.remoteAddress, buf, offset);
  }

  private enqueue(ep: TcpEndpoint | null, src: Uint8Array, dst: Uint8Array, buf: Uint8Array, offset: number): void {
    this.outEp.push(ep);
    this.outSrc.push(src);
    this.outDst.push(dst);
    this.outBuf.push(buf);
    this.outOff.push(offset);
  }

  schedule(ep: TcpEndpoint): void {
    const d = ep.deadline;
    if (d < ep.scheduledAt) {
      ep.scheduledAt = d;
      this.heapPush(d, ep);
      if (this.heapAt.length > 4 * this.connCount + 1024) this.rebuildHeap();
    }
  }

  /** Drops stale heap entries (deadlines that moved earlier leave old entries behind). */
  private rebuildHeap(): void {
    this.heapAt.length = 0;
    this.heapEp.length = 0;
    for (const head of this.table.values()) {
      for (let e: TcpEndpoint | null = head; e; e = e.nextInBucket) {
        e.scheduledAt = Infinity;
        if (e.deadline < Infinity) {
          e.scheduledAt = e.deadline;
          this.heapPush(e.deadline, e);
        }
      }
    }
  }

  /** Timer heap entries (diagnostics: bounded by about 4 per connection). */
  get timerEntries(): number {
    return this.heapAt.length;
  }

  markEvents(ep: TcpEndpoint): void {
    this.dirty.push(ep);
  }

  release(ep: TcpEndpoint): void {
    this.ackLater.delete(ep);
    this.remove(ep);
    if (ep.owner instanceof TcpListener) ep.owner.forget(ep);
    const l = this.halfOpen.get(ep);
    if (l !== undefined) {
      this.halfOpen.delete(ep);
      if (l) l.halfOpen--;
    }
  }

  established(ep: TcpEndpoint): void {
    const l = this.halfOpen.get(ep);
    if (l !== undefined) {
      this.halfOpen.delete(ep);
      if (l) {
        l.halfOpen--;
        if (l.closed) {
          ep.abort();
          return;
        }
        l.deliverEstablished(ep);
        this.dirtyListeners.push(l);
      }
    }
  }

  allowChallengeAck(now: number): boolean {
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    return this.challengeCount++ < this.challengeLimit;
  }

  /**
   * Dispatches collected application events. Re-entrant calls return at once.
   * Listeners go first, so an application that attaches its callbacks in
   * onConnection still sees the events of data that came with the handshake.
   */
  flush(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    let firstError: unknown = null;
    let i = 0;
    try {
      for (;;) {
        if (this.outHead < this.outBuf.length) {
          // Segments first, in the order they were made. A link that delivers
          // synchronously may call input() from here: that is a complete
          // operation of its own, and what it produces lands in these queues.
          const k = this.outHead++;
          const buf = this.outBuf[k]!;
          this.outBuf[k] = EMPTY;
          try {
            this.link.send(this.outEp[k]!, this.outSrc[k]!, this.outDst[k]!, buf, this.outOff[k]!);
          } catch (e) {
            firstError ??= e;
          }
        } else if (this.dirtyListeners.length > 0) {
          const l = this.dirtyListeners.shift()!;
          try {
            l.dispatch();
          } catch (e) {
            firstError ??= e;
          }
        } else if (i < this.dirty.length) {
          try {
            this.dirty[i++]!.dispatchEvents();
          } catch (e) {
            firstError ??= e;
          }
        } else break;
      }
    } finally {
      this.dirty.length = 0;
      this.outEp.length = 0;
      this.outSrc.length = 0;
      this.outDst.length = 0;
      this.outBuf.length = 0;
      this.outOff.length = 0;
      this.outHead = 0;
      this.dispatching = false;
    }
    if (firstError !== null) throw firstError;
  }

  // ---------------------------------------------------------------- timers

  /** Earliest time tick() has work, or undefined. */
  nextDeadline(): number | undefined {
    while (this.heapAt.length > 0) {
      const ep = this.heapEp[0]!;
      if (this.heapAt[0] === ep.scheduledAt && ep.state !== TcpState.CLOSED) return this.heapAt[0];
      this.heapPop();
    }
    return undefined;
  }

  /** Runs every timer due at `now`. */
  tick(now: number): void {
    if (now > this.lastNow) this.lastNow = now;
    let budget = this.heapAt.length * 2 + 16;
    while (this.heapAt.length > 0 && this.heapAt[0]! <= now && budget-- > 0) {
      const at = this.heapAt[0]!;
      const ep = this.heapPop();
      if (at !== ep.scheduledAt) continue; // stale entry
      ep.scheduledAt = Infinity;
      if (ep.state === TcpState.CLOSED) continue;
      if (ep.deadline <= now) ep.onTimer(now);
      this.schedule(ep);
    }
    this.flush();
  }

  private heapPush(at: number, ep: TcpEndpoint): void {
    const a = this.heapAt;
    const e = this.heapEp;
    let i = a.length;
    a.push(at);
    e.push(ep);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= at) break;
      a[i] = a[p]!;
      e[i] = e[p]!;
      i = p;
    }
    a[i] = at;
    e[i] = ep;
  }

  private heapPop(): TcpEndpoint {
    const a = this.heapAt;
    const e = this.heapEp;
    const top = e[0]!;
    const lastAt = a.pop()!;
    const lastEp = e.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[r]! < a[l]! ? r : l;
        if (a[c]! >= lastAt) break;
        a[i] = a[c]!;
        e[i] = e[c]!;
        i = c;
      }
      a[i] = lastAt;
      e[i] = lastEp;
    }
    return top;
  }
}
