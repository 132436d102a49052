/**
 * The UAPI text forms the CLI speaks (wireguard.com/xplatform), as pure functions:
 * - a `set=1` body built from a config (setconf/addconf/syncconf) or from `wgts set` arguments,
 *   with the same keys in the same order as `wg` sends them;
 * - the `get=1` reply parsed into a typed device.
 */
import { ConfigError } from './errors.js';
import { formatIP, formatPrefix, parseIP, parsePrefix, type IpPrefix } from './ip.js';
import { keyFromHex, keyIsZero, keyToHex } from './keys.js';
import type { HostPort, WgConfig } from './types.js';
import { formatHostPort, isIpLiteral, parseHostPort } from './values.js';
import { redactSecrets } from './redact.js';

/** Values never quoted in errors, even partially. */
const SECRET_KEYS = new Set(['private_key', 'preshared_key']);

// ---------------------------------------------------------------- set

export interface UapiSetAllowedIP {
  prefix: IpPrefix;
  /** `allowed_ip=-…`: remove this one (wg set allowed-ips -a.b.c.d/n). */
  remove?: boolean;
}

export interface UapiSetPeer {
  publicKey: Uint8Array;
  remove?: boolean;
  /** All zeros clears it. */
  presharedKey?: Uint8Array;
  /** Must be an IP literal by the time the body is built. */
  endpoint?: HostPort;
  /** 0 turns it off. */
  persistentKeepalive?: number;
  replaceAllowedIPs: boolean;
  allowedIPs: UapiSetAllowedIP[];
}

export interface UapiSetDevice {
  /** All zeros removes it. */
  privateKey?: Uint8Array;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  peers: UapiSetPeer[];
}

/** Canonical "ip:port" / "[ip6]:port" for an IP-literal endpoint, as getnameinfo(NUMERICHOST) prints it. */
export function formatEndpoint(hp: HostPort): string {
  const pct = hp.host.indexOf('%');
  const addr = pct === -1 ? hp.host : hp.host.slice(0, pct);
  const ip = parseIP(addr);
  if (!ip) return formatHostPort(hp);
  const text = formatIP(ip.family, ip.address) + (pct === -1 ? '' : hp.host.slice(pct));
  return ip.family === 6 ? `[${text}]:${hp.port}` : `${text}:${hp.port}`;
}

export function formatUapiSet(dev: UapiSetDevice): string {
  const out: string[] = ['set=1'];
  if (dev.privateKey) out.push(`private_key=${keyToHex(dev.privateKey)}`);
  if (dev.listenPort !== undefined) out.push(`listen_port=${dev.listenPort}`);
  if (dev.fwmark !== undefined) out.push(`fwmark=${dev.fwmark}`);
  if (dev.replacePeers) out.push('replace_peers=true');
  for (const p of dev.peers) {
    out.push(`public_key=${keyToHex(p.publicKey)}`);
    if (p.remove) {
      out.push('remove=true');
      continue;
    }
    if (p.presharedKey) out.push(`preshared_key=${keyToHex(p.presharedKey)}`);
    if (p.endpoint) out.push(`endpoint=${formatEndpoint(p.endpoint)}`);
    if (p.persistentKeepalive !== undefined) out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    if (p.replaceAllowedIPs) out.push('replace_allowed_ips=true');
    for (const a of p.allowedIPs) out.push(`allowed_ip=${a.remove ? '-' : ''}${formatPrefix(a.prefix)}`);
  }
  return out.join('\n') + '\n\n';
}

export interface ToUapiOptions {
  /** 'setconf' (default) replaces everything like `wg setconf`; 'addconf' only adds, like `wg addconf`. */
  mode?: 'setconf' | 'addconf';
  /** host → IP literal for Endpoint hostnames (see resolveEndpoints). */
  resolved?: ReadonlyMap<string, string>;
  /** For error messages. */
  fileName?: string;
}

