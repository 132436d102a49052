/**
 * The Node runtime of a netstack-mode endpoint and the embed API's
 * `WireGuard` class: a UDP bind, one timer armed at the endpoint's next
 * deadline, the UAPI socket, and net/dgram/http-style sockets over the stack.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { lookup as hostLookup } from 'node:dns/promises';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type CryptoProvider } from '../crypto/index.js';
import { bestCrypto } from './native-crypto.js';
import { NetstackEndpoint } from '../endpoint/netstack-endpoint.js';
import { DNS_TYPE_A, DNS_TYPE_AAAA, buildQuery, parseResponse } from '../endpoint/dns.js';
import { formatAddress, parseAddress, parsePrefix } from '../netstack/addr.js';
import type { IcmpMode } from '../policy/reachability.js';
import { handleUapiRequest } from '../wireguard/uapi.js';
import type { Peer } from '../wireguard/peer.js';
import { parseConfig } from '../config/parse.js';
import { formatPrefix } from '../config/ip.js';
import type { WgConfig } from '../config/types.js';
import { EndpointReresolver, type PeerHealth } from '../config/reresolve.js';
import { createBind, type UdpBind } from './bind.js';
import { UapiServer } from './uapi-server.js';
import {
  TunnelAgent,
  TunnelServer,
  TunnelSocket,
  TunnelUdpSocket,
  connect as tunnelConnect,
  createConnection as tunnelCreateConnection,
  ping as tunnelPing,
  type NetContext,
  type PingOptions,
  type Releasable,
  type TunnelConnectOptions,
} from './net.js';
import { createTcpOps, type TcpOpsWithStack } from '../endpoint/tcp-ops.js';
import type { NetLike } from '../services/net-like.js';
import { hostNet } from '../services/net-like.js';
import { startSocks5, type Socks5Server } from '../services/socks5.js';
import { startTcpForward, startUdpForward, type Forward } from '../services/forwards.js';
import { startStatusPage, type StatusPage } from '../services/status.js';

export interface PeerOptions {
  /** Base64 (as in configs) or 32 raw bytes. */
  publicKey: string | Uint8Array;
  presharedKey?: string | Uint8Array;
  allowedIPs: string[];
  /**
   * "host:port", "[v6]:port" or { host, port }. A hostname is resolved with the
   * host's resolver when the peer is added, and again (at most every 20 s) while
   * the peer's handshakes keep failing; a changed answer replaces the endpoint
   * ('endpoint-change' event).
   */
  endpoint?: string | { host: string; port: number };
  persistentKeepalive?: number;
}

export interface WireGuardOptions {
  privateKey: string | Uint8Array;
  /** UDP port (0 or absent: any free port). */
  listenPort?: number;
  /** SO_MARK for the UDP socket (needs the native bind and CAP_NET_ADMIN). */
  fwmark?: number;
  /** Interface addresses, e.g. "10.0.0.1/24". */
  addresses: string[];
  peers?: PeerOptions[];
  mtu?: number;
  icmp?: IcmpMode;
  promiscuous?: boolean;
  forward?: boolean;
  /** DNS servers inside the tunnel, used by `lookup` and name-based connects. */
  dns?: string[];
  /** Interface name (UAPI socket name). */
  name?: string;
  /** Serve the UAPI socket: true = the default path for `name`, a string = that path. */
  uapi?: boolean | string;
  bind?: 'auto' | 'native' | 'dgram';
  crypto?: CryptoProvider;
  /** hostname → address for peer endpoints (default: the host's resolver, dns.lookup). */
  resolveHost?: (host: string) => Promise<string>;
}

/** 'endpoint-change': a peer's endpoint hostname was looked up again and answered differently. */
export interface EndpointChangeEvent {
  publicKey: string;
  host: string;
  from: string | null;
  to: string;
}

/** 'resolve-error': looking a peer's endpoint hostname up again failed (the old address stays). */
export interface ResolveErrorEvent {
  publicKey: string;
  host: string;
  error: Error;
}

