/**
 * SOCKS5 wire format (RFC 1928) and username/password auth (RFC 1929) as
 * pure functions: bytes in, typed messages out. Incremental: every parser
 * returns `null` while the buffer holds an incomplete message, the parsed
 * message with the number of bytes it used otherwise, and throws only
 * `Socks5Error` for malformed input.
 */

export const SOCKS_VERSION = 5;
export const AUTH_VERSION = 1;

export const METHOD_NO_AUTH = 0x00;
export const METHOD_USER_PASS = 0x02;
export const METHOD_NONE_ACCEPTABLE = 0xff;

export const CMD_CONNECT = 1;
export const CMD_BIND = 2;
export const CMD_UDP_ASSOCIATE = 3;

export const ATYP_IPV4 = 1;
export const ATYP_DOMAIN = 3;
export const ATYP_IPV6 = 4;

/** Reply codes (RFC 1928 §6). */
export const REP_SUCCEEDED = 0;
export const REP_GENERAL_FAILURE = 1;
export const REP_NOT_ALLOWED = 2;
export const REP_NETWORK_UNREACHABLE = 3;
export const REP_HOST_UNREACHABLE = 4;
export const REP_CONNECTION_REFUSED = 5;
export const REP_TTL_EXPIRED = 6;
export const REP_COMMAND_NOT_SUPPORTED = 7;
export const REP_ADDRESS_TYPE_NOT_SUPPORTED = 8;

export class Socks5Error extends Error {
  /** The reply code to send, when a reply is still possible. */
  readonly reply: number;
  constructor(message: string, reply = REP_GENERAL_FAILURE) {
    super(message);
    this.name = 'Socks5Error';
    this.reply = reply;
  }
}

/** A destination: an IP literal (4 or 16 bytes) or a domain name. */
export type Socks5Address =
  | { readonly type: 'ipv4' | 'ipv6'; readonly addr: Uint8Array; readonly port: number }
  | { readonly type: 'domain'; readonly host: string; readonly port: number };

export interface Parsed<T> {
  readonly value: T;
  /** Bytes of the input this message used. */
  readonly length: number;
}

export interface Greeting {
  readonly methods: readonly number[];
}

export interface Socks5Request {
  readonly command: number;
  readonly destination: Socks5Address;
}

export interface UserPass {
  readonly username: string;
  readonly password: string;
}

export interface UdpDatagram {
  readonly fragment: number;
  readonly destination: Socks5Address;
  /** View into the input. */
  readonly data: Uint8Array;
}

/** VER NMETHODS METHODS... */
export function parseGreeting(b: Uint8Array): Parsed<Greeting> | null {
  if (b.length < 1) return null;
  if (b[0] !== SOCKS_VERSION) throw new Socks5Error(`unsupported SOCKS version ${b[0]}`);
  if (b.length < 2) return null;
  const n = b[1]!;
  if (n === 0) throw new Socks5Error('greeting offers no methods');
  if (b.length < 2 + n) return null;
  return { value: { methods: Array.from(b.subarray(2, 2 + n)) }, length: 2 + n };
}

/** The method the server picks: user/pass when credentials are required, else no-auth. */
export function chooseMethod(g: Greeting, requireAuth: boolean): number {
  const want = requireAuth ? METHOD_USER_PASS : METHOD_NO_AUTH;
  return g.methods.includes(want) ? want : METHOD_NONE_ACCEPTABLE;
}

export function buildMethodSelection(method: number): Uint8Array {
  return Uint8Array.of(SOCKS_VERSION, method);
}

