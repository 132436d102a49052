/**
 * Parsers for single config/command-line values. Each returns the value or null;
 * callers attach the file/line/key and the "expected ..." text.
 */
import { parseIP, parseIPv6, parseIPv4 } from './ip.js';
import type { HostPort } from './types.js';

export function parseUint(text: string, min: number, max: number): number | null {
  if (!/^[0-9]{1,10}$/.test(text)) return null;
  const v = Number(text);
  return v >= min && v <= max ? v : null;
}

/** "off" → 0, decimal, or 0x hex; at most 0xffffffff (wg's FwMark rules). */
export function parseFwMark(text: string): number | null {
  if (text.toLowerCase() === 'off') return 0;
  let v: number;
  if (/^0x[0-9a-fA-F]{1,8}$/.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^[0-9]{1,10}$/.test(text)) v = Number(text);
  else return null;
  return v <= 0xffffffff ? v : null;
}

/** "off" → 0, else 0-65535 seconds (wg: 0 also means off). */
export function parsePersistentKeepalive(text: string): number | null {
  if (text.toLowerCase() === 'off') return 0;
  return parseUint(text, 0, 65535);
}

export function parseBool(text: string): boolean | null {
  const t = text.toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  return null;
}

const LABEL = '[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOSTNAME_RE = new RegExp(`^${LABEL}(\\.${LABEL})*\\.?$`);

export function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  // All-numeric dotted text must be a real IPv4 address, not a "hostname".
  if (/^[0-9.]+$/.test(text)) return false;
  return HOSTNAME_RE.test(text);
}

/** An IPv6 literal with an optional %zone, as allowed inside brackets. */
function isIPv6WithZone(text: string): boolean {
  const pct = text.indexOf('%');
  if (pct === -1) return parseIPv6(text) !== null;
  // Any zone the endpoint accepts (interface names: 1-15 printable ASCII, no "/", ":", "]", "%").
  return parseIPv6(text.slice(0, pct)) !== null && /^[!-$&-.0-9;-\\^-~]{1,15}$/.test(text.slice(pct + 1));
}

export interface HostPortOptions {
  allowHostname: boolean;
  minPort: number;
}

/**
 * "1.2.3.4:51820", "[fd00::1]:51820", "host.example:51820", and (as wg accepts
 * through getaddrinfo) an unbracketed IPv6 literal whose last ":" starts the port.
 */
export function parseHostPort(text: string, opts: HostPortOptions): HostPort | null {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') return null;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6WithZone(host)) return null;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon === -1) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    const ok = host.includes(':') ? parseIPv6(host) !== null : parseIPv4(host) !== null || (opts.allowHostname && isHostname(host));
    if (!ok) return null;
  }
  const port = parseUint(portText, opts.minPort, 65535);
  if (port === null) return null;
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** True when the host is an IP literal (no resolution needed). */
export function isIpLiteral(host: string): boolean {
  const pct = host.indexOf('%');
  return parseIP(pct === -1 ? host : host.slice(0, pct)) !== null;
}
