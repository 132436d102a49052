/**
 * Port forwards in both directions, one generic implementation each for TCP
 * and UDP: listen on one network, dial the target on the other.
 *   [TCPClientTunnel] / [UDPClientTunnel]: listen on the host, dial through the tunnel.
 *   [TCPServerTunnel] / [UDPServerTunnel]: listen on the tunnel, dial on the host.
 */
import type { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import { hostPortText, splice, type NetLike, type ServerLike, type UdpRemote, type UdpSocketLike } from './net-like.js';

export interface ForwardStats {
  accepted: number;
  active: number;
  dialFailed: number;
  /** UDP: datagrams relayed each way, sessions evicted for the limit. */
  datagramsOut: number;
  datagramsIn: number;
  evicted: number;
}

export interface Forward {
  readonly description: string;
  /** Where the forward actually listens (port resolved when 0 was asked). */
  readonly listening: { address: string; port: number };
  readonly stats: ForwardStats;
  close(): Promise<void>;
}

export interface ForwardSpec {
  listenNet: NetLike;
  listenHost: string;
  listenPort: number;
  dialNet: NetLike;
  targetHost: string;
  targetPort: number;
  /** TCP connect timeout (ms, default 10 s). */
  connectTimeout?: number;
  /** Most concurrent TCP connections / UDP sessions (default 1024); beyond it new TCP connections are refused and the oldest UDP session is evicted. */
  maxSessions?: number;
  /** UDP session idle timeout (default 60 s). */
  idleTimeout?: number;
  onError?: (err: Error) => void;
}

function newStats(): ForwardStats {
  return { accepted: 0, active: 0, dialFailed: 0, datagramsOut: 0, datagramsIn: 0, evicted: 0 };
}

function boundAddress(s: ServerLike | UdpSocketLike, fallbackHost: string): { address: string; port: number } {
  const a = s.address();
  if (a && typeof a === 'object') return { address: a.address, port: a.port };
  return { address: fallbackHost, port: 0 };
}

export async function startTcpForward(spec: ForwardSpec): Promise<Forward> {
  const stats = newStats();
  const conns = new Set<Duplex>();
  const description = `tcp ${hostPortText(spec.listenHost, spec.listenPort)} -> ${hostPortText(spec.targetHost, spec.targetPort)}`;
  const maxConns = spec.maxSessions ?? 1024;
  const server = spec.listenNet.createServer((inbound) => {
    if (stats.active >= maxConns) {
      stats.evicted++;
      inbound.destroy();
      return;
    }
    stats.accepted++;
    stats.active++;
    conns.add(inbound);
    inbound.on('error', () => {});
    inbound.once('close', () => {
      conns.delete(inbound);
      stats.active--;
    });
    // Hold inbound data until the far side is connected.
    inbound.pause();
    spec.dialNet.connect({ host: spec.targetHost, port: spec.targetPort, timeout: spec.connectTimeout ?? 10_000 }).then(
      (outbound) => {
        if (inbound.destroyed) {
          outbound.destroy();
          return;
        }
        conns.add(outbound);
        outbound.once('close', () => conns.delete(outbound));
        splice(inbound, outbound);
        inbound.resume();
      },
      (err: Error) => {
        stats.dialFailed++;
        spec.onError?.(new Error(`${description}: ${err.message}`));
        inbound.destroy();
      },
    );
  });
  server.on('error', (e) => spec.onError?.(e));
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject);
    server.listen(spec.listenPort, spec.listenHost, () => resolve());
  });
  return {
    description,
    listening: boundAddress(server, spec.listenHost),
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        conns.clear();
        server.close(() => resolve());
      }),
  };
}

interface UdpSession {
  socket: UdpSocketLike;
  remote: UdpRemote;
  lastUsed: number;
}

export async function startUdpForward(spec: ForwardSpec): Promise<Forward> {
  const stats = newStats();
  const maxSessions = spec.maxSessions ?? 1024;
  const idle = spec.idleTimeout ?? 60_000;
  const description = `udp ${hostPortText(spec.listenHost, spec.listenPort)} -> ${hostPortText(spec.targetHost, spec.targetPort)}`;
  const listenType = isIP(spec.listenHost) === 6 ? 'udp6' : 'udp4';
  const dialType = isIP(spec.targetHost) === 6 ? 'udp6' : 'udp4';
  const listener = spec.listenNet.createSocket(listenType);
  // Insertion-ordered: the first entry is the least recently created (evicted first).
  const sessions = new Map<string, UdpSession>();
  let closed = false;

  const closeSession = (key: string, s: UdpSession): void => {
    sessions.delete(key);
    stats.active--;
    try {
      s.socket.close();
    } catch {
      /* already closed */
    }
  };

  listener.on('error', (e) => spec.onError?.(e));
  listener.on('message', (msg, rinfo) => {
    if (closed) return;
    const key = `${rinfo.address}|${rinfo.port}`;
    let s = sessions.get(key);
    if (!s) {
      if (sessions.size >= maxSessions) {
        const [oldKey, old] = sessions.entries().next().value as [string, UdpSession];
        closeSession(oldKey, old);
        stats.evicted++;
      }
      const sock = spec.dialNet.createSocket(dialType);
      const remote = { address: rinfo.address, port: rinfo.port };
      const session: UdpSession = { socket: sock, remote, lastUsed: Date.now() };
      sock.on('error', (e) => spec.onError?.(e));
      sock.on('message', (reply) => {
        if (closed) return;
        session.lastUsed = Date.now();
        stats.datagramsIn++;
        listener.send(reply, remote.port, remote.address);
      });
      sock.bind(0);
      sessions.set(key, session);
      stats.accepted++;
      stats.active++;
      s = session;
    }
    s.lastUsed = Date.now();
    stats.datagramsOut++;
    s.socket.send(msg, spec.targetPort, spec.targetHost);
  });

  await new Promise<void>((resolve, reject) => {
    listener.on('error', reject);
    listener.bind(spec.listenPort, spec.listenHost, () => resolve());
  });

  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - idle;
      for (const [k, s] of sessions) if (s.lastUsed < cutoff) closeSession(k, s);
    },
    Math.max(1000, Math.min(idle, 30_000)),
  );
  sweeper.unref();

  return {
    description,
    listening: boundAddress(listener, spec.listenHost),
    stats,
    close: async () => {
      closed = true;
      clearInterval(sweeper);
      for (const [k, s] of sessions) closeSession(k, s);
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