export interface PeerInfo {
  publicKey: string;
  endpoint: string | null;
  allowedIPs: string[];
  /** ms since the Unix epoch; 0 = never. */
  lastHandshake: number;
  txBytes: number;
  rxBytes: number;
  persistentKeepalive: number;
  /** A session from a handshake less than 180 s old. */
  up: boolean;
}

export interface HandshakeEvent {
  publicKey: string;
  endpoint: string | null;
}

function b64(k: Uint8Array): string {
  return Buffer.from(k).toString('base64');
}

function keyBytes(k: string | Uint8Array, what: string): Uint8Array {
  const b = typeof k === 'string' ? new Uint8Array(Buffer.from(k.trim(), 'base64')) : k;
  if (b.length !== 32) throw new TypeError(`${what}: expected a 32-byte key (base64)`);
  return b;
}

function parseEndpointText(e: string | { host: string; port: number }): { host: string; port: number } {
  if (typeof e !== 'string') return e;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(e) ?? /^([^:]+):(\d+)$/.exec(e);
  if (!m) throw new TypeError(`endpoint: expected host:port, got ${e}`);
  return { host: m[1]!, port: Number(m[2]) };
}

function endpointText(e: { address: string; port: number } | null): string | null {
  if (!e) return null;
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Where the UAPI socket of a netstack endpoint lives (design.md). */
export function defaultUapiPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (uid === 0) return join('/var/run/wireguard', `${name}.sock`);
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'wgts', `${name}.sock`);
  return join(`/tmp/wgts-${uid}`, `${name}.sock`);
}

/** Wall-clock milliseconds on a monotonic clock (what the Device expects). */
export function clockNow(): number {
  return performance.timeOrigin + performance.now();
}

export class WireGuard extends EventEmitter {
  readonly endpoint: NetstackEndpoint;
  readonly name: string;
  private readonly bind: UdpBind;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private scheduled = false;
  private readonly peerWatch: NodeJS.Timeout;
  private readonly upPeers = new Set<Peer>();
  private readonly handles = new Set<Releasable>();
  private readonly dns: string[];
  private uapiServer: UapiServer | null = null;
  private readonly services: { close(): Promise<void> }[] = [];
  private closed = false;
  private closing: Promise<void> | null = null;
  private dnsId = 1;
  private readonly resolveHost: (host: string) => Promise<string>;
  /** Peers whose endpoint was given as a hostname (re-resolved while handshakes fail). */
  private readonly reresolver = new EndpointReresolver([], 0);
  private seenCallbackErrors = 0;
  private warnedCallbackErrors = 0;
  /** The NetContext the sockets use. */
  private readonly ctx: NetContext;
  private readonly tcpOps: TcpOpsWithStack;

  private constructor(opts: WireGuardOptions, bind: UdpBind) {
    super();
    this.name = opts.name ?? 'wgts';
    this.bind = bind;
    this.dns = opts.dns ?? [];
    this.resolveHost = opts.resolveHost ?? (async (h) => (await hostLookup(h)).address);
    this.endpoint = new NetstackEndpoint({
      sendDatagram: (data, to) => this.bind.send(data, to),
      onHandshake: (peer) => this.onHandshake(peer),
      addresses: opts.addresses,
      mtu: opts.mtu,
      icmp: opts.icmp,
      promiscuous: opts.promiscuous,
      forward: opts.forward,
      crypto: opts.crypto ?? bestCrypto(),
      stack: { seed: (Math.random() * 0x7fffffff) | 0 },
    });
    if (opts.icmp === 'all') process.emitWarning('wgts: ICMP = all answers pings for every address, reachable or not (debugging only)');
    this.tcpOps = createTcpOps(this.endpoint);
    const self = this;
    this.ctx = {
      endpoint: this.endpoint,
      handles: this.handles,
      enter: () => self.enter(),
      leave: () => self.leave(),
      lookup: (host, family) => self.lookup(host, family),
      get tcp() {
        return self.tcpOps;
      },
    };
    this.peerWatch = setInterval(() => this.checkPeers(), 1000);
    this.peerWatch.unref();
  }