/** The set=1 device a config means, before it is written as text. */
export function configToSetDevice(cfg: WgConfig, opts: ToUapiOptions = {}): UapiSetDevice {
  const append = opts.mode === 'addconf';
  const itf = cfg.interface;
  const dev: UapiSetDevice = { replacePeers: !append, peers: [] };
  // wg setconf always sends these three; absent means "none" (zero key, port 0 = random, fwmark off).
  if (itf.privateKey || !append) dev.privateKey = itf.privateKey ?? new Uint8Array(32);
  if (itf.listenPort !== undefined || !append) dev.listenPort = itf.listenPort ?? 0;
  if (itf.fwMark !== undefined || !append) dev.fwmark = itf.fwMark ?? 0;
  for (const p of cfg.peers) {
    const sp: UapiSetPeer = { publicKey: p.publicKey, replaceAllowedIPs: true, allowedIPs: p.allowedIPs.map((prefix) => ({ prefix })) };
    if (p.presharedKey) sp.presharedKey = p.presharedKey;
    if (p.endpoint) sp.endpoint = literalEndpoint(p.endpoint, opts);
    if (p.persistentKeepalive !== undefined) sp.persistentKeepalive = p.persistentKeepalive;
    dev.peers.push(sp);
  }
  return dev;
}

function literalEndpoint(hp: HostPort, opts: ToUapiOptions): HostPort {
  if (isIpLiteral(hp.host)) return hp;
  const ip = opts.resolved?.get(hp.host);
  if (ip === undefined || !isIpLiteral(ip)) {
    throw new ConfigError(opts.fileName ?? '(config)', undefined, 'Endpoint', `host \`${hp.host}' has not been resolved to an IP address`);
  }
  return { host: ip, port: hp.port };
}

/** The exact `set=1` body `wg setconf` (or `wg addconf`) sends for this config. */
export function toUapiSet(cfg: WgConfig, opts: ToUapiOptions = {}): string {
  return formatUapiSet(configToSetDevice(cfg, opts));
}

function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * `wg syncconf`: like setconf, but peers already on the device are updated in place
 * (handshakes survive) and only peers missing from the file are removed.
 */
export function toUapiSync(cfg: WgConfig, runtime: UapiDevice, opts: Omit<ToUapiOptions, 'mode'> = {}): string {
  const dev = configToSetDevice(cfg, { ...opts, mode: 'setconf' });
  if (dev.peers.length === 0 || runtime.peers.length === 0) return formatUapiSet(dev);
  dev.replacePeers = false;
  const fromFile = new Map<string, UapiSetPeer>();
  for (const p of dev.peers) fromFile.set(keyToHex(p.publicKey), p);
  // wg walks the runtime peers in key order and pushes each removal to the front of the list.
  const sorted = [...runtime.peers].sort((a, b) => compareKeys(a.publicKey, b.publicKey));
  for (const rp of sorted) {
    const fp = fromFile.get(keyToHex(rp.publicKey));
    if (!fp) {
      dev.peers.unshift({ publicKey: rp.publicKey, remove: true, replaceAllowedIPs: false, allowedIPs: [] });
      continue;
    }
    if (rp.presharedKey && !fp.presharedKey) fp.presharedKey = new Uint8Array(32);
    if (rp.persistentKeepalive && fp.persistentKeepalive === undefined) fp.persistentKeepalive = 0;
  }
  return formatUapiSet(dev);
}

// ---------------------------------------------------------------- get

export interface UapiPeer {
  publicKey: Uint8Array;
  /** Absent when the device reports all zeros. */
  presharedKey?: Uint8Array;
  endpoint?: HostPort;
  lastHandshakeSec: number;
  lastHandshakeNsec: number;
  rxBytes: bigint;
  txBytes: bigint;
  persistentKeepalive: number;
  allowedIPs: IpPrefix[];
  protocolVersion?: number;
}

export interface UapiDevice {
  privateKey?: Uint8Array;
  listenPort: number;
  fwmark: number;
  peers: UapiPeer[];
}

