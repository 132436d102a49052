/**
 * Loads the optional native addon (build/Release/wgts_native.node). When it is
 * missing or fails to load, wgts keeps running on its portable paths (dgram for
 * UDP; no kernel TUN mode) and says so once, naming what is unavailable.
 *
 * WGTS_NATIVE=0 disables the addon; WGTS_NATIVE_PATH points at another build.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's TUN handle (native/tun.cc). */
export interface NativeTun {
  readonly name: string;
  readonly fd: number;
  /** onRead(count): packets i < count sit in readBuffer at meta[2i] with length meta[2i+1]. */
  start(onRead: (count: number) => void, onError: (errno: number, message: string) => void): void;
  /** Bytes written, or -errno (-11 EAGAIN: kernel queue full, packet dropped). */
  write(packet: Uint8Array): number;
  getMtu(): number;
  setMtu(mtu: number): void;
  close(): void;
}

export interface NativeTunConstructor {
  new (nameOrFd: string | number, readBuffer: Uint8Array, readMeta: Int32Array, multiQueue?: boolean): NativeTun;
}

/** The addon's batched UDP socket (native/udp.cc). Meta arrays hold 16 int32s per message (layout in udp.cc). */
export interface NativeUdp {
  /** family: 0 dual-stack when possible, 4, or 6. Returns the bound port. */
  bind(port: number, family?: 0 | 4 | 6, fwmark?: number): number;
  /** onRecv(count): message i sits in recvBuffer at i*slotSize; recvMeta[16i..] = len (-1 truncated), family, port, local family, remote address, local address, ifindex. */
  start(onRecv: (count: number) => void, onError: (errno: number, message: string) => void): void;
  /** Sends sendMeta[16i..] = offset, length, family, port, address, source family, source address, ifindex; for i < count. Returns how many the kernel took. */
  sendBatch(count: number): number;
  setMark(mark: number): void;
  /** Whether sends are grouped into UDP GSO datagrams (kernel support, not disabled by WGTS_NO_GSO). */
  gsoEnabled(): boolean;
  localPort(): number;
  close(): void;
}

export interface NativeUdpConstructor {
  new (recvBuffer: Uint8Array, slotSize: number, recvMeta: Int32Array, sendBuffer: Uint8Array, sendMeta: Int32Array): NativeUdp;
}

/** The addon's UAPI unix socket server (native/uapi.cc). */
export interface NativeUapiListener {
  readonly fd: number;
  /** Clients connected now. */
  readonly connections: number;
  /** Clients answered errno=-22 and closed because a request outgrew maxRequestBytes. */
  readonly oversize: number;
  /** Connections closed at once because maxConnections were open. */
  readonly refused: number;
  /** onRequest(id, text): the answer now, or undefined and respond(id, answer) later. Requests are well-formed get=1/set=1 (garbage is answered natively). */
  start(onRequest: (id: number, request: string) => string | undefined): void;
  /** Answers the request left pending; false when that client has gone. */
  respond(id: number, answer: string): boolean;
  close(): void;
}

export interface NativeUapiListenerConstructor {
  /** A path (bound under umask 077) or an already listening descriptor. */
  new (pathOrFd: string | number, maxRequestBytes: number, maxConnections: number): NativeUapiListener;
}

export type NativeAead = (key: Uint8Array, counter: bigint | number, input: Uint8Array, ad: Uint8Array | null, out: Uint8Array, outOffset?: number) => number;

/** Keyed BLAKE2s (key null: plain BLAKE2s) of `data` into out[outOffset..+outLen] (outLen 1..32, default 16): returns outLen. */
export type NativeBlake2s = (key: Uint8Array | null, data: Uint8Array, out: Uint8Array, outOffset?: number, outLen?: number) => number;
/** HMAC-BLAKE2s (n = 0) or HKDF KDF1–3 (n = 1..3) into out: returns the bytes written. */
export type NativeKdf = (key: Uint8Array, input: Uint8Array, n: number, out: Uint8Array, outOffset?: number) => number;
/** XChaCha20-Poly1305 seal (input.length + 16 written) or open (plaintext length, -1 on a bad tag). */
export type NativeXaead = (key: Uint8Array, nonce: Uint8Array, input: Uint8Array, ad: Uint8Array, out: Uint8Array, outOffset?: number) => number;

export interface NativeAddon {
  readonly version: number;
  /** ChaCha20-Poly1305 seal on Node's OpenSSL: returns input.length + 16. */
  readonly aeadSeal?: NativeAead;
  /** ChaCha20-Poly1305 open: plaintext length, or -1 when authentication fails. */
  readonly aeadOpen?: NativeAead;
  readonly Tun?: NativeTunConstructor;
  readonly Udp?: NativeUdpConstructor;
  readonly UapiListener?: NativeUapiListenerConstructor;
  readonly blake2s?: NativeBlake2s;
  readonly blake2sKdf?: NativeKdf;
  readonly xaeadSeal?: NativeXaead;
  readonly xaeadOpen?: NativeXaead;
  /** X25519 on raw keys: false (out zeroed) for an all-zero result. Absent without Node's exported OpenSSL X25519. */
  readonly x25519?: (priv: Uint8Array, pub: Uint8Array, out: Uint8Array) => boolean;
  /** The public key of a raw private key. */
  readonly x25519Base?: (priv: Uint8Array, out: Uint8Array) => void;
}

export type NativeLoadResult = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

let cached: NativeLoadResult | undefined;
let warned = false;

function findAddonPath(): string | undefined {
  const override = process.env.WGTS_NATIVE_PATH;
  if (override) return override;
  // Walk up from this module (src/node or dist/src/node) to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const sub of ['build/Release/wgts_native.node', 'build/Debug/wgts_native.node']) {
      const p = join(dir, sub);
      if (existsSync(p)) return p;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** Tries once per process; later calls return the same result. */
export function loadNative(): NativeLoadResult {
  if (cached) return cached;
  if (process.env.WGTS_NATIVE === '0') {
    cached = { ok: false, reason: 'disabled by WGTS_NATIVE=0' };
    return cached;
  }
  const path = findAddonPath();
  if (!path || !existsSync(path)) {
    cached = { ok: false, reason: `${path ?? 'build/Release/wgts_native.node'} not found (build it with \`npm run install\`)` };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as NativeAddon;
    cached = { ok: true, addon, path };
  } catch (err) {
    cached = { ok: false, reason: `failed to load ${path}: ${String((err as Error).message).split('\n')[0]}` };
  }
  return cached;
}

/** For tests: forget the cached result so the next loadNative() tries again. */
export function resetNativeForTests(): void {
  cached = undefined;
  warned = false;
}

/**
 * The addon, or undefined after printing one clear line (once per process)
 * saying which features are unavailable. `log` defaults to console.warn.
 */
export function nativeOrWarn(log: (line: string) => void = (l) => console.warn(l)): NativeAddon | undefined {
  const r = loadNative();
  if (r.ok) return r.addon;
  if (!warned) {
    warned = true;
    log(`wgts: native addon unavailable (${r.reason}); kernel TUN mode is off and UDP uses node:dgram`);
  }
  return undefined;
}
