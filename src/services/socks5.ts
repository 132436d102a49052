/**
 * SOCKS5 proxy ([Socks5] section): listens on the host, CONNECTs and relays
 * UDP through the tunnel. Optional username/password (RFC 1929). BIND is not
 * supported (answered "command not supported").
 */
import type { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { formatAddress, parseAddress } from '../netstack/addr.js';
import { hostNet, splice, type NetLike, type ServerLike, type UdpRemote, type UdpSocketLike } from './net-like.js';
import {
  CMD_CONNECT,
  CMD_UDP_ASSOCIATE,
  METHOD_NONE_ACCEPTABLE,
  METHOD_USER_PASS,
  REP_COMMAND_NOT_SUPPORTED,
  REP_SUCCEEDED,
  Socks5Error,
  buildAuthReply,
  buildMethodSelection,
  buildReply,
  buildUdpDatagram,
  chooseMethod,
  parseGreeting,
  parseRequest,
  parseUdpDatagram,
  parseUserPass,
  replyForError,
  type Socks5Address,
} from './socks5-protocol.js';

export interface Socks5Options {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** Where CONNECT and UDP go (the tunnel). */
  tunnel: NetLike;
  /** Resolves domain names (DNS over the tunnel); without it names go to `tunnel.connect` as given. */
  resolve?: (host: string) => Promise<string>;
  /** The host network for the listening side (default: node:net / node:dgram). */
  local?: NetLike;
  connectTimeout?: number;
  /** Most simultaneous client connections (default 1024). */
  maxClients?: number;
  /** A client must finish the SOCKS handshake within this many ms (default 30 s). */
  handshakeTimeout?: number;
  onError?: (err: Error) => void;
}

export interface Socks5Stats {
  clients: number;
  active: number;
  connects: number;
  connectFailed: number;
  authFailed: number;
  protocolErrors: number;
  udpAssociations: number;
  udpOut: number;
  udpIn: number;
}

export interface Socks5Server {
  readonly listening: { address: string; port: number };
  readonly stats: Socks5Stats;
  close(): Promise<void>;
}

/** Largest handshake we buffer before giving up on a client. */
const MAX_HANDSHAKE = 1024;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function toSocksAddress(host: string, port: number): Socks5Address {
  const fam = isIP(host);
  if (fam === 0) return { type: 'domain', host, port };
  return { type: fam === 4 ? 'ipv4' : 'ipv6', addr: parseAddress(host), port };
}

export async function startSocks5(opts: Socks5Options): Promise<Socks5Server> {
  const local = opts.local ?? hostNet;
  const requireAuth = opts.username !== undefined;
  const maxClients = opts.maxClients ?? 1024;
  const stats: Socks5Stats = { clients: 0, active: 0, connects: 0, connectFailed: 0, authFailed: 0, protocolErrors: 0, udpAssociations: 0, udpOut: 0, udpIn: 0 };
  const live = new Set<Duplex>();
  const cleanups = new Set<() => void>();

  const hostOf = async (a: Socks5Address): Promise<string> => {
    if (a.type !== 'domain') return formatAddress(a.addr);
    return opts.resolve ? opts.resolve(a.host) : a.host;
  };

  const handleClient = (client: Duplex): void => {
    stats.clients++;
    if (live.size >= maxClients) {
      client.destroy();
      return;
    }
    stats.active++;
    live.add(client);
    client.on('error', () => {});
    client.once('close', () => {
      live.delete(client);
      stats.active--;
    });
    let buf: Buffer = Buffer.alloc(0);
    let phase: 'greeting' | 'auth' | 'request' | 'busy' = 'greeting';
    const handshakeTimer = setTimeout(() => {
      if (phase !== 'busy') {
        stats.protocolErrors++;
        client.destroy();
      }
    }, opts.handshakeTimeout ?? 30_000);
    client.once('close', () => clearTimeout(handshakeTimer));

    const fail = (rep: number | null): void => {
      stats.protocolErrors++;
      if (rep !== null && phase === 'request') client.end(buildReply(rep));
      else client.destroy();
      phase = 'busy';
    };

    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length > MAX_HANDSHAKE) return fail(null);
      try {
        for (;;) {
          if (phase === 'greeting') {
            const g = parseGreeting(buf);
            if (!g) return;
            buf = buf.subarray(g.length);
            const m = chooseMethod(g.value, requireAuth);
            client.write(buildMethodSelection(m));
            if (m === METHOD_NONE_ACCEPTABLE) {
              stats.authFailed++;
              client.end();
              phase = 'busy';
              return;
            }
            phase = m === METHOD_USER_PASS ? 'auth' : 'request';
          } else if (phase === 'auth') {
            const u = parseUserPass(buf);
            if (!u) return;
            buf = buf.subarray(u.length);
            const ok = sameSecret(u.value.username, opts.username ?? '') && sameSecret(u.value.password, opts.password ?? '');
            client.write(buildAuthReply(ok));
            if (!ok) {
              stats.authFailed++;
              client.end();
              phase = 'busy';
              return;
            }
            phase = 'request';
          } else if (phase === 'request') {
            const r = parseRequest(buf);
            if (!r) return;
            const rest = buf.subarray(r.length);
            buf = Buffer.alloc(0);
            phase = 'busy';
            clearTimeout(handshakeTimer);
            client.off('data', onData);
            client.pause();
            if (r.value.command === CMD_CONNECT) void doConnect(client, r.value.destination, rest);
            else if (r.value.command === CMD_UDP_ASSOCIATE) void doUdpAssociate(client);
            else client.end(buildReply(REP_COMMAND_NOT_SUPPORTED));
            return;
          } else return;
        }
      } catch (e) {
        if (e instanceof Socks5Error) return fail(e.reply);
        throw e;
      }
    };
    client.on('data', onData);
  };

  const doConnect = async (client: Duplex, dst: Socks5Address, early: Buffer): Promise<void> => {
    stats.connects++;
    let remote: Duplex;
    try {
      const host = await hostOf(dst);
      remote = await opts.tunnel.connect({ host, port: dst.port, timeout: opts.connectTimeout ?? 10_000 });
    } catch (e) {
      stats.connectFailed++;
      if (!client.destroyed) client.end(buildReply(replyForError((e as NodeJS.ErrnoException).code)));
      return;
    }
    if (client.destroyed) {
      remote.destroy();
      return;
    }
    live.add(remote);
    remote.once('close', () => live.delete(remote));
    const la = (remote as { localAddress?: string }).localAddress;
    const lp = (remote as { localPort?: number }).localPort;
    const bound = la && lp !== undefined && isIP(la) ? toSocksAddress(la, lp) : undefined;
    client.write(buildReply(REP_SUCCEEDED, bound));
    if (early.length > 0) remote.write(early);
    splice(client, remote);
    client.resume();
  };

  const doUdpAssociate = async (client: Duplex): Promise<void> => {
    stats.udpAssociations++;
    const relayHost = opts.host === '0.0.0.0' || opts.host === '::' ? opts.host : opts.host;
    const relay = local.createSocket(isIP(relayHost) === 6 ? 'udp6' : 'udp4');
    const tunnelSockets: Partial<Record<4 | 6, UdpSocketLike>> = {};
    let clientAddr: UdpRemote | null = null;
    let ended = false;
    const cleanup = (): void => {
      if (ended) return;
      ended = true;
      cleanups.delete(cleanup);
      try {
        relay.close();
      } catch {
        /* closed */
      }
      for (const s of Object.values(tunnelSockets)) {
        try {
          s?.close();
        } catch {
          /* closed */
        }
      }
    };
    cleanups.add(cleanup);
    relay.on('error', () => cleanup());
    const tunnelSocket = (fam: 4 | 6): UdpSocketLike => {
      let s = tunnelSockets[fam];
      if (!s) {
        s = opts.tunnel.createSocket(fam === 4 ? 'udp4' : 'udp6');
        s.on('error', (e) => opts.onError?.(e));
        s.on('message', (msg, rinfo) => {
          if (ended || !clientAddr) return;
          stats.udpIn++;
          relay.send(buildUdpDatagram(toSocksAddress(rinfo.address, rinfo.port), msg), clientAddr.port, clientAddr.address);
        });
        s.bind(0);
        tunnelSockets[fam] = s;
      }
      return s;
    };
    relay.on('message', (msg, rinfo) => {
      if (ended) return;
      let d;
      try {
        d = parseUdpDatagram(msg);
      } catch {
        stats.protocolErrors++;
        return;
      }
      // Fragmentation is optional in RFC 1928; we drop fragments.
      if (d.fragment !== 0) return;
      clientAddr = { address: rinfo.address, port: rinfo.port };
      const payload = Buffer.from(d.data);
      hostOf(d.destination).then(
        (host) => {
          if (ended) return;
          const fam = isIP(host);
          if (fam === 0) return;
          stats.udpOut++;
          tunnelSocket(fam as 4 | 6).send(payload, d.destination.port, host);
        },
        () => {},
      );
    });
    await new Promise<void>((resolve) => relay.bind(0, relayHost === '0.0.0.0' || relayHost === '::' ? undefined : relayHost, () => resolve()));
    const a = relay.address();
    client.write(buildReply(REP_SUCCEEDED, toSocksAddress(relayHost === '0.0.0.0' ? '127.0.0.1' : relayHost === '::' ? '::1' : a.address, a.port)));
    // The association lives as long as the control connection.
    client.on('close', cleanup);
    client.on('end', () => client.end());
    client.resume();
  };

  const server: ServerLike = local.createServer(handleClient);
  server.on('error', (e) => opts.onError?.(e));
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return {
    listening: addr && typeof addr === 'object' ? { address: addr.address, port: addr.port } : { address: opts.host, port: opts.port },
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of cleanups) c();
        for (const s of live) s.destroy();
        live.clear();
        server.close(() => resolve());
      }),
  };
}
