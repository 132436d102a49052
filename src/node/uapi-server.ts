/**
 * The UAPI unix socket (/var/run/wireguard/IFACE.sock) that `wg` talks to.
 * Framing only: a request is everything up to and including the first empty
 * line ("get=1\n\n", "set=1\n...\n\n"); the text goes to the handler (H2's
 * handleUapiRequest) and its answer is written back. Several requests per
 * connection, requests split across reads, many clients at once. A request
 * larger than the limit, or one that is not get/set, is answered with
 * errno=-22 and the connection closed — other clients never notice.
 *
 * Two implementations with the same behaviour: the addon's UapiListener
 * (native/uapi.cc: accept, framing and writes on the event loop without a
 * node:net stream per client — `wg set` connects twice, and a cold node:net
 * connection costs several hundred µs) when the addon is loaded, else node:net.
 * WGTS_UAPI_NET=1 forces node:net.
 */
import net from 'node:net';
import { chmodSync, mkdirSync, unlinkSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadNative, type NativeUapiListener } from './native.js';

export const UAPI_DIRECTORY = '/var/run/wireguard';
export const EINVAL_RESPONSE = 'errno=-22\n\n';

/**
 * Answers one request: the answer text, or a Promise of it. A handler may instead send its
 * answer early through `answerNow` and keep working before it returns (the daemon answers a
 * validated `set` and then applies it): the client reads the answer at once, and its next
 * request is handled only after the handler has returned. The return value is then ignored.
 */
export type UapiHandler = (request: string, answerNow: (answer: string) => void) => string | Promise<string>;

export interface UapiServerOptions {
  /** Socket path; defaults to /var/run/wireguard/IFACE.sock. */
  path?: string;
  /** Interface name, for the default path. */
  iface?: string;
  /** Listen on an inherited, already listening descriptor (WG_UAPI_FD) instead of a path. */
  fd?: number;
  /** Largest request in bytes (default 64 MiB: room for `wg setconf` with hundreds of thousands of AllowedIPs). */
  maxRequestBytes?: number;
  /** Most simultaneous connections (default 64); more are closed at once. */
  maxConnections?: number;
  /** 'native' (the addon's listener; an error when unavailable), 'net' (node:net), or the default: native when available unless WGTS_UAPI_NET=1. */
  implementation?: 'native' | 'net';
}

/** The addon's UapiListener constructor when it may be used, else undefined. */
function nativeListener(opts: UapiServerOptions): NonNullable<ReturnType<typeof loadNativeListener>> | undefined {
  if (opts.implementation === 'net') return undefined;
  const ctor = loadNativeListener();
  if (opts.implementation === 'native') {
    if (!ctor) throw new Error('UapiServer: the native listener is not available (addon not loaded)');
    return ctor;
  }
  return process.env.WGTS_UAPI_NET === '1' ? undefined : ctor;
}

function loadNativeListener() {
  const r = loadNative();
  return r.ok ? r.addon.UapiListener : undefined;
}

export function uapiSocketPath(iface: string, directory = UAPI_DIRECTORY): string {
  return join(directory, `${iface}.sock`);
}

export class UapiServer {
  readonly path: string | undefined;
  /** 'native' or 'net': which implementation serves. */
  readonly implementation: 'native' | 'net';
  private readonly server: net.Server | undefined;
  private readonly native: NativeUapiListener | undefined;
  private readonly maxRequest: number;
  private readonly connections = new Set<net.Socket>();
  private closed = false;

  private constructor(server: net.Server | undefined, native: NativeUapiListener | undefined, path: string | undefined, maxRequest: number) {
    this.server = server;
    this.native = native;
    this.implementation = native ? 'native' : 'net';
    this.path = path;
    this.maxRequest = maxRequest;
  }

