/**
 * The four WireGuard message types: exact sizes, field offsets, parse and
 * serialize. All integers little-endian; byte 0 is the type, bytes 1..3 zero.
 *
 * The device's hot paths read fields in place via the OFFSET constants and
 * the readU32/writeU32 helpers; the object parsers are for tests, tools and
 * the handshake path, where an object per message is cheap.
 */

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

export const INITIATION_SIZE = 148;
export const RESPONSE_SIZE = 92;
export const COOKIE_REPLY_SIZE = 64;
/** Header (16) + AEAD tag (16): an empty transport message is a keepalive. */
export const TRANSPORT_MIN_SIZE = 32;
export const TRANSPORT_HEADER_SIZE = 16;

export const INITIATION = {
  sender: 4,
  ephemeral: 8,
  static: 40, // 32 + 16
  timestamp: 88, // 12 + 16
  mac1: 116,
  mac2: 132,
} as const;

export const RESPONSE = {
  sender: 4,
  receiver: 8,
  ephemeral: 12,
  empty: 44, // 0 + 16
  mac1: 60,
  mac2: 76,
} as const;

export const COOKIE_REPLY = {
  receiver: 4,
  nonce: 8, // 24
  cookie: 32, // 16 + 16
} as const;

export const TRANSPORT = {
  receiver: 4,
  counter: 8,
  content: 16,
} as const;

export class MessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageError';
  }
}

export interface Initiation {
  type: typeof MESSAGE_INITIATION;
  sender: number;
  ephemeral: Uint8Array; // 32
  encryptedStatic: Uint8Array; // 48
  encryptedTimestamp: Uint8Array; // 28
  mac1: Uint8Array; // 16
  mac2: Uint8Array; // 16
}

export interface Response {
  type: typeof MESSAGE_RESPONSE;
  sender: number;
  receiver: number;
  ephemeral: Uint8Array; // 32
  encryptedNothing: Uint8Array; // 16
  mac1: Uint8Array;
  mac2: Uint8Array;
}

export interface CookieReply {
  type: typeof MESSAGE_COOKIE_REPLY;
  receiver: number;
  nonce: Uint8Array; // 24
  encryptedCookie: Uint8Array; // 32
}

export interface Transport {
  type: typeof MESSAGE_TRANSPORT;
  receiver: number;
  /** 64-bit counter as bigint: the parser keeps the exact wire value. */
  counter: bigint;
  content: Uint8Array; // ≥ 16
}

export type Message = Initiation | Response | CookieReply | Transport;

export function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

/** Writes a non-negative integer < 2^53 as a 64-bit little-endian value. */
export function writeU64Number(b: Uint8Array, off: number, v: number): void {
  const lo = v % 0x100000000;
  writeU32(b, off, lo);
  writeU32(b, off + 4, (v - lo) / 0x100000000);
}

/**
 * The message type of a datagram, or 0 when the first four bytes are not a
 * known type followed by three zero bytes, or the size is wrong for the type.
 */
export function messageType(b: Uint8Array): number {
  if (b.length < 4 || b[1] !== 0 || b[2] !== 0 || b[3] !== 0) return 0;
  const t = b[0]!;
  switch (t) {
    case MESSAGE_INITIATION:
      return b.length === INITIATION_SIZE ? t : 0;
    case MESSAGE_RESPONSE:
      return b.length === RESPONSE_SIZE ? t : 0;
    case MESSAGE_COOKIE_REPLY:
      return b.length === COOKIE_REPLY_SIZE ? t : 0;
    case MESSAGE_TRANSPORT:
      return b.length >= TRANSPORT_MIN_SIZE ? t : 0;
    default:
      return 0;
  }
}

function copy(b: Uint8Array, off: number, n: number): Uint8Array {
  return b.slice(off, off + n);
}

/** Parses any message; throws MessageError on a wrong size or type. */
export function parseMessage(b: Uint8Array): Message {
  if (!(b instanceof Uint8Array)) throw new MessageError('not a byte array');
  if (b.length < 4) throw new MessageError(`datagram too short: ${b.length} bytes`);
  if (b[1] !== 0 || b[2] !== 0 || b[3] !== 0) throw new MessageError('reserved header bytes are not zero');
  switch (b[0]) {
    case MESSAGE_INITIATION:
      return parseInitiation(b);
    case MESSAGE_RESPONSE:
      return parseResponse(b);
    case MESSAGE_COOKIE_REPLY:
      return parseCookieReply(b);
    case MESSAGE_TRANSPORT:
      return parseTransport(b);
    default:
      throw new MessageError(`unknown message type ${b[0]}`);
  }
}

function checkHeader(b: Uint8Array, type: number, size: number, exact: boolean): void {
  if (exact ? b.length !== size : b.length < size) {
    throw new MessageError(`message type ${type}: ${exact ? '' : 'at least '}${size} bytes expected, got ${b.length}`);
  }
  if (b[0] !== type || b[1] !== 0 || b[2] !== 0 || b[3] !== 0) {
    throw new MessageError(`message type ${type} expected`);
  }
}

