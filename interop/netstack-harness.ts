/**
 * Our netstack attached to a kernel TUN device whose kernel side lives in a
 * namespace of its own, plus the pieces the Linux cross-checks and the
 * bench share: kernel-side helper processes (netstack-peer.ts), stack-side
 * TCP sinks/sources with sha256, bounded waits.
 *
 *   netns <ns>:  TUN <dev> 10.77.0.1/24, fd00:77::1/64   (Linux)
 *   this process: Stack owning 10.77.0.2, fd00:77::2 over the TUN fd
 *
 * The TUN is created here (root namespace) and moved into the namespace;
 * the descriptor keeps working, so the stack runs in this process.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TunDevice } from '../src/node/tun.js';
import { ChannelEndpoint, Stack, TcpProtocol, mulberry32, parseAddress } from '../src/netstack/index.js';
import type { TcpEndpoint } from '../src/netstack/transport/tcp/endpoint.js';
import type { TcpStackOptions } from '../src/netstack/transport/tcp/stack.js';
import { Netns, run, suffix, type background } from './lib.js';

export const KERNEL4 = '10.77.0.1';
export const STACK4 = '10.77.0.2';
export const TEMP4 = '10.77.0.3';
export const KERNEL6 = 'fd00:77::1';
export const STACK6 = 'fd00:77::2';
export const TEMP6 = 'fd00:77::3';
export const NIC = 1;

export type Bg = ReturnType<typeof background>;

export interface TransferResult {
  bytes: number;
  sha: string;
  /** Milliseconds from the first byte to the end (receiver) or connect to close (sender). */
  ms: number;
  /** Loss-recovery counters of our endpoint (stack side only). */
  tcp?: { retransmits: number; timeouts: number; fastRecoveries: number; outOfOrder: number };
}

function recovery(ep: TcpEndpoint): TransferResult['tcp'] {
  const s = ep.stats;
  return { retransmits: s.retransmits, timeouts: s.timeouts, fastRecoveries: s.fastRecoveries, outOfOrder: s.outOfOrder };
}

const cleanups = new Set<() => void>();

/** Registers teardown for `closeAll` (signal handlers); returns the unregister function. */
export function registerCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}

/** Tears down every namespace/TUN this process still has (SIGTERM/SIGINT paths). */
export function closeAll(): void {
  for (const fn of [...cleanups]) {
    try {
      fn();
    } catch {
      /* keep cleaning */
    }
  }
  cleanups.clear();
}

/** Installs SIGTERM/SIGINT handlers that tear everything down, then run `last` and exit 130. */
export function exitCleanlyOnSignals(last: (signal: string) => void = () => undefined): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      closeAll();
      last(sig);
      process.exit(130);
    });
  }
}

/** Rejects after ms with a message naming what timed out. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export interface ImpairOptions {
  /** Probability a packet is dropped. */
  loss: number;
  /** One-way delay of the packets not picked for reordering (ms). */
  delayMs: number;
  /** Probability a packet skips the delay and so overtakes delayed ones (netem's "reorder"). */
  reorder: number;
  seed: number;
}

/**
 * An in-process stand-in for netem (loss, delay, reorder) on one direction,
 * for kernels without sch_netem. FIFO delay line with one timer; bounded.
 */
