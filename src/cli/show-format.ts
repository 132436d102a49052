/**
 * `wg show` output, byte for byte: the pretty form (colours when wanted), `dump`,
 * and the single-field forms. Pure: the device, its public key and "now" come in.
 */
import { formatPrefix } from '../config/ip.js';
import { keyToBase64 } from '../config/keys.js';
import { formatEndpoint, type UapiDevice, type UapiPeer } from '../config/uapi.js';

const RESET = '\x1b[0m';
const BOLD = '\x1b[1m';
const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const CYAN = '\x1b[36m';

export interface ShowStyle {
  /** ANSI colours (wg: WG_COLOR_MODE=always|never, else when stdout is a terminal). */
  color: boolean;
  /** Print "(hidden)" for private and preshared keys (wg: unless WG_HIDE_KEYS=never). */
  hideKeys: boolean;
  /** Wall clock, whole seconds since the epoch. */
  nowSec: number;
}

/** A device as `show` prints it: the UAPI state plus its name and derived public key. */
export interface ShownDevice {
  name: string;
  device: UapiDevice;
  publicKey?: Uint8Array;
}

export const SHOW_FIELDS = [
  'public-key',
  'private-key',
  'listen-port',
  'fwmark',
  'peers',
  'preshared-keys',
  'endpoints',
  'allowed-ips',
  'latest-handshakes',
  'transfer',
  'persistent-keepalive',
  'dump',
] as const;
export type ShowField = (typeof SHOW_FIELDS)[number];

export function isShowField(s: string): s is ShowField {
  return (SHOW_FIELDS as readonly string[]).includes(s);
}

/** Removes ANSI sequences the way wg's terminal filter does: ESC [ up to the first letter. */
function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[^A-Za-z]*[A-Za-z]?/g, '');
}

function unit(word: string, n: number | bigint): string {
  return `${n} ${CYAN}${word}${n === 1 || n === 1n ? '' : 's'}${RESET}`;
}

/** "1 year, 2 days, 3 hours, 4 minutes, 5 seconds"; empty for 0. */
export function prettyTime(totalSeconds: number): string {
  let left = Math.floor(totalSeconds);
  const years = Math.floor(left / (365 * 24 * 3600));
  left %= 365 * 24 * 3600;
  const days = Math.floor(left / (24 * 3600));
  left %= 24 * 3600;
  const hours = Math.floor(left / 3600);
  left %= 3600;
  const minutes = Math.floor(left / 60);
  const seconds = left % 60;
  const parts: string[] = [];
  if (years) parts.push(unit('year', years));
  if (days) parts.push(unit('day', days));
  if (hours) parts.push(unit('hour', hours));
  if (minutes) parts.push(unit('minute', minutes));
  if (seconds) parts.push(unit('second', seconds));
  return parts.join(', ');
}

function ago(sec: number, nowSec: number): string {
  if (nowSec === sec) return 'Now';
  if (nowSec < sec) return `(${RED}System clock wound backward; connection problems may ensue.${RESET})`;
  return `${prettyTime(nowSec - sec)} ago`;
}

/**
 * printf("%.2f", b / 2^shift) exactly as C prints it: the uint64 is first rounded
 * to a double, and the decimal rounding of that exact binary value is half-to-even.
 */
