/**
 * The UAPI text protocol (wireguard.com/xplatform), pure text in, text out:
 * `get=1` serializes the device the way wireguard-go does (field order,
 * lowercase hex keys, Go-style addresses); `set=1` is parsed and validated
 * *completely* into a list of operations before any is applied, so a failed
 * set changes nothing (wireguard-go applies line by line; we are stricter).
 * Applying follows wireguard-go's device/uapi.go semantics line for line.
 * Because nothing can fail once a set is validated, prepareUapiRequest hands
 * back the answer and a plan to apply separately: the daemon answers `wg`
 * first and applies before anything else reaches the device.
 */
import { AllowedIPs, formatCidr, formatIP, parseCidr, parseIP } from './allowedips.js';
import { MAX_PEERS } from './constants.js';
import type { Device, Peer } from './device.js';

export const UAPI_EINVAL = -22;
/** A line that is not `key=value` (wireguard-go answers EPROTO for it). */
export const UAPI_EPROTO = -71;

export interface UapiEndpoint {
  address: string;
  port: number;
}

/** The peer surface UAPI reads and changes (src/wireguard/peer.ts implements it). */
export interface UapiPeer {
  readonly publicKey: Uint8Array;
  readonly presharedKey: Uint8Array | null;
  readonly endpoint: UapiEndpoint | null;
  /** Seconds, 0 = off. */
  readonly persistentKeepalive: number;
  /** ms since the Unix epoch, 0 = never. */
  readonly lastHandshakeTime: number;
  readonly txBytes: number | bigint;
  readonly rxBytes: number | bigint;
  setPresharedKey(key: Uint8Array | null): void;
  setEndpoint(endpoint: UapiEndpoint | null): void;
  setPersistentKeepalive(seconds: number, now: number): void;
}

/** The device surface UAPI reads and changes (src/wireguard/device.ts implements it). */
export interface UapiDevice<P extends UapiPeer = UapiPeer> {
  readonly allowedIPs: AllowedIPs<P>;
  readonly privateKey: Uint8Array | null;
  readonly publicKey: Uint8Array | null;
  listenPort: number;
  fwmark: number;
  setPrivateKey(key: Uint8Array | null): void;
  peers(): Iterable<P>;
  /** How many peers peers() yields. */
  readonly peerCount: number;
  getPeer(publicKey: Uint8Array): P | undefined;
  addPeer(publicKey: Uint8Array): P;
  removePeer(publicKey: Uint8Array): boolean;
  removeAllPeers(): void;
}

// The real Device must keep satisfying the surface above (compile-time check).
type DeviceFitsUapi = Device extends UapiDevice<Peer> ? true : never;
const deviceFitsUapi: DeviceFitsUapi = true;
void deviceFitsUapi;

export interface UapiSetResult {
  errno: number;
  error?: string;
}

// ------------------------------------------------------------------ get

const HEX = '0123456789abcdef';

function hexKey(key: Uint8Array | null): string {
  let s = '';
  if (key === null) return '0'.repeat(64);
  for (let i = 0; i < key.length; i++) s += HEX[key[i]! >>> 4]! + HEX[key[i]! & 15]!;
  return s;
}

function isZero(key: Uint8Array | null): boolean {
  if (key === null) return true;
  for (let i = 0; i < key.length; i++) if (key[i] !== 0) return false;
  return true;
}

