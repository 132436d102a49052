/**
 * The UDP data plane behind one small interface with two implementations:
 * NativeBind (the addon: recvmmsg/sendmmsg batches, big socket buffers, fwmark)
 * and DgramBind (node:dgram, portable). Both are dual-stack when the host has
 * IPv6 and report IPv4 peers as plain dotted quads.
 *
 * Sends are copied into a staging area at once (callers may reuse their buffer)
 * and handed to the kernel in one batch at flush() — the glue flushes after
 * each receive batch and timer tick; a microtask flush catches the rest.
 */
import dgram from 'node:dgram';
import { formatIPv4, formatIPv6, parseIPv4Into, parseIPv6Into } from './ipaddr.js';
import { nativeOrWarn, type NativeUdp } from './native.js';

export interface UdpEndpoint {
  readonly address: string;
  readonly port: number;
  /**
   * The local address a datagram arrived on (native bind only). Sending to an endpoint
   * that carries one makes the reply leave from that address ("sticky" source, as
   * wireguard-go does on multi-address hosts); an address that has disappeared is
   * forgotten and the kernel chooses again.
   */
  readonly localAddress?: string;
}

export type ReceiveHandler = (data: Uint8Array, from: UdpEndpoint) => void;

export interface BindStats {
  received: number;
  sent: number;
  /** Datagrams we could not hand to the kernel (full socket buffer, bad address, oversize). */
  sendDropped: number;
  /** Datagrams dropped on receive (truncated). */
  receiveDropped: number;
  /** Sends whose sticky local address had disappeared (sent from a kernel-chosen address instead). */
  sourceForgotten: number;
}

export interface UdpBind {
  readonly kind: 'native' | 'dgram';
  /** Bound port (0 before open). */
  readonly port: number;
  readonly stats: BindStats;
  /** Binds to port (0 = any). Returns the bound port. */
  open(port: number, fwmark?: number): Promise<number>;
  /** `data` is valid only during the handler call; `from` objects are shared and immutable. `afterBatch` runs once per receive batch. */
  onReceive(handler: ReceiveHandler, afterBatch?: () => void): void;
  /** Queues a copy of data for `to`. */
  send(data: Uint8Array, to: UdpEndpoint): void;
  flush(): void;
  setMark(mark: number): void;
  close(): Promise<void>;
}

/** Receive-side endpoint objects are interned so a steady peer costs no allocation per packet. */
class EndpointCache {
  private readonly v4 = new Map<number, UdpEndpoint>();
  private readonly v6 = new Map<string, UdpEndpoint>();
  /** IPv4 remote seen on an IPv4 local address: keyed by local, then remote. */
  private readonly v4Local = new Map<number, Map<number, UdpEndpoint>>();
  private static readonly LIMIT = 4096;

  /** An endpoint that remembers the local address it arrived on (see UdpEndpoint.localAddress). */
  getWithLocal(family: number, addr: Uint8Array, off: number, port: number, localFamily: number, localOff: number, ifindex: number): UdpEndpoint {
    if (family === 4 && localFamily === 4) {
      const local = ((addr[localOff]! << 24) | (addr[localOff + 1]! << 16) | (addr[localOff + 2]! << 8) | addr[localOff + 3]!) >>> 0;
      const key = (((addr[off]! << 24) | (addr[off + 1]! << 16) | (addr[off + 2]! << 8) | addr[off + 3]!) >>> 0) * 65536 + port;
      let inner = this.v4Local.get(local);
      if (!inner) {
        if (this.v4Local.size >= 256) this.v4Local.clear();
        inner = new Map();
        this.v4Local.set(local, inner);
      }
      let ep = inner.get(key);
      if (!ep) {
        if (inner.size >= EndpointCache.LIMIT) inner.clear();
        ep = Object.freeze({ address: formatIPv4(addr, off), port, localAddress: formatIPv4(addr, localOff) });
        inner.set(key, ep);
      }
      return ep;
    }
    const remote = family === 4 ? formatIPv4(addr, off) : formatIPv6(addr, off);
    let local = localFamily === 4 ? formatIPv4(addr, localOff) : formatIPv6(addr, localOff);
    // Link-local sources only mean something with their interface.
    if (localFamily === 6 && addr[localOff] === 0xfe && (addr[localOff + 1]! & 0xc0) === 0x80) local += `%${ifindex}`;
    const key = `${remote}|${port}|${local}`;
    let ep = this.v6.get(key);
    if (!ep) {
      if (this.v6.size >= EndpointCache.LIMIT) this.v6.clear();
      ep = Object.freeze({ address: remote, port, localAddress: local });
      this.v6.set(key, ep);
    }
    return ep;
  }