function fixed2(b: bigint, shift: bigint): string {
  const asDouble = BigInt(Number(b));
  const num = asDouble * 100n;
  const den = 1n << shift;
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

/** "123 B", "1.21 KiB", … as wg prints transfer amounts. */
export function prettyBytes(b: bigint): string {
  if (b < 1024n) return `${b} ${CYAN}B${RESET}`;
  if (b < 1024n ** 2n) return `${fixed2(b, 10n)} ${CYAN}KiB${RESET}`;
  if (b < 1024n ** 3n) return `${fixed2(b, 20n)} ${CYAN}MiB${RESET}`;
  if (b < 1024n ** 4n) return `${fixed2(b, 30n)} ${CYAN}GiB${RESET}`;
  return `${fixed2(b, 40n)} ${CYAN}TiB${RESET}`;
}

/** Latest handshake first, never-handshaked peers last; otherwise the device's order. */
export function sortPeers(peers: readonly UapiPeer[]): UapiPeer[] {
  const has = (p: UapiPeer): boolean => p.lastHandshakeSec !== 0 || p.lastHandshakeNsec !== 0;
  return [...peers].sort((a, b) => {
    if (!has(a) && has(b)) return 1;
    if (!has(b) && has(a)) return -1;
    const d = b.lastHandshakeSec - a.lastHandshakeSec || b.lastHandshakeNsec - a.lastHandshakeNsec;
    return d;
  });
}

const key = (k: Uint8Array): string => keyToBase64(k);
const maybeKey = (k: Uint8Array | undefined): string => (k ? keyToBase64(k) : '(none)');

/** The `wg show NAME` text for one interface. */
export function formatPretty(d: ShownDevice, style: ShowStyle): string {
  const dev = d.device;
  const masked = (k: Uint8Array): string => (style.hideKeys ? '(hidden)' : key(k));
  let s = RESET;
  s += `${GREEN}${BOLD}interface${RESET}: ${GREEN}${d.name}${RESET}\n`;
  if (d.publicKey) s += `  ${BOLD}public key${RESET}: ${key(d.publicKey)}\n`;
  if (dev.privateKey) s += `  ${BOLD}private key${RESET}: ${masked(dev.privateKey)}\n`;
  if (dev.listenPort) s += `  ${BOLD}listening port${RESET}: ${dev.listenPort}\n`;
  if (dev.fwmark) s += `  ${BOLD}fwmark${RESET}: 0x${dev.fwmark.toString(16)}\n`;
  const peers = sortPeers(dev.peers);
  if (peers.length) s += '\n';
  peers.forEach((p, i) => {
    s += `${YELLOW}${BOLD}peer${RESET}: ${YELLOW}${key(p.publicKey)}${RESET}\n`;
    if (p.presharedKey) s += `  ${BOLD}preshared key${RESET}: ${masked(p.presharedKey)}\n`;
    if (p.endpoint) s += `  ${BOLD}endpoint${RESET}: ${formatEndpoint(p.endpoint)}\n`;
    s += `  ${BOLD}allowed ips${RESET}: `;
    if (p.allowedIPs.length) {
      s += p.allowedIPs.map((a) => formatPrefix(a).replace('/', `${CYAN}/${RESET}`)).join(', ') + '\n';
    } else s += '(none)\n';
    if (p.lastHandshakeSec) s += `  ${BOLD}latest handshake${RESET}: ${ago(p.lastHandshakeSec, style.nowSec)}\n`;
    if (p.rxBytes || p.txBytes) s += `  ${BOLD}transfer${RESET}: ${prettyBytes(p.rxBytes)} received, ${prettyBytes(p.txBytes)} sent\n`;
    if (p.persistentKeepalive) s += `  ${BOLD}persistent keepalive${RESET}: every ${prettyTime(p.persistentKeepalive)}\n`;
    if (i < peers.length - 1) s += '\n';
  });
  return style.color ? s : stripAnsi(s);
}

/** `wg show NAME dump` (withInterface: `wg show all dump`, each line prefixed by the name). */
export function formatDump(d: ShownDevice, withInterface: boolean): string {
  const dev = d.device;
  const pre = withInterface ? `${d.name}\t` : '';
  let s = `${pre}${maybeKey(dev.privateKey)}\t${maybeKey(d.publicKey)}\t${dev.listenPort}\t${dev.fwmark ? `0x${dev.fwmark.toString(16)}` : 'off'}\n`;
  for (const p of dev.peers) {
    s += `${pre}${key(p.publicKey)}\t${maybeKey(p.presharedKey)}\t${p.endpoint ? formatEndpoint(p.endpoint) : '(none)'}\t`;
    s += `${p.allowedIPs.length ? p.allowedIPs.map(formatPrefix).join(',') : '(none)'}\t`;
    s += `${p.lastHandshakeSec}\t${p.rxBytes}\t${p.txBytes}\t${p.persistentKeepalive || 'off'}\n`;
  }
  return s;
}

/** `wg show NAME FIELD`. */
export function formatField(d: ShownDevice, field: ShowField, withInterface: boolean): string {
  const dev = d.device;
  const pre = withInterface ? `${d.name}\t` : '';
  const perPeer = (f: (p: UapiPeer) => string): string => dev.peers.map((p) => `${pre}${key(p.publicKey)}\t${f(p)}\n`).join('');
  switch (field) {
    case 'public-key':
      return `${pre}${maybeKey(d.publicKey)}\n`;
    case 'private-key':
      return `${pre}${maybeKey(dev.privateKey)}\n`;
    case 'listen-port':
      return `${pre}${dev.listenPort}\n`;
    case 'fwmark':
      return `${pre}${dev.fwmark ? `0x${dev.fwmark.toString(16)}` : 'off'}\n`;
    case 'endpoints':
      return perPeer((p) => (p.endpoint ? formatEndpoint(p.endpoint) : '(none)'));
    case 'allowed-ips':
      return perPeer((p) => (p.allowedIPs.length ? p.allowedIPs.map(formatPrefix).join(' ') : '(none)'));
    case 'latest-handshakes':
      return perPeer((p) => `${p.lastHandshakeSec}`);
    case 'transfer':
      return perPeer((p) => `${p.rxBytes}\t${p.txBytes}`);
    case 'persistent-keepalive':
      return perPeer((p) => (p.persistentKeepalive ? `${p.persistentKeepalive}` : 'off'));
    case 'preshared-keys':
      return perPeer((p) => maybeKey(p.presharedKey));
    case 'peers':
      return dev.peers.map((p) => `${pre}${key(p.publicKey)}\n`).join('');
    case 'dump':
      return formatDump(d, withInterface);
  }
}

/** `wg showconf NAME`. */
export function formatShowconf(dev: UapiDevice): string {
  let s = '[Interface]\n';
  if (dev.listenPort) s += `ListenPort = ${dev.listenPort}\n`;
  if (dev.fwmark) s += `FwMark = 0x${dev.fwmark.toString(16)}\n`;
  if (dev.privateKey) s += `PrivateKey = ${key(dev.privateKey)}\n`;
  s += '\n';
  dev.peers.forEach((p, i) => {
    s += `[Peer]\nPublicKey = ${key(p.publicKey)}\n`;
    if (p.presharedKey) s += `PresharedKey = ${key(p.presharedKey)}\n`;
    if (p.allowedIPs.length) s += `AllowedIPs = ${p.allowedIPs.map(formatPrefix).join(', ')}\n`;
    if (p.endpoint) s += `Endpoint = ${formatEndpoint(p.endpoint)}\n`;
    if (p.persistentKeepalive) s += `PersistentKeepalive = ${p.persistentKeepalive}\n`;
    if (i < dev.peers.length - 1) s += '\n';
  });
  return s;
}