/** 'ip:port' or '[ip6]:port' (zone kept), like Go's netip.AddrPort.String. */
export function formatEndpoint(ep: UapiEndpoint): string {
  return ep.address.indexOf(':') >= 0 ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

/** The full `get=1` answer, ending with 'errno=0\n\n'. */
export function uapiGet<P extends UapiPeer>(device: UapiDevice<P>): string {
  const out: string[] = [];
  if (!isZero(device.privateKey)) out.push(`private_key=${hexKey(device.privateKey)}`);
  if (device.listenPort !== 0) out.push(`listen_port=${device.listenPort}`);
  if (device.fwmark !== 0) out.push(`fwmark=${device.fwmark}`);
  for (const peer of device.peers()) {
    out.push(`public_key=${hexKey(peer.publicKey)}`);
    out.push(`preshared_key=${hexKey(peer.presharedKey)}`);
    out.push('protocol_version=1');
    if (peer.endpoint !== null) out.push(`endpoint=${formatEndpoint(peer.endpoint)}`);
    const ms = peer.lastHandshakeTime;
    let sec = 0;
    let nsec = 0;
    if (ms > 0) {
      sec = Math.floor(ms / 1000);
      nsec = Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
    }
    out.push(`last_handshake_time_sec=${sec}`);
    out.push(`last_handshake_time_nsec=${nsec}`);
    out.push(`tx_bytes=${peer.txBytes}`);
    out.push(`rx_bytes=${peer.rxBytes}`);
    out.push(`persistent_keepalive_interval=${peer.persistentKeepalive}`);
    for (const e of device.allowedIPs.entriesFor(peer)) out.push(`allowed_ip=${formatCidr(e.ip, e.bits)}`);
  }
  out.push('errno=0', '', '');
  return out.join('\n');
}

// ------------------------------------------------------------------ set: parse

type Op =
  | { k: 'private_key'; key: Uint8Array | null }
  | { k: 'listen_port'; port: number }
  | { k: 'fwmark'; mark: number }
  | { k: 'replace_peers' }
  /** skipIfNew: the section says update_only/remove, so a missing peer is never created. */
  | { k: 'public_key'; key: Uint8Array; skipIfNew: boolean }
  | { k: 'update_only' }
  | { k: 'remove' }
  | { k: 'preshared_key'; key: Uint8Array | null }
  | { k: 'endpoint'; ep: UapiEndpoint }
  | { k: 'persistent_keepalive_interval'; secs: number }
  | { k: 'replace_allowed_ips' }
  | { k: 'allowed_ip'; ip: Uint8Array; bits: number; remove: boolean };

class UapiParseError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

/**
 * Input quoted in an error, at most 80 characters, with key-like runs (16+
 * base64/hex characters) hidden: a malformed line may carry a private key.
 */
function quote(text: string): string {
  return JSON.stringify(text.slice(0, 80).replace(/[A-Za-z0-9+/]{16,}={0,2}/g, (run) => (/[0-9+/=]/.test(run) || run.length >= 32 ? '<redacted>' : run)));
}

function invalid(message: string): UapiParseError {
  return new UapiParseError(UAPI_EINVAL, message);
}

/** 64 hex digits (either case, as Go's hex.DecodeString) → 32 bytes. */
function parseKey(value: string, what: string): Uint8Array {
  if (value.length !== 64) throw invalid(`${what}: key must be 64 hex digits`);
  const key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const h = hexDigit(value.charCodeAt(i * 2));
    const l = hexDigit(value.charCodeAt(i * 2 + 1));
    if (h < 0 || l < 0) throw invalid(`${what}: invalid hex`);
    key[i] = (h << 4) | l;
  }
  return key;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Decimal like Go's strconv.ParseUint(v, 10, bits): digits only, leading zeros allowed. */
function parseUint(value: string, max: number, what: string): number {
  if (!/^[0-9]{1,20}$/.test(value)) throw invalid(`${what}: not an unsigned integer`);
  const n = Number(value);
  if (n > max) throw invalid(`${what}: out of range`);
  return n;
}

/**
 * An IPv6 zone we accept: an interface name or scope number, 1-15 printable
 * ASCII characters other than "/", ":", "]" and "%" (Linux interface names
 * exclude "/", ":" and whitespace). Go's netip takes any text; we are
 * stricter so every endpoint `get` prints parses again (the CLI reads it back).
 */
export function validZone(zone: string): boolean {
  if (zone.length < 1 || zone.length > 15) return false;
  for (let i = 0; i < zone.length; i++) {
    const c = zone.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x2f || c === 0x3a || c === 0x5d || c === 0x25) return false;
  }
  return true;
}