export class DelayLine {
  readonly stats = { passed: 0, dropped: 0, reordered: 0, overflow: 0 };
  private readonly at: number[] = [];
  private readonly pkts: Uint8Array[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly rand: () => number;

  constructor(
    private readonly opts: ImpairOptions,
    private readonly deliver: (pkt: Uint8Array) => void,
    private readonly limit = 20_000,
  ) {
    this.rand = mulberry32(opts.seed);
  }

  push(pkt: Uint8Array): void {
    if (this.rand() < this.opts.loss) {
      this.stats.dropped++;
      return;
    }
    if (this.rand() < this.opts.reorder) {
      this.stats.reordered++;
      this.stats.passed++;
      this.deliver(pkt);
      return;
    }
    if (this.at.length - this.head >= this.limit) {
      this.stats.overflow++;
      return;
    }
    this.at.push(performance.now() + this.opts.delayMs);
    this.pkts.push(pkt);
    if (!this.timer) this.schedule();
  }

  private schedule(): void {
    if (this.head >= this.at.length) return;
    const wait = Math.max(0, this.at[this.head]! - performance.now());
    this.timer = setTimeout(() => this.release(), Math.ceil(wait));
  }

  private release(): void {
    this.timer = null;
    const now = performance.now();
    while (this.head < this.at.length && this.at[this.head]! <= now + 0.5) {
      const p = this.pkts[this.head]!;
      this.pkts[this.head] = EMPTY;
      this.head++;
      this.stats.passed++;
      this.deliver(p);
    }
    if (this.head > 4096 && this.head * 2 > this.at.length) {
      this.at.splice(0, this.head);
      this.pkts.splice(0, this.head);
      this.head = 0;
    }
    this.schedule();
  }

  /** Drops what is still delayed. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.at.length = 0;
    this.pkts.length = 0;
    this.head = 0;
  }
}

const EMPTY = new Uint8Array(0);

/** A stack on a kernel TUN, driven by TUN reads and its own deadline timer. */
export class TunStack {
  readonly ns: Netns;
  readonly dev: string;
  readonly stack: Stack;
  readonly link: ChannelEndpoint;
  readonly tcp: TcpProtocol;
  readonly tun: TunDevice;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private armQueued = false;
  private readonly safety: NodeJS.Timeout;
  private closed = false;
  private impairIn: DelayLine | null = null;
  private impairOut: DelayLine | null = null;
  private readonly unregister: () => void;
  /** Packets the stack wrote that the TUN refused. */
  get writeDropped(): number {
    return this.tun.stats.writeDropped;
  }

  /** Creates the namespace, the TUN (moved into it) and the stack. */
  constructor(opts: { tcp?: TcpStackOptions; mtu?: number } = {}) {
    const id = suffix();
    this.ns = new Netns(`wgts-nsl-${id}`);
    this.dev = `wgnsl${id}`;
    const mtu = opts.mtu ?? 1500;
    run(['ip', 'netns', 'add', this.ns.name]);
    this.unregister = registerCleanup(() => this.close());
    try {
      this.tun = new TunDevice({ name: this.dev, batch: 64 });
      run(['ip', 'link', 'set', 'dev', this.dev, 'netns', this.ns.name]);
      const ip = (args: string[]): void => void this.ns.exec(['ip', ...args]);
      ip(['link', 'set', 'lo', 'up']);
      ip(['link', 'set', 'dev', this.dev, 'mtu', String(mtu), 'up']);
      ip(['addr', 'add', `${KERNEL4}/24`, 'dev', this.dev]);
      ip(['-6', 'addr', 'add', `${KERNEL6}/64`, 'dev', this.dev, 'nodad']);
    } catch (e) {
      this.unregister();
      run(['ip', 'netns', 'del', this.ns.name], { allowFail: true });
      throw e;
    }
    this.link = new ChannelEndpoint({ mtu, queueSize: 4096 });
    this.stack = new Stack({});
    this.stack.createNic(NIC, this.link);
    this.stack.addAddress(NIC, `${STACK4}/24`);
    this.stack.addAddress(NIC, `${STACK6}/64`);
    this.stack.addRoute('0.0.0.0/0', NIC);
    this.stack.addRoute('::/0', NIC);
    this.tcp = new TcpProtocol({ clock: () => performance.now(), ...opts.tcp });
    this.stack.registerTransportProtocol(6, this.tcp);
    this.link.onOutbound = (pkt) => {
      if (this.impairOut) this.impairOut.push(pkt);
      else this.tun.write(pkt);
      this.kick();
    };
    this.tun.start((batch) => {
      const now = performance.now();
      // Views die with the callback; the stack may keep packets (reassembly, queues).
      for (let i = 0; i < batch.count; i++) {
        const pkt = new Uint8Array(batch.packet(i)); // a copy (Buffer#slice would be a view)
        if (this.impairIn) this.impairIn.push(pkt);
        else this.link.injectInbound(pkt, now);
      }
      this.kick();
    });
    // Application calls can change deadlines without sending; re-check now and then.
    this.safety = setInterval(() => this.arm(), 100);
    this.safety.unref();
    this.stack.tick(performance.now());
  }

  /** Re-arms the deadline timer after the current burst of work. */
  kick(): void {
    if (this.armQueued || this.closed) return;
    this.armQueued = true;
    queueMicrotask(() => {
      this.armQueued = false;
      this.arm();
    });
  }

  private arm(): void {
    if (this.closed) return;
    const at = this.stack.nextDeadline() ?? Infinity;
    if (at === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.stack.tick(performance.now());
      this.arm();
    }, Math.max(0, Math.ceil(at - performance.now())));
  }

  /**
   * Impairs traffic in this process: `inbound` (kernel → stack) and/or
   * `outbound` (stack → kernel); null turns a direction back to direct.
   */
  impair(inbound: ImpairOptions | null, outbound: ImpairOptions | null): { inbound: DelayLine | null; outbound: DelayLine | null } {
    this.impairIn?.stop();
    this.impairOut?.stop();
    this.impairIn = inbound
      ? new DelayLine(inbound, (p) => {
          this.link.injectInbound(p, performance.now());
          this.kick();
        })
      : null;
    this.impairOut = outbound ? new DelayLine(outbound, (p) => void this.tun.write(p)) : null;
    return { inbound: this.impairIn, outbound: this.impairOut };
  }

  /** Packets the kernel dropped on its way into our stack (TUN queue full while we were busy). */
  kernelTxDropped(): number {
    return Number(this.ns.exec(['cat', `/sys/class/net/${this.dev}/statistics/tx_dropped`]).stdout.trim());
  }

  /** Runs argv inside the namespace (blocking: only for setup, never while traffic must flow). */
  nsRun(argv: string[]): void {
    this.ns.exec(argv);
  }

  /** Starts a kernel-side helper (netstack-peer.js) in the namespace. */
  peer(args: string[]): Bg {
    return this.ns.bg([process.execPath, PEER_SCRIPT, ...args]);
  }

  /** Starts any command in the namespace. */
  bg(argv: string[]): Bg {
    return this.ns.bg(argv);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.safety);
    this.impairIn?.stop();
    this.impairOut?.stop();
    this.tun.close();
    this.ns.destroy();
  }
}