export function parseInitiation(b: Uint8Array): Initiation {
  checkHeader(b, MESSAGE_INITIATION, INITIATION_SIZE, true);
  return {
    type: MESSAGE_INITIATION,
    sender: readU32(b, INITIATION.sender),
    ephemeral: copy(b, INITIATION.ephemeral, 32),
    encryptedStatic: copy(b, INITIATION.static, 48),
    encryptedTimestamp: copy(b, INITIATION.timestamp, 28),
    mac1: copy(b, INITIATION.mac1, 16),
    mac2: copy(b, INITIATION.mac2, 16),
  };
}

export function parseResponse(b: Uint8Array): Response {
  checkHeader(b, MESSAGE_RESPONSE, RESPONSE_SIZE, true);
  return {
    type: MESSAGE_RESPONSE,
    sender: readU32(b, RESPONSE.sender),
    receiver: readU32(b, RESPONSE.receiver),
    ephemeral: copy(b, RESPONSE.ephemeral, 32),
    encryptedNothing: copy(b, RESPONSE.empty, 16),
    mac1: copy(b, RESPONSE.mac1, 16),
    mac2: copy(b, RESPONSE.mac2, 16),
  };
}

export function parseCookieReply(b: Uint8Array): CookieReply {
  checkHeader(b, MESSAGE_COOKIE_REPLY, COOKIE_REPLY_SIZE, true);
  return {
    type: MESSAGE_COOKIE_REPLY,
    receiver: readU32(b, COOKIE_REPLY.receiver),
    nonce: copy(b, COOKIE_REPLY.nonce, 24),
    encryptedCookie: copy(b, COOKIE_REPLY.cookie, 32),
  };
}

export function parseTransport(b: Uint8Array): Transport {
  checkHeader(b, MESSAGE_TRANSPORT, TRANSPORT_MIN_SIZE, false);
  const lo = BigInt(readU32(b, TRANSPORT.counter));
  const hi = BigInt(readU32(b, TRANSPORT.counter + 4));
  return {
    type: MESSAGE_TRANSPORT,
    receiver: readU32(b, TRANSPORT.receiver),
    counter: (hi << 32n) | lo,
    content: b.slice(TRANSPORT.content),
  };
}

function put(out: Uint8Array, off: number, field: Uint8Array, n: number, name: string): void {
  if (field.length !== n) throw new MessageError(`${name}: ${n} bytes expected, got ${field.length}`);
  out.set(field, off);
}

function header(out: Uint8Array, type: number): void {
  out[0] = type;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
}

function checkIndex(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new MessageError(`${name}: not a 32-bit index`);
}

export function serializeMessage(m: Message): Uint8Array {
  switch (m.type) {
    case MESSAGE_INITIATION: {
      checkIndex(m.sender, 'sender');
      const out = new Uint8Array(INITIATION_SIZE);
      header(out, m.type);
      writeU32(out, INITIATION.sender, m.sender);
      put(out, INITIATION.ephemeral, m.ephemeral, 32, 'ephemeral');
      put(out, INITIATION.static, m.encryptedStatic, 48, 'encryptedStatic');
      put(out, INITIATION.timestamp, m.encryptedTimestamp, 28, 'encryptedTimestamp');
      put(out, INITIATION.mac1, m.mac1, 16, 'mac1');
      put(out, INITIATION.mac2, m.mac2, 16, 'mac2');
      return out;
    }
    case MESSAGE_RESPONSE: {
      checkIndex(m.sender, 'sender');
      checkIndex(m.receiver, 'receiver');
      const out = new Uint8Array(RESPONSE_SIZE);
      header(out, m.type);
      writeU32(out, RESPONSE.sender, m.sender);
      writeU32(out, RESPONSE.receiver, m.receiver);
      put(out, RESPONSE.ephemeral, m.ephemeral, 32, 'ephemeral');
      put(out, RESPONSE.empty, m.encryptedNothing, 16, 'encryptedNothing');
      put(out, RESPONSE.mac1, m.mac1, 16, 'mac1');
      put(out, RESPONSE.mac2, m.mac2, 16, 'mac2');
      return out;
    }
    case MESSAGE_COOKIE_REPLY: {
      checkIndex(m.receiver, 'receiver');
      const out = new Uint8Array(COOKIE_REPLY_SIZE);
      header(out, m.type);
      writeU32(out, COOKIE_REPLY.receiver, m.receiver);
      put(out, COOKIE_REPLY.nonce, m.nonce, 24, 'nonce');
      put(out, COOKIE_REPLY.cookie, m.encryptedCookie, 32, 'encryptedCookie');
      return out;
    }
    case MESSAGE_TRANSPORT: {
      checkIndex(m.receiver, 'receiver');
      if (m.content.length < 16) throw new MessageError('transport content shorter than the AEAD tag');
      if (m.counter < 0n || m.counter >= 1n << 64n) throw new MessageError('counter: not a 64-bit value');
      const out = new Uint8Array(TRANSPORT_HEADER_SIZE + m.content.length);
      header(out, m.type);
      writeU32(out, TRANSPORT.receiver, m.receiver);
      writeU32(out, TRANSPORT.counter, Number(m.counter & 0xffffffffn));
      writeU32(out, TRANSPORT.counter + 4, Number(m.counter >> 32n));
      out.set(m.content, TRANSPORT.content);
      return out;
    }
    default:
      throw new MessageError('unknown message type');
  }
}
