/**
 * Node-idiomatic sockets over the netstack: a net.Socket-compatible Duplex
 * (TunnelSocket), a net.Server-like TunnelServer, a dgram-like
 * TunnelUdpSocket, ping, and an http.Agent. They drive the sans-I/O stack
 * through a NetContext that keeps the clock current and flushes datagrams /
 * re-arms the timer after every application call.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { isIP } from 'node:net';
import type { NetstackEndpoint } from '../endpoint/netstack-endpoint.js';
import { formatAddress, parseAddress } from '../netstack/addr.js';
import type { TcpEndpoint, TcpError } from '../netstack/transport/tcp/endpoint.js';
import type { UdpEndpoint, UdpDatagram } from '../netstack/transport/udp.js';
import type { IcmpEchoEndpoint } from '../netstack/transport/icmp.js';

/** Something close() must release. */
export interface Releasable {
  release(): void;
}

/** What the sockets need from the runtime that owns the endpoint. */
export interface NetContext {
  readonly endpoint: NetstackEndpoint;
  /** Current time (ms); brings the stack's clock forward. Throws when closed. */
  enter(): number;
  /** After an application call: flush datagrams, re-arm the timer. */
  leave(): void;
  readonly handles: Set<Releasable>;
  /** Name → address over the tunnel's DNS (IP literals pass through). */
  lookup(host: string, family?: 4 | 6): Promise<{ address: string; family: 4 | 6 }>;
  /** TCP operations of the stack. */
  readonly tcp: TcpOps;
}

export interface TcpOps {
  /** Starts an active open; the endpoint's onConnect/onClose report the outcome. */
  connect(family: 4 | 6, dst: Uint8Array, port: number): TcpEndpoint;
  /** Listens on port (0 = ephemeral) for any address (also temporary ones in promiscuous mode) or one address. */
  listen(port: number, address: Uint8Array | null, onAccept: (ep: TcpEndpoint) => void): TcpListenHandle;
}

export interface TcpListenHandle {
  readonly port: number;
  close(): void;
}

function errnoError(code: string, message: string, extra: Record<string, unknown> = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, syscall: 'connect', ...extra }) as NodeJS.ErrnoException;
}

// ---------------------------------------------------------------------------------------- TCP

export interface TunnelConnectOptions {
  host: string;
  port: number;
  /** Connect timeout in ms (ETIMEDOUT); default: the TCP SYN retries (~2 min). */
  timeout?: number;
  family?: 4 | 6;
}

/**
 * A net.Socket-compatible Duplex over a netstack TCP endpoint. Writes made
 * before the connection is up are held until it is.
 */
export class TunnelSocket extends Duplex {
  connecting = true;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  bytesRead = 0;
  private ep: TcpEndpoint | null = null;
  private pendingWrite: { data: Uint8Array; cb: (err?: Error | null) => void } | null = null;
  private pendingFinal: ((err?: Error | null) => void) | null = null;
  private wantRead = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private noDelay = false;
  private keepAlive: { on: boolean; delay?: number } | null = null;
  /** WireGuard.close() is taking the stack away: tell the peer with an RST, a FIN could never complete. */
  private readonly handle: Releasable = {
    release: () => {
      this.abortOnDestroy = true;
      this.destroy();
    },
  };
  private abortOnDestroy = false;
  private bytesOut = 0;
  /** The endpoint closed in order: end the readable side once drained. */
  private ended = false;

  constructor(private readonly ctx: NetContext) {
    // 'close' is emitted by _destroy with net.Socket's hadError argument.
    super({ allowHalfOpen: false, emitClose: false });
    ctx.handles.add(this.handle);
  }

  get bytesWritten(): number {
    return this.bytesOut;
  }