  get4(addr: Uint8Array, off: number, port: number): UdpEndpoint {
    const key = (((addr[off]! << 24) | (addr[off + 1]! << 16) | (addr[off + 2]! << 8) | addr[off + 3]!) >>> 0) * 65536 + port;
    let ep = this.v4.get(key);
    if (!ep) {
      if (this.v4.size >= EndpointCache.LIMIT) this.v4.clear();
      ep = Object.freeze({ address: formatIPv4(addr, off), port });
      this.v4.set(key, ep);
    }
    return ep;
  }

  get6(addr: Uint8Array, off: number, port: number): UdpEndpoint {
    const text = formatIPv6(addr, off);
    const key = `${text}|${port}`;
    let ep = this.v6.get(key);
    if (!ep) {
      if (this.v6.size >= EndpointCache.LIMIT) this.v6.clear();
      ep = Object.freeze({ address: text, port });
      this.v6.set(key, ep);
    }
    return ep;
  }
}

interface ParsedAddress {
  family: 4 | 6;
  bytes: Uint8Array; // 16 bytes; IPv4 in the first 4
  /** From a numeric "%zone" suffix, else 0. */
  ifindex: number;
}

/** Send-side: destination text parsed once per distinct address. */
class AddressCache {
  private readonly map = new Map<string, ParsedAddress | null>();

  get(address: string): ParsedAddress | null {
    let p = this.map.get(address);
    if (p !== undefined) return p;
    if (this.map.size >= 4096) this.map.clear();
    const bytes = new Uint8Array(16);
    const pct = address.indexOf('%');
    const ifindex = pct >= 0 ? Number(address.slice(pct + 1)) >>> 0 || 0 : 0;
    if (parseIPv4Into(address, bytes)) p = { family: 4, bytes, ifindex };
    else if (parseIPv6Into(address, bytes)) {
      // An IPv4-mapped IPv6 address is IPv4 on the wire.
      const mapped = bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
      if (mapped) {
        const v4 = new Uint8Array(16);
        v4.set(bytes.subarray(12, 16));
        p = { family: 4, bytes: v4, ifindex };
      } else p = { family: 6, bytes, ifindex };
    } else p = null;
    this.map.set(address, p);
    return p;
  }
}

const META = 16; // int32s per message in the addon's meta arrays (native/udp.cc)

export interface NativeBindOptions {
  /** Messages per receive batch (default 64). */
  batch?: number;
  /** Largest datagram accepted (default 65535, enough for jumbo MTUs). */
  slotSize?: number;
  /**
   * Flush queued sends in a microtask (default true). An owner that calls flush() after
   * every piece of work that may send (the daemon does) turns it off: one task less per
   * packet on the latency path.
   */
  microtaskFlush?: boolean;
}

export class NativeBind implements UdpBind {
  readonly kind = 'native' as const;
  readonly stats: BindStats = { received: 0, sent: 0, sendDropped: 0, receiveDropped: 0, sourceForgotten: 0 };
  private sock: NativeUdp | undefined;
  private boundPort = 0;
  private readonly slot: number;
  private readonly recvBuf: Buffer;
  private readonly recvMeta: Int32Array;
  private readonly recvAddr: Uint8Array;
  private readonly sendBuf: Buffer;
  private readonly sendMeta: Int32Array;
  private readonly sendAddr: Uint8Array;
  private sendCount = 0;
  private sendOffset = 0;
  private flushQueued = false;
  private readonly microtaskFlush: boolean;
  private handler: ReceiveHandler | undefined;
  private afterBatch: (() => void) | undefined;
  private readonly endpoints = new EndpointCache();
  private readonly addresses = new AddressCache();
  /** Sticky local addresses the kernel refused (removed from the host): sent without a source until traffic arrives on them again. */
  private readonly goneLocal = new Set<string>();
  private readonly sendLocal: Array<string | undefined>;
  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(opts: NativeBindOptions = {}) {
    const batch = opts.batch ?? 64;
    this.slot = opts.slotSize ?? 65535;
    this.microtaskFlush = opts.microtaskFlush ?? true;
    this.recvBuf = Buffer.allocUnsafe(batch * this.slot);
    this.recvMeta = new Int32Array(batch * META);
    this.recvAddr = new Uint8Array(this.recvMeta.buffer);
    this.sendBuf = Buffer.allocUnsafe(Math.max(256 * 1024, 2 * this.slot));
    this.sendMeta = new Int32Array(256 * META);
    this.sendAddr = new Uint8Array(this.sendMeta.buffer);
    this.sendLocal = new Array<string | undefined>(256).fill(undefined);
  }