  /** Starts an endpoint from options. */
  static async create(opts: WireGuardOptions): Promise<WireGuard> {
    const bind = createBind(opts.bind);
    const wg = new WireGuard(opts, bind);
    try {
      const device = wg.endpoint.device;
      device.setPrivateKey(keyBytes(opts.privateKey, 'privateKey'));
      // One receive batch = one TCP batch: ACKs for in-order data go out once at its end.
      const tcp = wg.tcpOps.tcp;
      bind.onReceive(
        (data, from) => {
          tcp.beginBatch();
          wg.endpoint.receiveDatagram(data, from, clockNow());
        },
        () => {
          tcp.endBatch();
          wg.leave();
        },
      );
      // The socket first: adding a peer with PersistentKeepalive sends at once.
      device.listenPort = await bind.open(opts.listenPort ?? 0, opts.fwmark ?? 0);
      device.fwmark = opts.fwmark ?? 0;
      for (const p of opts.peers ?? []) await wg.addPeer(p);
      if (opts.uapi) await wg.serveUapi(typeof opts.uapi === 'string' ? opts.uapi : defaultUapiPath(wg.name));
      wg.leave();
      return wg;
    } catch (e) {
      await wg.close();
      throw e;
    }
  }

  /** Starts an endpoint from wg-quick config text, including its [Socks5]/tunnel/[Netstack] sections. */
  static async fromConfig(text: string, opts: { fileName?: string; name?: string; uapi?: boolean | string; bind?: 'auto' | 'native' | 'dgram' } = {}): Promise<WireGuard> {
    const cfg = parseConfig(text, opts.fileName ?? '<config>');
    return WireGuard.fromParsedConfig(cfg, opts);
  }

  static async fromParsedConfig(
    cfg: WgConfig,
    opts: { name?: string; uapi?: boolean | string; bind?: 'auto' | 'native' | 'dgram'; resolveHost?: (host: string) => Promise<string> } = {},
  ): Promise<WireGuard> {
    const iface = cfg.interface;
    if (!iface.privateKey) throw new TypeError('config: [Interface] has no PrivateKey');
    const wg = await WireGuard.create({
      privateKey: iface.privateKey,
      listenPort: iface.listenPort,
      fwmark: iface.fwMark,
      addresses: iface.addresses.map((a) => formatPrefix(a)),
      mtu: iface.mtu,
      dns: iface.dns,
      icmp: cfg.netstack.icmp,
      promiscuous: cfg.netstack.promiscuous,
      forward: cfg.netstack.forward,
      name: opts.name,
      uapi: opts.uapi,
      bind: opts.bind,
      resolveHost: opts.resolveHost,
      peers: cfg.peers.map((p) => ({
        publicKey: p.publicKey,
        presharedKey: p.presharedKey,
        allowedIPs: p.allowedIPs.map((a) => formatPrefix(a)),
        endpoint: p.endpoint,
        persistentKeepalive: p.persistentKeepalive,
      })),
    });
    try {
      await wg.startServices(cfg);
    } catch (e) {
      await wg.close();
      throw e;
    }
    return wg;
  }