  get pending(): boolean {
    return this.connecting;
  }

  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** @internal Wires an endpoint (active open in progress, or an accepted connection). */
  attach(ep: TcpEndpoint, connected: boolean): void {
    this.ep = ep;
    const fam = ep.remoteAddress.length === 4 ? 4 : 6;
    this.remoteAddress = formatAddress(ep.remoteAddress);
    this.remotePort = ep.remotePort;
    this.remoteFamily = fam === 4 ? 'IPv4' : 'IPv6';
    this.localAddress = formatAddress(ep.localAddress);
    this.localPort = ep.localPort;
    ep.onConnect = () => this.onConnected();
    ep.onReadable = () => {
      if (this.wantRead) this.pull();
      this.touch();
    };
    ep.onWritable = () => this.flushPending();
    ep.onEnd = () => {
      this.pull();
      if (ep.readableLength === 0) this.push(null);
    };
    ep.onClose = (err) => this.onEndpointClosed(err);
    if (this.noDelay) ep.setNoDelay(true);
    if (this.keepAlive) ep.setKeepAlive(this.keepAlive.on, this.keepAlive.delay);
    // Accepted connections are open from the start and, as with net.Server, emit no 'connect'.
    if (connected) {
      this.connecting = false;
      this.touch();
    }
  }

  private onConnected(): void {
    if (!this.connecting) return;
    this.connecting = false;
    this.emit('connect');
    this.emit('ready');
    this.flushPending();
    if (this.wantRead) this.pull();
    this.touch();
  }

  private onEndpointClosed(err: TcpError | null): void {
    this.ctx.handles.delete(this.handle);
    this.clearIdle();
    const ep = this.ep;
    if (err) {
      const e = errnoError(err.code, `${err.code === 'ECONNREFUSED' ? 'connect ' : 'read '}${err.code} ${this.remoteAddress}:${this.remotePort}`, {
        address: this.remoteAddress,
        port: this.remotePort,
      });
      this.destroy(e);
      return;
    }
    // Orderly close: hand over what is left and end the readable side; the
    // stream then closes itself (autoDestroy) once the application has read it.
    if (ep && ep.readableLength > 0) this.pull();
    this.ended = true;
    if (ep && ep.readableLength === 0) this.push(null);
    if (this.pendingWrite) {
      const w = this.pendingWrite;
      this.pendingWrite = null;
      w.cb(errnoError('EPIPE', 'write EPIPE'));
    }
    if (this.pendingFinal) {
      const f = this.pendingFinal;
      this.pendingFinal = null;
      f();
    }
  }

  /** Moves readable bytes from the endpoint into the stream while it wants more. */
  private pull(): void {
    const ep = this.ep;
    if (!ep) return;
    let n = 0;
    while (ep.readableLength > 0) {
      const chunk = ep.read(65536);
      if (chunk.length === 0) break;
      n += chunk.length;
      this.bytesRead += chunk.length;
      if (!this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))) {
        this.wantRead = false;
        break;
      }
    }
    // Reading opened the receive window: flush the window update.
    if (n > 0) this.ctx.leave();
    if ((ep.peerClosed || this.ended) && ep.readableLength === 0 && !this.readableEnded) this.push(null);
  }

  override _read(): void {
    this.wantRead = true;
    if (!this.connecting) this.pull();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pendingWrite = { data: chunk, cb };
    if (!this.connecting) this.flushPending();
  }

  private flushPending(): void {
    const w = this.pendingWrite;
    const ep = this.ep;
    if (!w || !ep || this.connecting) {
      if (!w && this.pendingFinal && ep && !this.connecting) this.doFinal();
      return;
    }
    try {
      this.ctx.enter();
      const n = ep.write(w.data);
      this.bytesOut += n;
      this.ctx.leave();
      if (n < w.data.length) {
        w.data = w.data.subarray(n);
        return; // onWritable resumes
      }
    } catch (e) {
      this.pendingWrite = null;
      const code = (e as TcpError).code ?? 'EPIPE';
      w.cb(errnoError(code, `write ${code}`));
      return;
    }
    this.pendingWrite = null;
    this.touch();
    w.cb();
    if (this.pendingFinal) this.doFinal();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.pendingFinal = cb;
    if (!this.connecting && !this.pendingWrite) this.doFinal();
  }

  private doFinal(): void {
    const cb = this.pendingFinal;
    if (!cb) return;
    this.pendingFinal = null;
    if (this.ep) {
      this.ctx.enter();
      this.ep.shutdown();
      this.ctx.leave();
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.ctx.handles.delete(this.handle);
    this.clearIdle();
    const ep = this.ep;
    if (ep) {
      ep.onConnect = ep.onReadable = ep.onWritable = ep.onEnd = null;
      ep.onClose = null;
      try {
        this.ctx.enter();
        if (err || this.abortOnDestroy || ep.readableLength > 0) ep.abort();
        else ep.close();
        this.ctx.leave();
      } catch {
        /* runtime already closed: nothing left to tell the peer */
      }
    }
    cb(err);
    // After the 'error' that cb schedules, as net.Socket orders them.
    process.nextTick(() => this.emit('close', err != null));
  }

  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    if (this.ep) this.ep.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay?: number): this {
    this.keepAlive = { on: enable, delay: initialDelay && initialDelay > 0 ? initialDelay : undefined };
    if (this.ep) this.ep.setKeepAlive(enable, this.keepAlive.delay);
    return this;
  }

  /** Emits 'timeout' after `ms` of inactivity (the socket stays open, as net.Socket). */
  setTimeout(ms: number, cb?: () => void): this {
    this.idleMs = ms;
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    this.touch();
    return this;
  }

  private touch(): void {
    this.clearIdle();
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        this.emit('timeout');
      }, this.idleMs);
    }
  }

  private clearIdle(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, family: this.remoteFamily ?? 'IPv4', port: this.localPort };
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