/** 'IPv4:PORT' or '[IPv6(%zone)]:PORT', like Go's netip.ParseAddrPort (zones: see validZone). */
export function parseEndpoint(value: string): UapiEndpoint | null {
  const colon = value.lastIndexOf(':');
  if (colon < 0) return null;
  const host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return null;
    const inner = host.slice(1, -1);
    const pct = inner.indexOf('%');
    const addr = pct < 0 ? inner : inner.slice(0, pct);
    const zone = pct < 0 ? '' : inner.slice(pct + 1);
    if (pct >= 0 && !validZone(zone)) return null;
    if (addr.indexOf(':') < 0) return null; // brackets are for IPv6 only
    const ip = parseIP(addr);
    if (ip === null) return null;
    return { address: formatIP(ip) + (pct < 0 ? '' : `%${zone}`), port };
  }
  if (host.indexOf(':') >= 0) return null; // IPv6 needs brackets
  const ip = parseIP(host);
  if (ip === null) return null;
  return { address: formatIP(ip), port };
}

function isTrue(value: string, what: string): void {
  if (value !== 'true') throw invalid(`${what}: invalid value ${quote(value)}`);
}

/**
 * Parses and validates a set body into operations. Throws UapiParseError.
 * The device's peers (looked up, never listed: a `wg set` on a device with
 * 10 000 peers costs no more than on one with a single peer) and its public
 * key bound the peer count exactly as applying would.
 */