  static available(): boolean {
    return nativeOrWarn(() => undefined)?.Udp !== undefined;
  }

  /** True while equal-size sends to one destination leave as UDP GSO datagrams. */
  get gso(): boolean {
    return this.sock?.gsoEnabled() ?? false;
  }

  get port(): number {
    return this.boundPort;
  }

  async open(port: number, fwmark = 0): Promise<number> {
    if (this.sock) throw new Error('bind already open');
    const addon = nativeOrWarn();
    if (!addon?.Udp) throw new Error('native UDP unavailable');
    const sock = new addon.Udp(this.recvBuf, this.slot, this.recvMeta, this.sendBuf, this.sendMeta);
    this.boundPort = sock.bind(port, 0, fwmark);
    sock.start(
      (count) => this.onBatch(count),
      () => {
        /* poll errors on a UDP socket are transient; the next readable event retries */
      },
    );
    this.sock = sock;
    return this.boundPort;
  }

  onReceive(handler: ReceiveHandler, afterBatch?: () => void): void {
    this.handler = handler;
    this.afterBatch = afterBatch;
  }

  private onBatch(count: number): void {
    const h = this.handler;
    for (let i = 0; i < count; i++) {
      const m = i * META;
      const len = this.recvMeta[m]!;
      if (len < 0) {
        this.stats.receiveDropped++;
        continue;
      }
      const port = this.recvMeta[m + 2]!;
      const family = this.recvMeta[m + 1]!;
      const localFamily = this.recvMeta[m + 3]!;
      let from: UdpEndpoint;
      if (localFamily === 0) from = family === 4 ? this.endpoints.get4(this.recvAddr, (m + 4) * 4, port) : this.endpoints.get6(this.recvAddr, (m + 4) * 4, port);
      else {
        from = this.endpoints.getWithLocal(family, this.recvAddr, (m + 4) * 4, port, localFamily, (m + 8) * 4, this.recvMeta[m + 12]!);
        // Traffic arrives on it again: a local address we had given up on is back.
        if (this.goneLocal.size > 0) this.goneLocal.delete(from.localAddress!);
      }
      this.stats.received++;
      if (h) h(new Uint8Array(this.recvBuf.buffer, this.recvBuf.byteOffset + i * this.slot, len), from);
    }
    this.afterBatch?.();
    this.flush();
  }

  send(data: Uint8Array, to: UdpEndpoint): void {
    if (!this.sock) {
      this.stats.sendDropped++;
      return;
    }
    const dst = this.addresses.get(to.address);
    if (!dst || data.length > this.sendBuf.length) {
      this.stats.sendDropped++;
      return;
    }
    if (this.sendCount * META >= this.sendMeta.length || this.sendOffset + data.length > this.sendBuf.length) this.flush();
    const m = this.sendCount * META;
    this.sendBuf.set(data, this.sendOffset);
    this.sendMeta[m] = this.sendOffset;
    this.sendMeta[m + 1] = data.length;
    this.sendMeta[m + 2] = dst.family;
    this.sendMeta[m + 3] = to.port;
    this.sendAddr.set(dst.bytes, (m + 4) * 4);
    const local = to.localAddress;
    const src = local !== undefined && !this.goneLocal.has(local) ? this.addresses.get(local) : null;
    if (src && src.family === dst.family) {
      this.sendMeta[m + 8] = src.family;
      this.sendAddr.set(src.bytes, (m + 9) * 4);
      this.sendMeta[m + 13] = src.ifindex;
      this.sendLocal[this.sendCount] = local;
    } else {
      this.sendMeta[m + 8] = 0;
      this.sendLocal[this.sendCount] = undefined;
    }
    this.sendOffset += (data.length + 15) & ~15;
    this.sendCount++;
    if (!this.flushQueued && this.microtaskFlush) {
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
  }

  flush(): void {
    const n = this.sendCount;
    if (n === 0 || !this.sock) return;
    this.sendCount = 0;
    this.sendOffset = 0;
    const sent = this.sock.sendBatch(n);
    this.stats.sent += sent;
    this.stats.sendDropped += n - sent;
    for (let i = 0; i < n; i++) {
      // The addon sent this one without its sticky source: that local address is gone.
      if (this.sendMeta[i * META + 14] === 1 && this.sendLocal[i] !== undefined) {
        if (this.goneLocal.size >= 1024) this.goneLocal.clear();
        this.goneLocal.add(this.sendLocal[i]!);
        this.stats.sourceForgotten++;
      }
    }
  }

  setMark(mark: number): void {
    this.sock?.setMark(mark);
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    this.sendCount = 0;
    this.sendOffset = 0;
    this.boundPort = 0;
    s?.close();
  }
}

export class DgramBind implements UdpBind {
  readonly kind = 'dgram' as const;
  readonly stats: BindStats = { received: 0, sent: 0, sendDropped: 0, receiveDropped: 0, sourceForgotten: 0 };
  private sock: dgram.Socket | undefined;
  private v6 = false;
  private boundPort = 0;
  private handler: ReceiveHandler | undefined;
  private afterBatch: (() => void) | undefined;
  private afterQueued = false;
  private readonly endpoints = new EndpointCache();
  private readonly addresses = new AddressCache();
  private readonly scratch = new Uint8Array(16);
  /** Sends handed to dgram and not yet completed; close() lets them finish (a last RST or keepalive). */
  private inflight = 0;
  private onDrained: (() => void) | null = null;
  private readonly afterTask = (): void => {
    this.afterQueued = false;
    this.afterBatch?.();
  };