/**
 * Connects through the tunnel. The socket is returned at once (like
 * net.connect); 'connect' or 'error' follows.
 */
export function createConnection(ctx: NetContext, opts: TunnelConnectOptions, onConnect?: () => void): TunnelSocket {
  const sock = new TunnelSocket(ctx);
  if (onConnect) sock.once('connect', onConnect);
  let timer: NodeJS.Timeout | null = null;
  if (opts.timeout !== undefined && opts.timeout > 0) {
    timer = setTimeout(() => {
      timer = null;
      if (sock.connecting) sock.destroy(errnoError('ETIMEDOUT', `connect ETIMEDOUT ${opts.host}:${opts.port}`, { address: opts.host, port: opts.port }));
    }, opts.timeout);
  }
  const clear = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  sock.once('connect', clear);
  sock.once('close', clear);
  ctx.lookup(opts.host, opts.family).then(
    ({ address, family }) => {
      if (sock.destroyed) return;
      try {
        ctx.enter();
        const ep = ctx.tcp.connect(family, parseAddress(address), opts.port);
        sock.attach(ep, false);
        ctx.leave();
      } catch (e) {
        sock.destroy(e as Error);
      }
    },
    (e: Error) => sock.destroy(e),
  );
  return sock;
}

/** Resolves once connected; rejects with ECONNREFUSED / ETIMEDOUT / lookup errors. */
export function connect(ctx: NetContext, opts: TunnelConnectOptions): Promise<TunnelSocket> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(ctx, opts);
    const onError = (e: Error): void => reject(e);
    sock.once('error', onError);
    sock.once('connect', () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

/** A net.Server-like listener on the tunnel. */
export class TunnelServer extends EventEmitter {
  private listener: TcpListenHandle | null = null;
  private readonly conns = new Set<TunnelSocket>();
  private readonly handle: Releasable = { release: () => this.close() };
  private boundAddress: string | null = null;
  maxConnections = Infinity;

  constructor(
    private readonly ctx: NetContext,
    onConnection?: (sock: TunnelSocket) => void,
  ) {
    super();
    if (onConnection) this.on('connection', onConnection);
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  /** listen(port[, host][, cb]) or listen({ port, host }[, cb]). Host null/'0.0.0.0'/'::' = every address. */
  listen(port?: number | { port?: number; host?: string }, host?: string | (() => void), cb?: () => void): this {
    if (typeof port === 'object') {
      cb = typeof host === 'function' ? host : cb;
      host = port.host;
      port = port.port;
    }
    if (typeof host === 'function') {
      cb = host;
      host = undefined;
    }
    if (cb) this.once('listening', cb);
    try {
      this.ctx.enter();
      const any = host === undefined || host === '0.0.0.0' || host === '::' || host === '';
      const addr = any ? null : parseAddress(host as string);
      this.listener = this.ctx.tcp.listen(port ?? 0, addr, (ep) => this.accept(ep));
      this.boundAddress = any ? '::' : (host as string);
      this.ctx.handles.add(this.handle);
      this.ctx.leave();
      process.nextTick(() => this.emit('listening'));
    } catch (e) {
      process.nextTick(() => this.emit('error', e));
    }
    return this;
  }

  private accept(ep: TcpEndpoint): void {
    if (this.conns.size >= this.maxConnections) {
      ep.abort();
      return;
    }
    const sock = new TunnelSocket(this.ctx);
    sock.attach(ep, true);
    this.conns.add(sock);
    sock.once('close', () => this.conns.delete(sock));
    this.emit('connection', sock);
  }

  address(): { address: string; family: string; port: number } | null {
    if (!this.listener) return null;
    return { address: this.boundAddress ?? '::', family: isIP(this.boundAddress ?? '::') === 4 ? 'IPv4' : 'IPv6', port: this.listener.port };
  }

  /**
   * Stops accepting; existing connections stay until they end (as net.Server;
   * WireGuard.close() releases them).
   */
  close(cb?: (err?: Error) => void): this {
    const l = this.listener;
    this.listener = null;
    this.ctx.handles.delete(this.handle);
    if (l) l.close();
    if (cb) process.nextTick(() => cb(l ? undefined : Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })));
    if (l) process.nextTick(() => this.emit('close'));
    return this;
  }

  getConnections(cb: (err: Error | null, count: number) => void): void {
    process.nextTick(() => cb(null, this.conns.size));
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

// ---------------------------------------------------------------------------------------- UDP

export interface UdpRemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

/** A dgram.Socket-like UDP socket on the tunnel. */
export class TunnelUdpSocket extends EventEmitter {
  private ep: UdpEndpoint | null = null;
  private closed = false;
  readonly family: 4 | 6;
  private readonly handle: Releasable = { release: () => this.close() };

  constructor(
    private readonly ctx: NetContext,
    type: 'udp4' | 'udp6',
  ) {
    super();
    this.family = type === 'udp4' ? 4 : 6;
  }

  /** bind([port][, address][, cb]) or bind({ port, address }[, cb]). */
  bind(port?: number | { port?: number; address?: string } | (() => void), address?: string | (() => void), cb?: () => void): this {
    if (typeof port === 'function') {
      cb = port;
      port = undefined;
    }
    if (typeof port === 'object') {
      cb = typeof address === 'function' ? address : cb;
      address = port.address;
      port = port.port;
    }
    if (typeof address === 'function') {
      cb = address;
      address = undefined;
    }
    if (this.closed) throw errnoError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    if (this.ep) throw errnoError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    if (cb) this.once('listening', cb);
    try {
      this.ctx.enter();
      const ep = this.ctx.endpoint.stack.udp.createEndpoint(this.family);
      const any = address === undefined || address === '0.0.0.0' || address === '::' || address === '';
      ep.bind(port ?? 0, any ? null : parseAddress(address as string));
      ep.onMessage = (d) => this.onDatagram(d);
      this.ep = ep;
      this.ctx.handles.add(this.handle);
      process.nextTick(() => this.emit('listening'));
    } catch (e) {
      process.nextTick(() => this.emit('error', Object.assign(e as Error, { code: (e as NodeJS.ErrnoException).code ?? 'EADDRINUSE' })));
    }
    return this;
  }

  private onDatagram(d: UdpDatagram): void {
    const msg = Buffer.from(d.payload);
    const rinfo: UdpRemoteInfo = { address: formatAddress(d.src), family: d.src.length === 4 ? 'IPv4' : 'IPv6', port: d.srcPort, size: msg.length };
    this.emit('message', msg, rinfo);
  }

  /** send(msg, port, address[, cb]) or send(msg, offset, length, port, address[, cb]). */
  send(msg: Uint8Array | string, ...args: unknown[]): void {
    let data = typeof msg === 'string' ? Buffer.from(msg) : msg;
    if (typeof args[1] === 'number') {
      const [offset, length] = args as [number, number];
      data = data.subarray(offset, offset + length);
      args = args.slice(2);
    }
    const [port, address, cb] = args as [number, string | undefined, ((err: Error | null, bytes?: number) => void) | undefined];
    const done = (err: Error | null): void => {
      if (cb) process.nextTick(() => cb(err, err ? undefined : data.length));
      else if (err) process.nextTick(() => this.emit('error', err));
    };
    if (this.closed) return done(errnoError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'));
    if (!this.ep) this.bind(0);
    const host = address ?? (this.family === 4 ? '127.0.0.1' : '::1');
    this.ctx.lookup(host, this.family).then(
      ({ address: ip }) => {
        if (this.closed || !this.ep) return done(errnoError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'));
        let r;
        try {
          this.ctx.enter();
          r = this.ep.send(data, parseAddress(ip), port);
          this.ctx.leave();
        } catch (e) {
          return done(e as Error);
        }
        if (r === 'ok') done(null);
        else done(errnoError(r === 'no-route' ? 'ENETUNREACH' : r === 'too-big' ? 'EMSGSIZE' : 'EINVAL', `send ${r}`));
      },
      (e: Error) => done(e),
    );
  }

  address(): { address: string; family: string; port: number } {
    if (!this.ep) throw errnoError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    const a = this.ep.localAddress;
    return {
      address: a ? formatAddress(a) : this.family === 4 ? '0.0.0.0' : '::',
      family: this.family === 4 ? 'IPv4' : 'IPv6',
      port: this.ep.localPort,
    };
  }

  close(cb?: () => void): this {
    if (cb) this.once('close', cb);
    if (this.closed) return this;
    this.closed = true;
    this.ctx.handles.delete(this.handle);
    this.ep?.close();
    this.ep = null;
    process.nextTick(() => this.emit('close'));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

// ---------------------------------------------------------------------------------------- ping

export interface PingOptions {
  /** ms before the promise rejects with ETIMEDOUT (default 1000). */
  timeout?: number;
  /** Payload bytes (default 56, as ping). */
  size?: number;
  ttl?: number;
}

let pingSeq = 0;

/** One echo request; resolves with the round-trip time in ms. */
export async function ping(ctx: NetContext, host: string, opts: PingOptions = {}): Promise<number> {
  const { address, family } = await ctx.lookup(host);
  const dst = parseAddress(address);
  const timeout = opts.timeout ?? 1000;
  return new Promise<number>((resolve, reject) => {
    ctx.enter();
    const icmp = family === 4 ? ctx.endpoint.stack.icmp4 : ctx.endpoint.stack.icmp6;
    let echo: IcmpEchoEndpoint;
    try {
      echo = icmp.openEcho();
    } catch (e) {
      reject(e);
      return;
    }
    const seq = (pingSeq = (pingSeq + 1) & 0xffff);
    const replyType = family === 4 ? 0 : 129;
    const payload = new Uint8Array(opts.size ?? 56);
    for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
    let start = 0;
    const finish = (err: Error | null, rtt?: number): void => {
      clearTimeout(timer);
      echo.onMessage = null;
      echo.close();
      ctx.handles.delete(handle);
      if (err) reject(err);
      else resolve(rtt!);
    };
    const handle: Releasable = { release: () => finish(errnoError('ECANCELED', 'ping cancelled: endpoint closed')) };
    const timer = setTimeout(() => finish(errnoError('ETIMEDOUT', `ping ${host}: no reply within ${timeout} ms`, { syscall: 'ping' })), timeout);
    ctx.handles.add(handle);
    echo.onMessage = (m) => {
      if (m.type === replyType && m.seq === seq) finish(null, performance.now() - start);
    };
    start = performance.now();
    const r = echo.send(dst, seq, payload, { ttl: opts.ttl });
    ctx.leave();
    if (r !== 'ok') finish(errnoError(r === 'no-route' ? 'ENETUNREACH' : 'EINVAL', `ping ${host}: ${r}`, { syscall: 'ping' }));
  });
}

// ---------------------------------------------------------------------------------------- http

/** An http.Agent whose connections go through the tunnel. */
export class TunnelAgent extends http.Agent {
  constructor(
    private readonly ctx: NetContext,
    opts?: http.AgentOptions,
  ) {
    super(opts);
  }

  override createConnection(options: http.ClientRequestArgs, _cb?: (err: Error | null, stream: Duplex) => void): Duplex {
    const host = options.hostname ?? options.host ?? 'localhost';
    const port = Number(options.port ?? 80);
    return createConnection(this.ctx, { host, port });
  }
}