export class UapiError extends Error {
  override readonly name = 'UapiError';
  /** The errno the endpoint answered with (positive), or undefined for a malformed reply. */
  readonly errno: number | undefined;
  constructor(message: string, errno?: number) {
    super(message);
    this.errno = errno;
  }
}

function num(value: string, max: bigint): bigint | null {
  if (!/^[0-9]{1,20}$/.test(value)) return null;
  const v = BigInt(value);
  return v <= max ? v : null;
}

/**
 * Parses a `get=1` reply (through its terminating empty line). Unknown keys are
 * ignored as wg ignores them; malformed known keys or a non-zero errno throw UapiError.
 */
export function parseUapiGet(text: string): UapiDevice {
  const dev: UapiDevice = { listenPort: 0, fwmark: 0, peers: [] };
  let peer: UapiPeer | undefined;
  let errno: number | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UapiError(`malformed UAPI line ${i + 1}: \`${redactSecrets(line)}'`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    const bad = (): never => {
      throw new UapiError(`malformed UAPI value on line ${i + 1}: \`${SECRET_KEYS.has(key) ? `${key}=(hidden)` : redactSecrets(line)}'`);
    };
    if (key === 'errno') {
      const v = /^-?[0-9]{1,10}$/.test(value) ? Math.abs(Number(value)) : bad();
      errno = v;
      continue;
    }
    if (key === 'public_key') {
      const k = keyFromHex(value) ?? bad();
      peer = { publicKey: k, lastHandshakeSec: 0, lastHandshakeNsec: 0, rxBytes: 0n, txBytes: 0n, persistentKeepalive: 0, allowedIPs: [] };
      dev.peers.push(peer);
      continue;
    }
    if (!peer) {
      if (key === 'private_key') dev.privateKey = keyFromHex(value) ?? bad();
      else if (key === 'listen_port') dev.listenPort = Number(num(value, 0xffffn) ?? bad());
      else if (key === 'fwmark') dev.fwmark = Number(num(value, 0xffffffffn) ?? bad());
      continue;
    }
    switch (key) {
      case 'preshared_key': {
        const k = keyFromHex(value) ?? bad();
        if (!keyIsZero(k)) peer.presharedKey = k;
        else delete peer.presharedKey;
        break;
      }
      case 'endpoint':
        peer.endpoint = parseHostPort(value, { allowHostname: false, minPort: 0 }) ?? bad();
        break;
      case 'persistent_keepalive_interval':
        peer.persistentKeepalive = Number(num(value, 0xffffn) ?? bad());
        break;
      case 'allowed_ip': {
        if (!value.includes('/')) bad();
        peer.allowedIPs.push(parsePrefix(value) ?? bad());
        break;
      }
      case 'last_handshake_time_sec':
        peer.lastHandshakeSec = Number(num(value, 0x7fffffffffffffffn) ?? bad());
        break;
      case 'last_handshake_time_nsec':
        peer.lastHandshakeNsec = Number(num(value, 0x7fffffffffffffffn) ?? bad());
        break;
      case 'rx_bytes':
        peer.rxBytes = num(value, 0xffffffffffffffffn) ?? bad();
        break;
      case 'tx_bytes':
        peer.txBytes = num(value, 0xffffffffffffffffn) ?? bad();
        break;
      case 'protocol_version':
        peer.protocolVersion = Number(num(value, 0xffffffffn) ?? bad());
        break;
      default:
        break;
    }
  }
  if (errno === undefined) throw new UapiError('truncated UAPI reply (no errno line)');
  if (errno !== 0) throw new UapiError(`the endpoint answered errno=${errno}`, errno);
  return dev;
}

/** Parses the reply to a `set=1` request: the errno it carries (0 on success). */
export function parseUapiSetReply(text: string): number {
  const m = /(?:^|\n)errno=(-?[0-9]{1,10})\n/.exec(text);
  if (!m) throw new UapiError('malformed reply to set (no errno line)');
  return Math.abs(Number(m[1]));
}