/** RFC 1929: VER ULEN UNAME PLEN PASSWD. */
export function parseUserPass(b: Uint8Array): Parsed<UserPass> | null {
  if (b.length < 1) return null;
  if (b[0] !== AUTH_VERSION) throw new Socks5Error(`unsupported auth version ${b[0]}`);
  if (b.length < 2) return null;
  const ulen = b[1]!;
  if (b.length < 3 + ulen) return null;
  const plen = b[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (b.length < end) return null;
  const dec = new TextDecoder();
  return { value: { username: dec.decode(b.subarray(2, 2 + ulen)), password: dec.decode(b.subarray(3 + ulen, end)) }, length: end };
}

export function buildAuthReply(ok: boolean): Uint8Array {
  return Uint8Array.of(AUTH_VERSION, ok ? 0 : 1);
}

/** Parses ATYP ADDR PORT at b[off..]; null when incomplete. */
function parseAddressAt(b: Uint8Array, off: number): Parsed<Socks5Address> | null {
  if (b.length < off + 1) return null;
  const atyp = b[off]!;
  let addrLen: number;
  let start = off + 1;
  if (atyp === ATYP_IPV4) addrLen = 4;
  else if (atyp === ATYP_IPV6) addrLen = 16;
  else if (atyp === ATYP_DOMAIN) {
    if (b.length < off + 2) return null;
    addrLen = b[off + 1]!;
    if (addrLen === 0) throw new Socks5Error('empty domain name', REP_ADDRESS_TYPE_NOT_SUPPORTED);
    start = off + 2;
  } else throw new Socks5Error(`unsupported address type ${atyp}`, REP_ADDRESS_TYPE_NOT_SUPPORTED);
  const end = start + addrLen + 2;
  if (b.length < end) return null;
  const port = (b[end - 2]! << 8) | b[end - 1]!;
  let value: Socks5Address;
  if (atyp === ATYP_DOMAIN) {
    const host = new TextDecoder().decode(b.subarray(start, start + addrLen));
    value = { type: 'domain', host, port };
  } else {
    value = { type: atyp === ATYP_IPV4 ? 'ipv4' : 'ipv6', addr: new Uint8Array(b.subarray(start, start + addrLen)), port };
  }
  return { value, length: end - off };
}

/** VER CMD RSV ATYP DST.ADDR DST.PORT. */
export function parseRequest(b: Uint8Array): Parsed<Socks5Request> | null {
  if (b.length < 1) return null;
  if (b[0] !== SOCKS_VERSION) throw new Socks5Error(`unsupported SOCKS version ${b[0]}`);
  if (b.length < 3) return null;
  const command = b[1]!;
  const a = parseAddressAt(b, 3);
  if (!a) return null;
  if (command !== CMD_CONNECT && command !== CMD_BIND && command !== CMD_UDP_ASSOCIATE) {
    throw new Socks5Error(`unsupported command ${command}`, REP_COMMAND_NOT_SUPPORTED);
  }
  return { value: { command, destination: a.value }, length: 3 + a.length };
}

function addressBytes(a: Socks5Address): Uint8Array {
  if (a.type === 'domain') {
    const name = new TextEncoder().encode(a.host);
    if (name.length === 0 || name.length > 255) throw new Socks5Error('domain name length must be 1-255 bytes');
    const out = new Uint8Array(2 + name.length + 2);
    out[0] = ATYP_DOMAIN;
    out[1] = name.length;
    out.set(name, 2);
    out[out.length - 2] = a.port >> 8;
    out[out.length - 1] = a.port & 0xff;
    return out;
  }
  const out = new Uint8Array(1 + a.addr.length + 2);
  out[0] = a.type === 'ipv4' ? ATYP_IPV4 : ATYP_IPV6;
  out.set(a.addr, 1);
  out[out.length - 2] = a.port >> 8;
  out[out.length - 1] = a.port & 0xff;
  return out;
}

/** VER, a command or reply code, RSV, then ATYP ADDR PORT: requests and replies are framed alike. */
function frame(code: number, address: Socks5Address): Uint8Array {
  const a = addressBytes(address);
  const out = new Uint8Array(3 + a.length);
  out[0] = SOCKS_VERSION;
  out[1] = code;
  out.set(a, 3);
  return out;
}

/** VER REP RSV ATYP BND.ADDR BND.PORT. */
export function buildReply(rep: number, bound: Socks5Address = { type: 'ipv4', addr: new Uint8Array(4), port: 0 }): Uint8Array {
  return frame(rep, bound);
}

/** Client side of a request (used by tests and clients). */
export function buildRequest(command: number, dst: Socks5Address): Uint8Array {
  return frame(command, dst);
}

/** A whole reply from the server (client side). */
export function parseReply(b: Uint8Array): Parsed<{ reply: number; bound: Socks5Address }> | null {
  if (b.length < 1) return null;
  if (b[0] !== SOCKS_VERSION) throw new Socks5Error(`unsupported SOCKS version ${b[0]}`);
  if (b.length < 3) return null;
  const a = parseAddressAt(b, 3);
  if (!a) return null;
  return { value: { reply: b[1]!, bound: a.value }, length: 3 + a.length };
}

/** UDP relay header: RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA. Whole datagrams only. */
export function parseUdpDatagram(b: Uint8Array): UdpDatagram {
  if (b.length < 4) throw new Socks5Error('udp datagram too short');
  if (b[0] !== 0 || b[1] !== 0) throw new Socks5Error('udp datagram reserved bytes not zero');
  const a = parseAddressAt(b, 3);
  if (!a) throw new Socks5Error('udp datagram truncated');
  return { fragment: b[2]!, destination: a.value, data: b.subarray(3 + a.length) };
}

export function buildUdpDatagram(dst: Socks5Address, data: Uint8Array): Uint8Array {
  const a = addressBytes(dst);
  const out = new Uint8Array(3 + a.length + data.length);
  out.set(a, 3);
  out.set(data, 3 + a.length);
  return out;
}

export function replyName(rep: number): string {
  return (
    [
      'succeeded',
      'general failure',
      'not allowed by ruleset',
      'network unreachable',
      'host unreachable',
      'connection refused',
      'TTL expired',
      'command not supported',
      'address type not supported',
    ][rep] ?? `reply ${rep}`
  );
}

/** Maps a Node-style error code to a SOCKS reply. */
export function replyForError(code: string | undefined): number {
  switch (code) {
    case 'ECONNREFUSED':
      return REP_CONNECTION_REFUSED;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return REP_HOST_UNREACHABLE;
    case 'ENETUNREACH':
      return REP_NETWORK_UNREACHABLE;
    case 'ENOTFOUND':
      return REP_HOST_UNREACHABLE;
    default:
      return REP_GENERAL_FAILURE;
  }
}