  /** The services of a config's wgts sections. */
  private async startServices(cfg: WgConfig): Promise<void> {
    const tunnel = this.netLike();
    const onError = (e: Error): void => void this.emit('service-error', e);
    for (const s of cfg.socks5) {
      const srv: Socks5Server = await startSocks5({
        host: s.bindAddress.host,
        port: s.bindAddress.port,
        username: s.username,
        password: s.password,
        tunnel,
        resolve: async (h) => (await this.lookup(h)).address,
        onError,
      });
      this.services.push(srv);
    }
    const fwd = async (start: typeof startTcpForward, listenNet: NetLike, host: string, port: number, dialNet: NetLike, target: { host: string; port: number }): Promise<void> => {
      const f: Forward = await start({ listenNet, listenHost: host, listenPort: port, dialNet, targetHost: target.host, targetPort: target.port, onError });
      this.services.push(f);
    };
    for (const t of cfg.tcpClientTunnels) await fwd(startTcpForward, hostNet, t.bindAddress.host, t.bindAddress.port, tunnel, t.target);
    for (const t of cfg.udpClientTunnels) await fwd(startUdpForward, hostNet, t.bindAddress.host, t.bindAddress.port, tunnel, t.target);
    for (const t of cfg.tcpServerTunnels) await fwd(startTcpForward, tunnel, '0.0.0.0', t.listenPort, hostNet, t.target);
    for (const t of cfg.udpServerTunnels) await fwd(startUdpForward, tunnel, '0.0.0.0', t.listenPort, hostNet, t.target);
    if (cfg.netstack.status) {
      const page: StatusPage = await startStatusPage(tunnel, cfg.netstack.status.host, cfg.netstack.status.port, () => this.status());
      this.services.push(page);
    }
  }

  // ------------------------------------------------------------------ clock and timer

  private enter(): number {
    if (this.closed) throw Object.assign(new Error('WireGuard endpoint is closed'), { code: 'ERR_WGTS_CLOSED' });
    const now = clockNow();
    this.endpoint.tick(now);
    return now;
  }

  /**
   * Exceptions thrown by application callbacks (a socket 'data' handler runs
   * inside the packet path) are caught by the stack so one bad callback cannot
   * break it. They must not vanish: 'error' on this object when someone
   * listens, else a process warning (the first few).
   */
  private surfaceCallbackErrors(): void {
    const st = this.endpoint.stack;
    if (st.callbackErrors === this.seenCallbackErrors) return;
    this.seenCallbackErrors = st.callbackErrors;
    const e = st.lastCallbackError instanceof Error ? st.lastCallbackError : new Error(String(st.lastCallbackError));
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else if (this.warnedCallbackErrors++ < 5) process.emitWarning(`wgts: an application callback threw inside the network stack: ${e.stack ?? e.message}`);
  }