  get port(): number {
    return this.boundPort;
  }

  async open(port: number, fwmark = 0): Promise<number> {
    if (this.sock) throw new Error('bind already open');
    if (fwmark) process.emitWarning('fwmark is not supported by the dgram UDP bind; ignored');
    let sock: dgram.Socket;
    try {
      sock = await bindDgram('udp6', port);
      this.v6 = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') throw err;
      sock = await bindDgram('udp4', port);
      this.v6 = false;
    }
    try {
      sock.setRecvBufferSize(7 << 20);
      sock.setSendBufferSize(7 << 20);
    } catch {
      /* capped by net.core.[rw]mem_max: take what we get */
    }
    sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    sock.on('error', () => {
      /* ICMP errors surface here; UDP is unreliable anyway */
    });
    this.sock = sock;
    this.boundPort = sock.address().port;
    return this.boundPort;
  }

  onReceive(handler: ReceiveHandler, afterBatch?: () => void): void {
    this.handler = handler;
    this.afterBatch = afterBatch;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.received++;
    let from: UdpEndpoint;
    if (rinfo.family === 'IPv4' || rinfo.address.startsWith('::ffff:')) {
      const text = rinfo.family === 'IPv4' ? rinfo.address : rinfo.address.slice(7);
      if (!parseIPv4Into(text, this.scratch)) return;
      from = this.endpoints.get4(this.scratch, 0, rinfo.port);
    } else {
      if (!parseIPv6Into(rinfo.address, this.scratch)) return;
      from = this.endpoints.get6(this.scratch, 0, rinfo.port);
    }
    this.handler?.(msg, from);
    // dgram delivers one message per event; group the after-batch work per microtask checkpoint.
    if (this.afterBatch && !this.afterQueued) {
      this.afterQueued = true;
      queueMicrotask(this.afterTask);
    }
  }

  send(data: Uint8Array, to: UdpEndpoint): void {
    const sock = this.sock;
    const dst = this.addresses.get(to.address);
    if (!sock || !dst || (dst.family === 6 && !this.v6)) {
      this.stats.sendDropped++;
      return;
    }
    const address = dst.family === 4 ? (this.v6 ? `::ffff:${formatIPv4(dst.bytes)}` : formatIPv4(dst.bytes)) : formatIPv6(dst.bytes);
    // dgram keeps the buffer until the send completes: it must be our own copy.
    this.inflight++;
    sock.send(Buffer.from(data), to.port, address, (err) => {
      if (err) this.stats.sendDropped++;
      else this.stats.sent++;
      if (--this.inflight === 0) this.onDrained?.();
    });
  }

  flush(): void {
    /* dgram sends as it goes */
  }

  setMark(_mark: number): void {
    /* unsupported without the addon */
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    this.boundPort = 0;
    if (!s) return;
    // dgram resolves the address a tick later: closing now would drop what was just sent.
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        this.onDrained = resolve;
        setTimeout(resolve, 250).unref();
      });
      this.onDrained = null;
    }
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function bindDgram(type: 'udp4' | 'udp6', port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type, ipv6Only: false, reuseAddr: false });
    const onError = (err: Error): void => {
      sock.close();
      reject(err);
    };
    sock.once('error', onError);
    sock.bind(port, type === 'udp6' ? '::' : '0.0.0.0', () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

/** The fastest bind available: native when the addon loads (WGTS_BIND=dgram forces the fallback). */
export function createBind(
  prefer: 'auto' | 'native' | 'dgram' = (process.env.WGTS_BIND as 'native' | 'dgram' | undefined) ?? 'auto',
  opts: NativeBindOptions = {},
): UdpBind {
  if (prefer === 'dgram') return new DgramBind();
  if (prefer === 'native' || nativeOrWarn()?.Udp) return new NativeBind(opts);
  return new DgramBind();
}
