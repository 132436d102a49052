/**
 * Client side of the UAPI: find an interface's Unix socket, send get=1 / set=1,
 * and list the interfaces that have a live socket.
 *
 * Where sockets live: /var/run/wireguard/NAME.sock (root, wg-compatible), and for
 * endpoints run without root $XDG_RUNTIME_DIR/wgts/NAME.sock, else /tmp/wgts-UID/NAME.sock.
 * An endpoint writes its pid to NAME.pid next to its socket (for `wgts down`).
 */
import { readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseUapiGet, parseUapiSetReply, UapiError, type UapiDevice } from '../config/uapi.js';

export { UapiError, type UapiDevice, type UapiPeer } from '../config/uapi.js';

/** Same rule as wg-quick: what may be an interface name. */
export const INTERFACE_NAME_RE = /^[a-zA-Z0-9_=+.-]{1,15}$/;

export function isValidInterfaceName(name: string): boolean {
  return INTERFACE_NAME_RE.test(name);
}

export const SYSTEM_SOCKET_DIR = '/var/run/wireguard';

/** The per-user socket directory for netstack endpoints run without root. */
export function userSocketDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'wgts');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return `/tmp/wgts-${uid}`;
}

/**
 * Directories searched for sockets, in order. WGTS_UAPI_DIR (a colon-separated list)
 * replaces the defaults — used by tests and by endpoints started with a custom dir.
 */
export function socketDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const forced = env.WGTS_UAPI_DIR;
  if (forced) return forced.split(':').filter((d) => d !== '');
  const dirs = [SYSTEM_SOCKET_DIR, userSocketDir(env)];
  return [...new Set(dirs)];
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** The socket path of an interface, or null if none of the directories has one. */
export function findSocket(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (!isValidInterfaceName(name)) return null;
  for (const dir of socketDirs(env)) {
    const p = join(dir, `${name}.sock`);
    if (isSocket(p)) return p;
  }
  return null;
}

/**
 * Where an endpoint started by `wgts up` should put its UAPI socket: the wg-compatible
 * system directory when running as root, else the per-user directory. It should write
 * its pid (decimal, newline) to pidFileFor(thatPath) so `wgts down NAME` can stop it.
 */
export function endpointSocketPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return join(root ? SYSTEM_SOCKET_DIR : userSocketDir(env), `${name}.sock`);
}

/** The pid file that sits next to an interface's socket (whether or not it exists). */
export function pidFileFor(socketPath: string): string {
  return socketPath.replace(/\.sock$/, '.pid');
}

export interface RequestOptions {
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /** Refuse replies larger than this (default 256 MiB: hundreds of thousands of allowed IPs fit). */
  maxReplyBytes?: number;
}

/** True once `text` holds a complete reply: an errno line followed by the empty line. */
function replyComplete(text: string): boolean {
  if (!text.endsWith('\n\n')) return false;
  const lastLine = text.lastIndexOf('\n', text.length - 3);
  return text.startsWith('errno=', lastLine + 1);
}

/** Sends one request and resolves with the whole reply text. */
export function uapiRequest(socketPath: string, body: string, opts: RequestOptions = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxBytes = opts.maxReplyBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let tail = '';
    const sock = connect(socketPath);
    const finish = (err: Error | null, text?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(text!);
    };
    const timer = setTimeout(() => finish(new UapiError(`no complete reply from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(body));
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) return finish(new UapiError(`reply from ${socketPath} exceeds ${maxBytes} bytes`));
      // Only the last few bytes decide completeness; keep a short tail instead of re-joining everything.
      tail = (tail + chunk.toString('latin1')).slice(-64);
      if (replyComplete(tail)) finish(null, Buffer.concat(chunks).toString('utf8'));
    });
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (replyComplete(text)) finish(null, text);
      else finish(new UapiError(`connection to ${socketPath} closed before a complete reply`));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e));
  });
}

export class InterfaceNotFoundError extends Error {
  override readonly name = 'InterfaceNotFoundError';
  readonly interfaceName: string;
  constructor(name: string, dirs: string[]) {
    super(`Unable to access interface ${name}: no UAPI socket ${name}.sock in ${dirs.join(', ')} (is it up?)`);
    this.interfaceName = name;
  }
}

function requireSocket(name: string, env: NodeJS.ProcessEnv): string {
  const p = findSocket(name, env);
  if (!p) throw new InterfaceNotFoundError(name, socketDirs(env));
  return p;
}

/** get=1 for an interface, parsed. */
export async function getDevice(name: string, opts: RequestOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<UapiDevice> {
  const path = requireSocket(name, opts.env ?? process.env);
  return parseUapiGet(await uapiRequest(path, 'get=1\n\n', opts));
}

/** Sends a set=1 body (from formatUapiSet/toUapiSet); rejects with UapiError on a non-zero errno. */
export async function setDevice(name: string, body: string, opts: RequestOptions & { env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const path = requireSocket(name, opts.env ?? process.env);
  const errno = parseUapiSetReply(await uapiRequest(path, body, opts));
  if (errno !== 0) throw new UapiError(`Unable to modify interface ${name}: the endpoint answered errno=${errno}${errno === 22 ? ' (invalid argument)' : ''}`, errno);
}

function canConnect(path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const t = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, timeoutMs);
    sock.on('connect', () => {
      clearTimeout(t);
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** Names of interfaces with a live socket, sorted, each listed once. */
export async function listInterfaces(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const seen = new Set<string>();
  for (const dir of socketDirs(env)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of names) {
      if (!f.endsWith('.sock')) continue;
      const name = f.slice(0, -5);
      if (seen.has(name) || !isValidInterfaceName(name)) continue;
      const p = join(dir, f);
      if (isSocket(p) && (await canConnect(p, 1000))) seen.add(name);
    }
  }
  return [...seen].sort();
}