  /** Creates the socket (directory 0755, socket 0700 as wireguard-go leaves it) and starts serving. */
  static async listen(handler: UapiHandler, opts: UapiServerOptions): Promise<UapiServer> {
    const maxRequest = opts.maxRequestBytes ?? 64 * 1024 * 1024;
    const maxConnections = opts.maxConnections ?? 64;
    let path: string | undefined;
    if (opts.fd === undefined) {
      path = opts.path ?? (opts.iface ? uapiSocketPath(opts.iface) : undefined);
      if (!path) throw new Error('UapiServer needs a path, an iface or an fd');
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      await removeStaleSocket(path);
    }
    const Native = nativeListener(opts);
    if (Native) {
      const listener = new Native(opts.fd ?? path!, maxRequest, maxConnections);
      try {
        if (path) chmodSync(path, 0o700);
        listener.start((id, request) => answerNative(listener, handler, id, request));
      } catch (err) {
        listener.close();
        throw err;
      }
      return new UapiServer(undefined, listener, path, maxRequest);
    }
    let self: UapiServer | undefined;
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      if (!self || self.closed || self.connections.size >= maxConnections) {
        sock.destroy();
        return;
      }
      self.serve(sock, handler);
    });
    self = new UapiServer(server, undefined, path, maxRequest);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (opts.fd !== undefined) server.listen({ fd: opts.fd }, done);
      else {
        // Socket reachable by root only: create it under a tight umask.
        const old = process.umask(0o077);
        try {
          server.listen(path, done);
        } finally {
          process.umask(old);
        }
      }
    });
    if (path) chmodSync(path, 0o700);
    server.on('error', () => {
      /* accept errors (EMFILE) must not take the daemon down */
    });
    return self;
  }

  get connectionCount(): number {
    return this.native ? this.native.connections : this.connections.size;
  }

  /** Requests answered errno=-22 for outgrowing maxRequestBytes (native implementation; 0 on node:net). */
  get oversizeCount(): number {
    return this.native ? this.native.oversize : 0;
  }

  private serve(sock: net.Socket, handler: UapiHandler): void {
    this.connections.add(sock);
    let pending = '';
    let scanned = 0; // pending[0..scanned) holds no request end (saves rescanning big requests)
    let busy = false;
    let ended = false;
    sock.setEncoding('utf8');

    const nextRequest = (): string | undefined => {
      const end = findRequestEnd(pending, scanned);
      if (end < 0) {
        scanned = Math.max(0, pending.length - 1);
        return undefined;
      }
      const request = pending.slice(0, end);
      pending = pending.slice(end);
      scanned = 0;
      return request;
    };

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        for (let request = nextRequest(); request !== undefined; request = nextRequest()) {
          const wellFormed = /^(get|set)=1\n/.test(request);
          let answer = EINVAL_RESPONSE;
          let early = false;
          if (wellFormed) {
            const answerNow = (text: string): void => {
              if (early) return;
              early = true;
              if (!sock.destroyed) sock.write(text);
            };
            try {
              answer = await handler(request, answerNow);
            } catch {
              answer = EINVAL_RESPONSE;
            }
          }
          if (sock.destroyed) return;
          if (!wellFormed) {
            // Not the protocol at all: answer and stop reading this client.
            sock.end(answer);
            return;
          }
          if (!early) sock.write(answer);
        }
        // Bytes left without their closing empty line when the client is done: incomplete, nothing to answer.
        if (ended && !sock.writableEnded) sock.end();
      } finally {
        busy = false;
      }
    };

    sock.on('data', (chunk: string) => {
      if (sock.writableEnded) return;
      pending += chunk;
      if (pending.length > this.maxRequest && findRequestEnd(pending, scanned) < 0) {
        pending = '';
        sock.end(EINVAL_RESPONSE);
        return;
      }
      void pump();
    });
    sock.on('end', () => {
      ended = true;
      void pump();
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.connections.delete(sock));
  }

  /** Stops listening, drops clients and removes the socket file (unless `removeFile` is false). */
  async close(removeFile = true): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.native) {
      // The native listener never unlinks: the file goes below, only when asked to.
      this.native.close();
    } else {
      const server = this.server!;
      for (const s of this.connections) s.destroy();
      if (this.path && !removeFile) {
        // libuv unlinks a bound socket path when the server closes, which could delete a file
        // that is no longer ours: stop accepting only; the process exit releases the descriptor.
        server.removeAllListeners('connection');
        server.unref();
        return;
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.path && removeFile) {
      try {
        unlinkSync(this.path);
      } catch {
        /* already gone */
      }
    }
  }
}

/**
 * The native listener's request callback: an answer sent early through answerNow is written
 * by respond() before the handler returns (the listener holds the client's next request until
 * the callback is over); a synchronous answer goes back at once; a
 * Promise (the daemon rebinding UDP for listen_port) is answered through respond() when
 * it settles. The listener keeps that client's later requests until then.
 */
function answerNative(listener: NativeUapiListener, handler: UapiHandler, id: number, request: string): string | undefined {
  let answer: string | Promise<string>;
  let early = false;
  const answerNow = (text: string): void => {
    if (early) return;
    early = true;
    respondNative(listener, id, text);
  };
  try {
    answer = handler(request, answerNow);
  } catch {
    return early ? undefined : EINVAL_RESPONSE;
  }
  if (early) {
    if (typeof answer !== 'string') void Promise.resolve(answer).catch(() => undefined);
    return undefined;
  }
  if (typeof answer === 'string') return answer;
  Promise.resolve(answer).then(
    (text) => respondNative(listener, id, typeof text === 'string' ? text : EINVAL_RESPONSE),
    () => respondNative(listener, id, EINVAL_RESPONSE),
  );
  return undefined;
}

function respondNative(listener: NativeUapiListener, id: number, text: string): void {
  try {
    listener.respond(id, text);
  } catch {
    /* closed meanwhile */
  }
}

/** Index just past the empty line ending the first request, or -1. A leading empty line alone is a request too (garbage). */
function findRequestEnd(text: string, from: number): number {
  if (text.startsWith('\n')) return 1;
  const i = text.indexOf('\n\n', from);
  return i < 0 ? -1 : i + 2;
}

/** A socket file left by a dead process is removed; a live one means the interface is taken. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    lstatSync(path);
  } catch {
    return;
  }
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) {
    const err = new Error(`UAPI socket ${path} is in use by a running process`) as NodeJS.ErrnoException;
    err.code = 'EADDRINUSE';
    throw err;
  }
  unlinkSync(path);
}