function parseSet<P extends UapiPeer>(body: string, device: UapiDevice<P>, maxPeers: number): Op[] {
  const ops: Op[] = [];
  let inPeer = false;
  let sectionStart = -1; // index in ops of the current public_key op
  const own = isZero(device.publicKey) ? null : device.publicKey;
  // Peers as applying would leave them: the device's (unless replace_peers cleared them),
  // minus `removed`, plus `added`; `count` of them.
  let cleared = false;
  let added = null as Set<string> | null;
  let removed = null as Set<string> | null;
  let count = device.peerCount;
  const exists = (hex: string, key: Uint8Array): boolean =>
    added?.has(hex) === true || (!cleared && removed?.has(hex) !== true && device.getPeer(key) !== undefined);
  let keyChanged = false;
  let pendingNew: string | null = null; // a peer this section would create

  const closeSection = (): void => {
    if (sectionStart < 0) return;
    const op = ops[sectionStart] as Extract<Op, { k: 'public_key' }>;
    if (pendingNew !== null && !op.skipIfNew) {
      (added ??= new Set()).add(pendingNew);
      removed?.delete(pendingNew);
      if (++count > maxPeers) throw invalid(`too many peers (limit ${maxPeers})`);
    }
    pendingNew = null;
  };

  let start = 0;
  const len = body.length;
  while (start <= len) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = len;
    let line = body.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1); // like Go's bufio.ScanLines
    if (line === '') break; // an empty line (or the end of the text) ends the body
    const eq = line.indexOf('=');
    if (eq < 0) throw new UapiParseError(UAPI_EPROTO, `failed to parse line ${quote(line)}`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);

    if (key === 'public_key') {
      closeSection();
      inPeer = true;
      const pub = parseKey(value, 'public_key');
      const hex = hexKey(pub);
      sectionStart = ops.length;
      ops.push({ k: 'public_key', key: pub, skipIfNew: false });
      const self = !keyChanged && own !== null && equalBytes(pub, own);
      pendingNew = !self && !exists(hex, pub) ? hex : null;
      continue;
    }

    if (!inPeer) {
      switch (key) {
        case 'private_key': {
          const k = parseKey(value, 'private_key');
          ops.push({ k: 'private_key', key: isZero(k) ? null : k });
          keyChanged = true;
          break;
        }
        case 'listen_port':
          ops.push({ k: 'listen_port', port: parseUint(value, 65535, 'listen_port') });
          break;
        case 'fwmark':
          ops.push({ k: 'fwmark', mark: parseUint(value, 0xffffffff, 'fwmark') });
          break;
        case 'replace_peers':
          isTrue(value, 'replace_peers');
          ops.push({ k: 'replace_peers' });
          cleared = true;
          added = null;
          removed = null;
          count = 0;
          break;
        default:
          throw invalid(`invalid UAPI device key ${quote(key)}`);
      }
      continue;
    }

    const section = ops[sectionStart] as Extract<Op, { k: 'public_key' }>;
    switch (key) {
      case 'update_only':
        isTrue(value, 'update_only');
        ops.push({ k: 'update_only' });
        section.skipIfNew = true;
        break;
      case 'remove':
        isTrue(value, 'remove');
        ops.push({ k: 'remove' });
        section.skipIfNew = true;
        if (pendingNew === null) {
          const hex = hexKey(section.key);
          if (exists(hex, section.key)) {
            if (added?.delete(hex) !== true) (removed ??= new Set()).add(hex);
            count--;
          }
        }
        break;
      case 'preshared_key': {
        const k = parseKey(value, 'preshared_key');
        ops.push({ k: 'preshared_key', key: isZero(k) ? null : k });
        break;
      }
      case 'endpoint': {
        const ep = parseEndpoint(value);
        if (ep === null) throw invalid(`invalid endpoint ${quote(value)}`);
        ops.push({ k: 'endpoint', ep });
        break;
      }
      case 'persistent_keepalive_interval':
        ops.push({ k: 'persistent_keepalive_interval', secs: parseUint(value, 65535, 'persistent_keepalive_interval') });
        break;
      case 'replace_allowed_ips':
        isTrue(value, 'replace_allowed_ips');
        ops.push({ k: 'replace_allowed_ips' });
        break;
      case 'allowed_ip': {
        const remove = value.startsWith('-');
        let p: { ip: Uint8Array; bits: number };
        const cidr = remove ? value.slice(1) : value;
        // Go's netip.ParsePrefix: the "/bits" part is required.
        if (cidr.indexOf('/') < 0) throw invalid(`invalid allowed_ip ${quote(value)}`);
        try {
          p = parseCidr(cidr);
        } catch {
          throw invalid(`invalid allowed_ip ${quote(value)}`);
        }
        ops.push({ k: 'allowed_ip', ip: p.ip, bits: p.bits, remove });
        break;
      }
      case 'protocol_version':
        if (value !== '1') throw invalid(`invalid protocol version ${quote(value)}`);
        break;
      default:
        throw invalid(`invalid UAPI peer key ${quote(key)}`);
    }
  }
  closeSection();
  return ops;
}

// ------------------------------------------------------------------ set: apply