export const PEER_SCRIPT = fileURLToPath(new URL('./netstack-peer.js', import.meta.url));

/** Resolves when the helper prints READY (servers), rejects when it exits first or after ms. */
export function ready(p: Bg, ms = 10_000): Promise<void> {
  return within(
    new Promise<void>((resolve, reject) => {
      let seen = '';
      p.child.stdout!.on('data', (d: string) => {
        seen += d;
        if (seen.includes('READY')) resolve();
      });
      void p.finished.then((r) => reject(new Error(`helper exited before READY (code ${r.code}): ${r.stderr.trim()}`)));
    }),
    ms,
    'helper start',
  );
}

/** The helper's RESULT json, within ms; the helper is killed on timeout. */
export async function resultOf<T = Record<string, unknown>>(p: Bg, ms: number, what: string): Promise<T> {
  try {
    const r = await within(p.finished, ms, what);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`${what}: exit ${r.code}, no result: ${r.stderr.trim().slice(0, 300)}`);
    return JSON.parse(line.slice(7)) as T;
  } finally {
    p.stop();
  }
}

export function addr(s: string): Uint8Array {
  return parseAddress(s);
}

/** Reads an endpoint to its end, hashing; closes it then; resolves once it is fully closed. */
export function stackSink(ep: TcpEndpoint): Promise<TransferResult> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    let first = 0;
    let last = 0;
    const take = (): void => {
      for (;;) {
        const d = ep.read();
        if (d.length === 0) break;
        if (bytes === 0) first = performance.now();
        h.update(d);
        bytes += d.length;
      }
    };
    ep.onReadable = take;
    ep.onEnd = () => {
      take();
      last = performance.now();
      ep.close();
    };
    ep.onClose = (err) => {
      if (err) reject(new Error(`stack sink: ${err.code}`));
      else resolve({ bytes, sha: h.digest('hex'), ms: bytes > 0 ? (last || performance.now()) - first : 0, tcp: recovery(ep) });
    };
    // Data (even the FIN) may have come with the handshake, before these callbacks existed.
    take();
    if (ep.peerClosed) ep.onEnd!();
  });
}

/**
 * Sends `total` bytes (or for `seconds` when total is 0) of varied random
 * data, half-closes, waits for the peer's FIN, and resolves once closed.
 */
export function stackSource(ep: TcpEndpoint, total: number, seconds = 0, kick?: () => void): Promise<TransferResult> {
  return new Promise((resolve, reject) => {
    const chunk = randomBytes(1 << 16);
    const h = createHash('sha256');
    let sent = 0;
    let seq = 0;
    // Bytes of the current chunk not yet taken by write().
    let pending: Uint8Array | null = null;
    let done = false;
    const t0 = performance.now();
    const stopAt = t0 + seconds * 1000;
    const more = (): boolean => (total > 0 ? sent < total : performance.now() < stopAt);
    const pump = (): void => {
      if (done) return;
      for (;;) {
        if (!pending) {
          if (!more()) {
            done = true;
            ep.shutdown();
            kick?.();
            return;
          }
          chunk.writeUInt32BE(seq++ >>> 0, 0);
          const n = total > 0 ? Math.min(chunk.length, total - sent) : chunk.length;
          pending = chunk.subarray(0, n);
          h.update(pending);
          sent += n;
        }
        const took = ep.write(pending);
        if (took < pending.length) {
          pending = pending.subarray(took);
          kick?.();
          return; // onWritable resumes
        }
        pending = null;
      }
    };
    ep.onConnect = pump;
    ep.onWritable = pump;
    ep.onReadable = () => void ep.read();
    ep.onEnd = () => ep.close();
    ep.onClose = (err) => {
      if (err) reject(new Error(`stack source: ${err.code} after ${sent} bytes`));
      else resolve({ bytes: sent, sha: h.digest('hex'), ms: performance.now() - t0, tcp: recovery(ep) });
    };
    if (ep.stateName === 'ESTABLISHED') pump();
  });
}

