/**
 * mac1/mac2 and cookies (WireGuard §5.4.4, §5.4.7).
 * - CookieChecker: our side as a receiver of handshake messages — checks mac1
 *   (cheap filter before any DH) and, under load, mac2; makes cookie replies.
 * - CookieGenerator: per peer, our side as a sender — fills mac1/mac2 and
 *   stores the cookie from a reply.
 * Time (`now`, ms) and randomness (nonces, secrets) come in as arguments.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { COOKIE_REFRESH_TIME, LABEL_COOKIE, LABEL_MAC1 } from './constants.js';
import { COOKIE_REPLY, COOKIE_REPLY_SIZE, MESSAGE_COOKIE_REPLY, writeU32 } from './messages.js';
import { parseIP } from './allowedips.js';
import { constantTimeEqual } from './noise.js';

const utf8 = new TextEncoder();
const MAC1_LABEL = utf8.encode(LABEL_MAC1);
const COOKIE_LABEL = utf8.encode(LABEL_COOKIE);

/** HASH("mac1----" ‖ public key of the receiver of the message). */
export function mac1KeyFor(crypto: CryptoProvider, publicKey: Uint8Array): Uint8Array {
  return crypto.hash(MAC1_LABEL, publicKey);
}

/** HASH("cookie--" ‖ public key of the sender of the cookie reply). */
export function cookieKeyFor(crypto: CryptoProvider, publicKey: Uint8Array): Uint8Array {
  return crypto.hash(COOKIE_LABEL, publicKey);
}

/** Offset of mac1 in a handshake message: the last 32 bytes are mac1 ‖ mac2. */
export function mac1Offset(msg: Uint8Array): number {
  return msg.length - 32;
}
export function mac2Offset(msg: Uint8Array): number {
  return msg.length - 16;
}

/** Cookie-reply nonces drawn from the random source per this many replies (one call, not one per reply). */
const NONCE_POOL_REPLIES = 64;

export class CookieChecker {
  private mac1Key: Uint8Array | null = null;
  private cookieKey: Uint8Array | null = null;
  private readonly secret = new Uint8Array(32);
  private secretSet = -Infinity;
  /** Bumped whenever `secret` changes: invalidates the memoized cookie. */
  private secretGen = 0;
  // The last cookie computed (MAC(secret, source)): a flood from one source, and the
  // mac2 check followed by the reply to the same message, compute it once.
  private readonly memoCookie = new Uint8Array(16);
  private readonly memoSource = new Uint8Array(64);
  private memoSourceLength = -1;
  private memoGen = -1;
  private noncePool: Uint8Array = new Uint8Array(0);
  private noncePos = 0;
  /** The last reply: reused, valid until the next createReply (callers send or copy it at once). */
  private readonly reply = new Uint8Array(COOKIE_REPLY_SIZE);

  constructor(
    private readonly crypto: CryptoProvider,
    private readonly random: (n: number) => Uint8Array,
  ) {}

  /** Sets our public key (null: no identity, every check fails). */
  init(publicKey: Uint8Array | null): void {
    this.mac1Key = publicKey ? mac1KeyFor(this.crypto, publicKey) : null;
    this.cookieKey = publicKey ? cookieKeyFor(this.crypto, publicKey) : null;
  }

  checkMac1(msg: Uint8Array): boolean {
    if (!this.mac1Key || msg.length < 32) return false;
    const o = mac1Offset(msg);
    const mac = this.crypto.mac(this.mac1Key, msg.subarray(0, o));
    return constantTimeEqual(mac, msg.subarray(o, o + 16));
  }

  /** `source` = the sender's address bytes (see sourceBytes). */
  checkMac2(msg: Uint8Array, source: Uint8Array, now: number): boolean {
    if (msg.length < 32 || now - this.secretSet > COOKIE_REFRESH_TIME) return false;
    const cookie = this.cookieFor(source);
    const o = mac2Offset(msg);
    const mac = this.crypto.mac(cookie, msg.subarray(0, o));
    return constantTimeEqual(mac, msg.subarray(o, o + 16));
  }