function applySet<P extends UapiPeer>(device: UapiDevice<P>, ops: Op[], now: number): void {
  let peer: P | null = null; // null = dummy (ignored section) or device section
  for (const op of ops) {
    switch (op.k) {
      case 'private_key':
        device.setPrivateKey(op.key);
        break;
      case 'listen_port':
        device.listenPort = op.port;
        break;
      case 'fwmark':
        device.fwmark = op.mark;
        break;
      case 'replace_peers':
        device.removeAllPeers();
        break;
      case 'public_key': {
        const own = device.publicKey;
        if (own !== null && equalBytes(own, op.key)) {
          peer = null; // wireguard-go ignores a peer with the device's own key
          break;
        }
        const found = device.getPeer(op.key);
        peer = found ?? (op.skipIfNew ? null : device.addPeer(op.key));
        break;
      }
      case 'update_only':
        break; // handled by skipIfNew: a missing peer was never created
      case 'remove':
        if (peer !== null) device.removePeer(peer.publicKey);
        peer = null;
        break;
      case 'preshared_key':
        peer?.setPresharedKey(op.key);
        break;
      case 'endpoint':
        peer?.setEndpoint(op.ep);
        break;
      case 'persistent_keepalive_interval':
        peer?.setPersistentKeepalive(op.secs, now);
        break;
      case 'replace_allowed_ips':
        if (peer !== null) device.allowedIPs.removeByValue(peer);
        break;
      case 'allowed_ip':
        if (peer === null) break;
        if (op.remove) device.allowedIPs.remove(op.ip, op.bits, peer);
        else device.allowedIPs.insert(op.ip, op.bits, peer);
        break;
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A validated set body, not yet applied: `apply` makes the changes. Nothing can fail after
 * validation (applying a valid set only throws on a broken invariant), so a daemon may answer
 * the client before applying, as long as nothing else reaches the device in between.
 */
export interface UapiSetPlan {
  /** The set changes listen_port or fwmark (the daemon must rebind before answering). */
  readonly changesBind: boolean;
  apply(now: number): void;
}

/** Parses and validates a set body: a plan, or the errno (and why) when it is refused. */
export function prepareUapiSet<P extends UapiPeer>(device: UapiDevice<P>, body: string, opts: { maxPeers?: number } = {}): UapiSetPlan | UapiSetResult {
  let ops: Op[];
  try {
    ops = parseSet(body, device, opts.maxPeers ?? MAX_PEERS);
  } catch (e) {
    if (e instanceof UapiParseError) return { errno: e.errno, error: e.message };
    return { errno: UAPI_EINVAL, error: String(e) };
  }
  let changesBind = false;
  for (const op of ops) if (op.k === 'listen_port' || op.k === 'fwmark') changesBind = true;
  return { changesBind, apply: (now: number) => applySet(device, ops, now) };
}

/**
 * Applies a set body (the lines after 'set=1', up to the first empty line or
 * the end of the text). All-or-nothing: on any error nothing is changed.
 */
export function uapiSet<P extends UapiPeer>(device: UapiDevice<P>, body: string, now: number, opts: { maxPeers?: number } = {}): UapiSetResult {
  const plan = prepareUapiSet(device, body, opts);
  if (!('apply' in plan)) return plan;
  try {
    plan.apply(now);
  } catch (e) {
    // Validation should make this unreachable; report rather than throw.
    return { errno: UAPI_EINVAL, error: `apply failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { errno: 0 };
}

/**
 * One framed request ('get=1\n\n' or 'set=1\n…\n\n') → the full answer text.
 * Anything else is answered 'errno=-22\n\n'.
 */
export function handleUapiRequest<P extends UapiPeer>(device: UapiDevice<P>, request: string, now: number, opts: { maxPeers?: number } = {}): string {
  const r = prepareUapiRequest(device, request, opts);
  if (r.plan === undefined) return r.answer;
  try {
    r.plan.apply(now);
  } catch {
    return `errno=${UAPI_EINVAL}\n\n`;
  }
  return r.answer;
}

/**
 * One framed request, answered but not yet applied: `answer` is what the client gets once
 * `plan` (a valid set) has been applied; no plan for a get (answered in full) or a refused set.
 */
export function prepareUapiRequest<P extends UapiPeer>(device: UapiDevice<P>, request: string, opts: { maxPeers?: number } = {}): { answer: string; plan?: UapiSetPlan } {
  if (request.startsWith('get=1\n')) {
    if (request.length < 7 || request.charCodeAt(6) !== 10) return { answer: `errno=${UAPI_EINVAL}\n\n` };
    return { answer: uapiGet(device) };
  }
  if (request.startsWith('set=1\n')) {
    const plan = prepareUapiSet(device, request.slice(6), opts);
    if (!('apply' in plan)) return { answer: `errno=${plan.errno}\n\n` };
    return { answer: 'errno=0\n\n', plan };
  }
  return { answer: `errno=${UAPI_EINVAL}\n\n` };
}