  /** After any activity: flush datagrams, re-arm the timer (coalesced). */
  private leave(): void {
    if (this.closed) return;
    this.bind.flush();
    this.surfaceCallbackErrors();
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.arm();
    });
  }

  private arm(): void {
    if (this.closed) return;
    const at = this.endpoint.nextDeadline();
    if (at === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    const delay = Math.max(0, Math.min(2 ** 31 - 1, Math.ceil(at - clockNow())));
    this.timer = setTimeout(() => this.onTimer(), delay);
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.closed) return;
    this.endpoint.tick(clockNow());
    this.bind.flush();
    this.surfaceCallbackErrors();
    this.arm();
  }

  // ------------------------------------------------------------------ peers and events

  private onHandshake(peer: Peer): void {
    const ev: HandshakeEvent = { publicKey: b64(peer.publicKey), endpoint: endpointText(peer.endpoint) };
    // Emitted outside the packet path so listeners cannot disturb it.
    queueMicrotask(() => {
      this.emit('handshake', ev);
      if (!this.upPeers.has(peer)) {
        this.upPeers.add(peer);
        this.emit('peer-up', ev);
      }
    });
  }

  private checkPeers(): void {
    if (this.closed) return;
    const now = clockNow();
    for (const peer of this.upPeers) {
      if (peer.removed || !peer.hasLiveSession(now)) {
        this.upPeers.delete(peer);
        this.emit('peer-down', { publicKey: b64(peer.publicKey), endpoint: endpointText(peer.endpoint) });
      }
    }
    if (this.reresolver.size > 0) this.reresolveEndpoints(now);
  }

  private peerHealth(key: string, now: number): PeerHealth | undefined {
    const peer = this.endpoint.device.getPeer(keyBytes(key, 'peer publicKey'));
    if (!peer || peer.removed) return undefined;
    // Trying = an initiation went out lately (retransmissions come every 5 s while unanswered);
    // with a stale or missing handshake that means the handshakes are failing.
    return { lastHandshake: peer.lastHandshakeTime, trying: now - peer.handshake.lastSentHandshake < 15_000 };
  }

  /** Looks hostnames of failing peers up again (reresolve-dns.sh, built in). */
  checkEndpointNames(now = clockNow()): void {
    if (!this.closed) this.reresolveEndpoints(now);
  }

  private reresolveEndpoints(now: number): void {
    for (const t of this.reresolver.due(now, (k) => this.peerHealth(k, now))) {
      this.resolveHost(t.host).then(
        (address) => {
          this.reresolver.done(t.key);
          if (this.closed) return;
          const peer = this.endpoint.device.getPeer(keyBytes(t.key, 'peer publicKey'));
          if (!peer || peer.removed) return;
          const from = endpointText(peer.endpoint);
          const to = endpointText({ address, port: t.port })!;
          if (from === to) return;
          peer.setEndpoint({ address, port: t.port });
          const ev: EndpointChangeEvent = { publicKey: t.key, host: t.host, from, to };
          this.emit('endpoint-change', ev);
          // Try the new address now rather than at the next retransmission.
          this.enter();
          this.endpoint.device.sendKeepalive(peer, clockNow());
          this.leave();
        },
        (e: unknown) => {
          this.reresolver.done(t.key);
          if (this.closed) return;
          const ev: ResolveErrorEvent = { publicKey: t.key, host: t.host, error: e instanceof Error ? e : new Error(String(e)) };
          this.emit('resolve-error', ev);
        },
      );
    }
  }

  /** Adds or updates a peer. */
  async addPeer(p: PeerOptions): Promise<void> {
    const device = this.endpoint.device;
    const peer = device.addPeer(keyBytes(p.publicKey, 'peer publicKey'));
    if (p.presharedKey) peer.setPresharedKey(keyBytes(p.presharedKey, 'presharedKey'));
    for (const a of p.allowedIPs) {
      const pre = parsePrefix(a);
      device.allowedIPs.insert(pre.addr, pre.bits, peer);
    }
    if (p.endpoint) {
      const e = parseEndpointText(p.endpoint);
      const address = isIP(e.host) ? e.host : await this.resolveHost(e.host);
      peer.setEndpoint({ address, port: e.port });
      const key = b64(peer.publicKey);
      this.reresolver.forget(key);
      if (!isIP(e.host)) this.reresolver.add({ key, host: e.host, port: e.port }, clockNow());
    }
    if (p.persistentKeepalive) peer.setPersistentKeepalive(p.persistentKeepalive, clockNow());
    this.leave();
  }

  removePeer(publicKey: string | Uint8Array): boolean {
    const bytes = keyBytes(publicKey, 'peer publicKey');
    this.reresolver.forget(b64(bytes));
    const ok = this.endpoint.device.removePeer(bytes);
    this.leave();
    return ok;
  }

  get publicKey(): string {
    return b64(this.endpoint.device.publicKey!);
  }

  get listenPort(): number {
    return this.bind.port;
  }

  peers(): PeerInfo[] {
    const now = clockNow();
    const out: PeerInfo[] = [];
    for (const p of this.endpoint.device.peers()) {
      out.push({
        publicKey: b64(p.publicKey),
        endpoint: endpointText(p.endpoint),
        allowedIPs: this.endpoint.device.allowedIPs.entriesFor(p).map((e) => `${formatAddress(e.ip)}/${e.bits}`),
        lastHandshake: p.lastHandshakeTime,
        txBytes: p.txBytes,
        rxBytes: p.rxBytes,
        persistentKeepalive: p.persistentKeepalive,
        up: p.hasLiveSession(now),
      });
    }
    return out;
  }

  /** Counters: device, ICMP policy decisions, glue, stack, UDP bind. */
  stats(): Record<string, unknown> {
    const ep = this.endpoint;
    const s = ep.stack.stats;
    return {
      icmp: ep.policy.counters(),
      device: ep.device.stats,
      endpoint: { ...ep.stats },
      stack: { ipv4: s.ipv4, ipv6: s.ipv6, icmpv4: s.icmpv4, icmpv6: s.icmpv6, udp: s.udp },
      tcp: { ...this.tcpOps.tcp.stats, ...this.tcpOps.protocol.stats, connections: this.tcpOps.tcp.connectionCount },
      bind: { kind: this.bind.kind, ...this.bind.stats },
    };
  }

  /** What the status page shows. */
  status(): Record<string, unknown> {
    return { interface: this.name, publicKey: this.publicKey, listenPort: this.listenPort, peers: this.peers(), stats: this.stats() };
  }

  // ------------------------------------------------------------------ sockets

  /** Resolves once connected (ECONNREFUSED / ETIMEDOUT otherwise). `connect(port, host)` works too. */
  connect(opts: TunnelConnectOptions): Promise<TunnelSocket>;
  connect(port: number, host: string): Promise<TunnelSocket>;
  connect(opts: TunnelConnectOptions | number, host?: string): Promise<TunnelSocket> {
    return tunnelConnect(this.ctx, typeof opts === 'number' ? { port: opts, host: host ?? 'localhost' } : opts);
  }

  /** Like net.createConnection: the socket at once, 'connect' later. */
  createConnection(opts: TunnelConnectOptions, onConnect?: () => void): TunnelSocket;
  createConnection(port: number, host: string, onConnect?: () => void): TunnelSocket;
  createConnection(opts: TunnelConnectOptions | number, host?: string | (() => void), onConnect?: () => void): TunnelSocket {
    if (typeof opts === 'number') return tunnelCreateConnection(this.ctx, { port: opts, host: typeof host === 'string' ? host : 'localhost' }, onConnect);
    return tunnelCreateConnection(this.ctx, opts, typeof host === 'function' ? host : onConnect);
  }

  createServer(onConnection?: (sock: TunnelSocket) => void): TunnelServer {
    return new TunnelServer(this.ctx, onConnection);
  }

  createSocket(type: 'udp4' | 'udp6'): TunnelUdpSocket {
    return new TunnelUdpSocket(this.ctx, type);
  }

  ping(host: string, opts?: PingOptions): Promise<number> {
    return tunnelPing(this.ctx, host, opts);
  }

  httpAgent(opts?: import('node:http').AgentOptions): TunnelAgent {
    const agent = new TunnelAgent(this.ctx, opts);
    this.handles.add({ release: () => agent.destroy() });
    return agent;
  }

  /** The tunnel as a NetLike (what services use). */
  netLike(): NetLike {
    return {
      connect: (o) => this.connect(o) as Promise<Duplex>,
      createServer: (h) => this.createServer(h),
      createSocket: (t) => this.createSocket(t),
    };
  }

  /** DNS over the tunnel to the configured servers; IP literals pass through. */
  async lookup(host: string, family?: 4 | 6): Promise<{ address: string; family: 4 | 6 }> {
    const lit = isIP(host);
    if (lit) return { address: host, family: lit as 4 | 6 };
    if (this.dns.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (no DNS servers configured for the tunnel)`), { code: 'ENOTFOUND', hostname: host });
    const types = family === 6 ? [DNS_TYPE_AAAA] : family === 4 ? [DNS_TYPE_A] : [DNS_TYPE_A, DNS_TYPE_AAAA];
    for (const server of this.dns) {
      for (const type of types) {
        for (let attempt = 0; attempt < 2; attempt++) {
          const r = await this.dnsQuery(server, host, type, 2000).catch(() => null);
          if (r === null) continue;
          if (r.length > 0) return { address: formatAddress(r[0]!), family: type === DNS_TYPE_A ? 4 : 6 };
          break;
        }
      }
    }
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
  }

  private dnsQuery(server: string, name: string, type: number, timeout: number): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      const id = (this.dnsId = (this.dnsId * 1103515245 + 12345) & 0xffff);
      const sock = this.createSocket(isIP(server) === 6 ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        sock.close();
        reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' }));
      }, timeout);
      sock.on('message', (msg) => {
        try {
          const r = parseResponse(msg, id, type);
          if (!r) return;
          clearTimeout(timer);
          sock.close();
          resolve(r.addresses);
        } catch {
          /* garbage: keep waiting */
        }
      });
      sock.on('error', () => {});
      sock.send(buildQuery(id, name, type), 53, server);
    });
  }

  // ------------------------------------------------------------------ UAPI

  /** Handles one UAPI request text (what the socket serves). */
  uapi(request: string): string {
    const device = this.endpoint.device;
    const before = device.listenPort;
    const mark = device.fwmark;
    // An endpoint set over UAPI (`wg set … endpoint`) wins over the config's hostname.
    const tracked = this.reresolver.size > 0 && request.includes('endpoint=') ? this.trackedEndpoints() : null;
    const reply = handleUapiRequest(device, request, this.enter());
    if (tracked) {
      const now = this.trackedEndpoints();
      for (const [key, ep] of tracked) if (now.get(key) !== ep) this.reresolver.forget(key);
    }
    if (device.fwmark !== mark) this.bind.setMark(device.fwmark);
    if (device.listenPort !== before && device.listenPort !== this.bind.port) void this.rebind(device.listenPort);
    this.leave();
    return reply;
  }

  private trackedEndpoints(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const key of this.reresolver.keys()) {
      const peer = this.endpoint.device.getPeer(keyBytes(key, 'peer publicKey'));
      out.set(key, peer && !peer.removed ? endpointText(peer.endpoint) : null);
    }
    return out;
  }

  private async rebind(port: number): Promise<void> {
    try {
      await this.bind.close();
      const got = await this.bind.open(port);
      this.endpoint.device.listenPort = got;
    } catch (e) {
      this.emit('error', e);
    }
  }

  private async serveUapi(path: string): Promise<void> {
    this.uapiServer = await UapiServer.listen((req) => this.uapi(req), { path });
  }

  get uapiPath(): string | null {
    return this.uapiServer?.path ?? null;
  }

  // ------------------------------------------------------------------ shutdown

  /** Releases every socket, timer and service. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      for (const s of this.services.splice(0)) await s.close().catch(() => {});
      for (const h of [...this.handles]) {
        try {
          h.release();
        } catch {
          /* keep closing */
        }
      }
      this.handles.clear();
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      clearInterval(this.peerWatch);
      if (this.uapiServer) await this.uapiServer.close().catch(() => {});
      this.uapiServer = null;
      await this.bind.close().catch(() => {});
      this.emit('close');
    })();
    return this.closing;
  }
}

/** Levelled log sink for runNetstackEndpoint (src/cli/tun-exec.ts's Logger fits). */
export interface RunLogger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  verbose(msg: string): void;
  debug(msg: string): void;
}

export interface RunOptions {
  interfaceName: string;
  /** Log lines, all levels, each prefixed "wgts: " (default: stderr). Ignored when `logger` is given. */
  log?: (line: string) => void;
  /** Levelled logging (wins over `log`). */
  logger?: RunLogger;
  /** Serve the UAPI socket and write a pid file next to it (default true). */
  uapi?: boolean;
  /** UAPI socket path (default: defaultUapiPath(interfaceName)). */
  uapiPath?: string;
  bind?: 'auto' | 'native' | 'dgram';
  /** Resolves to stop (default: SIGINT/SIGTERM). */
  stop?: Promise<void>;
  /** hostname → address for peer endpoints (default: dns.lookup). */
  resolveHost?: (host: string) => Promise<string>;
}

function plainLogger(log: (line: string) => void): RunLogger {
  const line = (m: string): void => log(`wgts: ${m}`);
  return { error: line, warn: line, info: line, verbose: line, debug: line };
}

function short(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}…` : key;
}

/**
 * `wgts up` in netstack mode: runs the endpoint of `config` until SIGINT /
 * SIGTERM (or `opts.stop`), serving the UAPI socket; resolves with the exit code.
 * Logs: start, stop and peers coming up / going stale at info; every handshake at
 * verbose; endpoint re-resolutions at info, failed ones at warn; errors at error.
 */
export async function runNetstackEndpoint(config: WgConfig, opts: RunOptions): Promise<number> {
  const log = opts.logger ?? plainLogger(opts.log ?? ((l: string) => process.stderr.write(l + '\n')));
  const name = opts.interfaceName;
  // Signals are taken from the start: a SIGTERM that arrives once the UAPI socket exists but
  // before the endpoint is fully up still takes it down cleanly (socket and pid file removed)
  // instead of killing the process mid-way. A second signal while starting exits at once.
  let signal: NodeJS.Signals | null = null;
  let started = false;
  let wake: (() => void) | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signal !== null && !started) process.exit(130);
    signal ??= sig;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const releaseSignals = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  let wg: WireGuard;
  try {
    const uapi = opts.uapi === false ? false : (opts.uapiPath ?? true);
    wg = await WireGuard.fromParsedConfig(config, { name, uapi, bind: opts.bind, resolveHost: opts.resolveHost });
  } catch (e) {
    releaseSignals();
    log.error(`${name}: ${(e as Error).message}`);
    return 1;
  }
  started = true;
  let pidFile: string | null = null;
  if (wg.uapiPath) {
    pidFile = wg.uapiPath.replace(/\.sock$/, '.pid');
    try {
      mkdirSync(join(pidFile, '..'), { recursive: true });
      writeFileSync(pidFile, `${process.pid}\n`);
    } catch (e) {
      log.warn(`${name}: cannot write the pid file ${pidFile} (\`wgts down\` will not find this process): ${(e as Error).message}`);
      pidFile = null;
    }
  }
  log.info(`${name} up (netstack): public key ${wg.publicKey}, listening on UDP ${wg.listenPort}`);
  if (wg.uapiPath) log.info(`UAPI socket ${wg.uapiPath}`);
  wg.on('handshake', (e: HandshakeEvent) => log.verbose(`handshake with ${e.publicKey} (${e.endpoint ?? 'no endpoint'})`));
  wg.on('peer-up', (e: HandshakeEvent) => log.info(`peer ${short(e.publicKey)} up: handshake with ${e.publicKey} (${e.endpoint ?? 'no endpoint'})`));
  wg.on('peer-down', (e: HandshakeEvent) => log.info(`peer ${short(e.publicKey)} down: no session for 180 s (last endpoint ${e.endpoint ?? 'none'})`));
  wg.on('endpoint-change', (e: EndpointChangeEvent) => log.info(`peer ${short(e.publicKey)}: handshakes failing; ${e.host} re-resolved, endpoint ${e.from ?? 'none'} → ${e.to}`));
  wg.on('resolve-error', (e: ResolveErrorEvent) => log.warn(`peer ${short(e.publicKey)}: handshakes failing; cannot resolve ${e.host} again: ${e.error.message}`));
  wg.on('service-error', (e: Error) => log.warn(e.message));
  wg.on('error', (e: Error) => log.error(e.message));
  wg.once('close', releaseSignals);
  if (signal === null) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      opts.stop?.then(resolve, resolve);
    });
  }
  wake = null;
  // A second signal while closing: the default action (the process ends).
  releaseSignals();
  if (signal) log.info(`${signal}: taking ${name} down`);
  await wg.close();
  if (pidFile) rmSync(pidFile, { force: true });
  log.info(`${name} down`);
  return 0;
}