  /**
   * A 64-byte cookie reply to handshake message `msg` from `source`. The returned
   * array is reused: it is valid until the next call.
   */
  createReply(msg: Uint8Array, receiverIndex: number, source: Uint8Array, now: number): Uint8Array | null {
    if (!this.cookieKey || msg.length < 32) return null;
    if (now - this.secretSet > COOKIE_REFRESH_TIME) {
      this.secret.set(this.random(32));
      this.secretSet = now;
      this.secretGen++;
    }
    const cookie = this.cookieFor(source);
    const out = this.reply;
    const nonce = out.subarray(COOKIE_REPLY.nonce, COOKIE_REPLY.nonce + 24);
    if (this.noncePos + 24 > this.noncePool.length) {
      this.noncePool = this.random(24 * NONCE_POOL_REPLIES);
      this.noncePos = 0;
    }
    nonce.set(this.noncePool.subarray(this.noncePos, this.noncePos + 24));
    this.noncePos += 24;
    const m1 = mac1Offset(msg);
    const sealed = this.crypto.xseal(this.cookieKey, nonce, cookie, msg.subarray(m1, m1 + 16));
    out[0] = MESSAGE_COOKIE_REPLY;
    out[1] = out[2] = out[3] = 0;
    writeU32(out, COOKIE_REPLY.receiver, receiverIndex);
    out.set(sealed, COOKIE_REPLY.cookie);
    return out;
  }

  /** MAC(secret, source), memoized for the last source under the current secret. */
  private cookieFor(source: Uint8Array): Uint8Array {
    const n = source.length;
    if (this.memoGen === this.secretGen && this.memoSourceLength === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (this.memoSource[i] !== source[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.memoCookie;
    }
    this.memoCookie.set(this.crypto.mac(this.secret, source));
    if (n <= this.memoSource.length) {
      this.memoSource.set(source);
      this.memoSourceLength = n;
      this.memoGen = this.secretGen;
    } else {
      this.memoSourceLength = -1;
    }
    return this.memoCookie;
  }
}

export class CookieGenerator {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private cookie: Uint8Array | null = null;
  private cookieSet = -Infinity;
  private readonly lastMac1 = new Uint8Array(16);
  private hasLastMac1 = false;

  constructor(
    private readonly crypto: CryptoProvider,
    peerPublicKey: Uint8Array,
  ) {
    this.mac1Key = mac1KeyFor(crypto, peerPublicKey);
    this.cookieKey = cookieKeyFor(crypto, peerPublicKey);
  }

  /** Stores the cookie of a 64-byte reply to the last message we MACed. */
  consumeReply(reply: Uint8Array, now: number): boolean {
    if (!this.hasLastMac1 || reply.length !== COOKIE_REPLY_SIZE) return false;
    const nonce = reply.subarray(COOKIE_REPLY.nonce, COOKIE_REPLY.nonce + 24);
    const sealed = reply.subarray(COOKIE_REPLY.cookie, COOKIE_REPLY.cookie + 32);
    const cookie = this.crypto.xopen(this.cookieKey, nonce, sealed, this.lastMac1);
    if (!cookie || cookie.length !== 16) return false;
    this.cookie = cookie;
    this.cookieSet = now;
    return true;
  }

  /** Fills mac1 and mac2 (mac2 zero unless a cookie younger than 120 s is held). */
  addMacs(msg: Uint8Array, now: number): void {
    const m1 = mac1Offset(msg);
    const m2 = mac2Offset(msg);
    const mac1 = this.crypto.mac(this.mac1Key, msg.subarray(0, m1));
    msg.set(mac1, m1);
    this.lastMac1.set(mac1);
    this.hasLastMac1 = true;
    if (!this.cookie || now - this.cookieSet > COOKIE_REFRESH_TIME) {
      msg.fill(0, m2, m2 + 16);
      return;
    }
    msg.set(this.crypto.mac(this.cookie, msg.subarray(0, m2)), m2);
  }

  /** True while a cookie younger than 120 s is held (for tests and status). */
  hasCookie(now: number): boolean {
    return this.cookie !== null && now - this.cookieSet <= COOKIE_REFRESH_TIME;
  }
}

/**
 * An endpoint address as 4 or 16 bytes, or null. An IPv6 %zone is ignored and
 * an IPv4-mapped IPv6 address (dual-stack sockets) becomes its IPv4 address,
 * so the rate limiter keys it per address rather than per ::ffff:0:0/64.
 */
export function endpointIP(address: string): Uint8Array | null {
  const pct = address.indexOf('%');
  const ip = parseIP(pct < 0 ? address : address.slice(0, pct));
  if (ip && ip.length === 16 && ip[10] === 0xff && ip[11] === 0xff && ip.subarray(0, 10).every((b) => b === 0)) return ip.slice(12);
  return ip;
}

/**
 * The bytes that identify a datagram's source for cookies: address ‖ port
 * (big-endian). Opaque to the peer, so the layout is ours. A non-IP address
 * (an adapter-specific name) is keyed on its text.
 */
export function sourceBytes(address: string, port: number): Uint8Array {
  const ip = endpointIP(address) ?? utf8.encode(address);
  const out = new Uint8Array(ip.length + 2);
  out.set(ip);
  out[ip.length] = (port >> 8) & 0xff;
  out[ip.length + 1] = port & 0xff;
  return out;
}