/** Echoes whatever arrives and closes when the peer does. */
export function stackEcho(ep: TcpEndpoint, onDone: (ok: boolean) => void): void {
  const echo = (): void => {
    for (;;) {
      const d = ep.read(ep.writableFree);
      if (d.length === 0) break;
      ep.write(d);
    }
  };
  ep.onReadable = echo;
  ep.onWritable = echo;
  ep.onEnd = () => {
    echo();
    ep.close();
  };
  ep.onClose = (err) => onDone(err === null);
  // Data (even the FIN) may have come with the handshake, before these callbacks existed.
  echo();
  if (ep.peerClosed) ep.onEnd();
}

/**
 * Linux ↔ Linux through this process: two namespaces, each with a TUN
 * (10.79.0.1 and 10.79.0.2 on one /24), packets copied between the TUNs —
 * optionally through the same DelayLine impairment the stack cases use, so
 * Linux's own behaviour on that path is the reference.
 */
export class TunRelay {
  readonly a: Netns;
  readonly b: Netns;
  static readonly ADDR_A = '10.79.0.1';
  static readonly ADDR_B = '10.79.0.2';
  private readonly tunA: TunDevice;
  private readonly tunB: TunDevice;
  private ab: DelayLine | null = null;
  private ba: DelayLine | null = null;
  private closed = false;
  private readonly unregister: () => void;

  constructor() {
    const id = suffix();
    this.a = new Netns(`wgts-nsr-a-${id}`);
    this.b = new Netns(`wgts-nsr-b-${id}`);
    const made: TunDevice[] = [];
    // The constructor is synchronous: a signal handler only ever sees a finished relay.
    this.unregister = registerCleanup(() => this.close());
    run(['ip', 'netns', 'add', this.a.name]);
    run(['ip', 'netns', 'add', this.b.name]);
    try {
      for (const [ns, dev, address] of [
        [this.a, `wgrla${id}`, TunRelay.ADDR_A],
        [this.b, `wgrlb${id}`, TunRelay.ADDR_B],
      ] as const) {
        made.push(new TunDevice({ name: dev, batch: 64 }));
        run(['ip', 'link', 'set', 'dev', dev, 'netns', ns.name]);
        ns.exec(['ip', 'link', 'set', 'lo', 'up']);
        ns.exec(['ip', 'link', 'set', 'dev', dev, 'mtu', '1500', 'up']);
        ns.exec(['ip', 'addr', 'add', `${address}/24`, 'dev', dev]);
      }
    } catch (e) {
      this.unregister();
      for (const t of made) t.close();
      this.a.destroy();
      this.b.destroy();
      throw e;
    }
    this.tunA = made[0]!;
    this.tunB = made[1]!;
    this.tunA.start((batch) => {
      for (let i = 0; i < batch.count; i++) {
        const p = new Uint8Array(batch.packet(i));
        if (this.ab) this.ab.push(p);
        else this.tunB.write(p);
      }
    });
    this.tunB.start((batch) => {
      for (let i = 0; i < batch.count; i++) {
        const p = new Uint8Array(batch.packet(i));
        if (this.ba) this.ba.push(p);
        else this.tunA.write(p);
      }
    });
  }

  /** Impairs a → b and b → a (null: direct). */
  impair(ab: ImpairOptions | null, ba: ImpairOptions | null): { ab: DelayLine | null; ba: DelayLine | null } {
    this.ab?.stop();
    this.ba?.stop();
    this.ab = ab ? new DelayLine(ab, (p) => void this.tunB.write(p)) : null;
    this.ba = ba ? new DelayLine(ba, (p) => void this.tunA.write(p)) : null;
    return { ab: this.ab, ba: this.ba };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    this.ab?.stop();
    this.ba?.stop();
    this.tunA.close();
    this.tunB.close();
    this.a.destroy();
    this.b.destroy();
  }
}

/** Linux's TCP RetransSegs in a namespace (/proc/net/snmp). */
export function kernelRetransmits(ns: Netns): number {
  const lines = ns.exec(['cat', '/proc/net/snmp']).stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf('RetransSegs')]);
}
