/**
 * The small slice of a network API the services need. The embed API's
 * `WireGuard` object provides it over the tunnel; `hostNet` provides it over
 * the host's own sockets (for the local side of forwards, and for tests).
 */
import net from 'node:net';
import dgram from 'node:dgram';
import type { Duplex } from 'node:stream';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Give up connecting after this many ms (ETIMEDOUT). */
  timeout?: number;
}

export interface ServerLike {
  listen(port: number, host?: string, cb?: () => void): unknown;
  close(cb?: (err?: Error) => void): unknown;
  address(): { address: string; port: number } | string | null;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

export interface UdpRemote {
  address: string;
  port: number;
  family?: string;
}

/** The dgram.Socket subset services use. */
export interface UdpSocketLike {
  bind(port?: number, address?: string, cb?: () => void): unknown;
  send(msg: Uint8Array, port: number, address: string, cb?: (err: Error | null) => void): void;
  on(event: 'message', fn: (msg: Buffer, rinfo: UdpRemote) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  close(cb?: () => void): unknown;
  address(): { address: string; port: number };
}

export interface NetLike {
  /** Resolves once connected. */
  connect(opts: ConnectOptions): Promise<Duplex>;
  createServer(onConnection: (sock: Duplex) => void): ServerLike;
  createSocket(type: 'udp4' | 'udp6'): UdpSocketLike;
}

/** The host's own network (loopback and LAN), as a NetLike. */
export const hostNet: NetLike = {
  connect(opts: ConnectOptions): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: opts.host, port: opts.port });
      let timer: NodeJS.Timeout | undefined;
      if (opts.timeout !== undefined) {
        timer = setTimeout(() => {
          const e = Object.assign(new Error(`connect ETIMEDOUT ${opts.host}:${opts.port}`), { code: 'ETIMEDOUT' });
          s.destroy();
          reject(e);
        }, opts.timeout);
      }
      s.once('connect', () => {
        if (timer) clearTimeout(timer);
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
    });
  },
  createServer(onConnection: (sock: Duplex) => void): ServerLike {
    return net.createServer({ allowHalfOpen: false }, onConnection);
  },
  createSocket(type: 'udp4' | 'udp6'): UdpSocketLike {
    return dgram.createSocket(type);
  },
};

/**
 * Pipes a and b into each other. An orderly end on one side ends the other
 * after its buffered data is written; an error or an abrupt close (no end
 * seen) destroys both.
 */
export function splice(a: Duplex, b: Duplex): void {
  const abort = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', abort);
  b.on('error', abort);
  a.on('close', () => {
    if (!a.readableEnded) b.destroy();
  });
  b.on('close', () => {
    if (!b.readableEnded) a.destroy();
  });
  a.pipe(b);
  b.pipe(a);
}

/** "host:port" for logs, IPv6 in brackets. */
export function hostPortText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
