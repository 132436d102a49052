/**
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it: the identifier is
 * the prologue, the initiation payload is a TAI64N timestamp, the response
 * payload is empty, and mac1/mac2 live outside Noise (cookie.ts).
 *
 * These functions are pure over their inputs plus the Handshake object they
 * update; randomness (ephemerals, indices) and time (timestamps) come in as
 * arguments so a test can replay a transcript exactly.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { CONSTRUCTION, IDENTIFIER } from './constants.js';
import { INITIATION, RESPONSE, MESSAGE_INITIATION, MESSAGE_RESPONSE, readU32, writeU32 } from './messages.js';

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);
export const ZERO_KEY = new Uint8Array(32);

/** Handshake states (wireguard-go's handshakeState). */
export const HandshakeState = {
  Zeroed: 0,
  InitiationCreated: 1,
  InitiationConsumed: 2,
  ResponseCreated: 3,
  ResponseConsumed: 4,
} as const;
export type HandshakeStateValue = (typeof HandshakeState)[keyof typeof HandshakeState];

let chainKey0: Uint8Array | null = null;
let hash0: Uint8Array | null = null;

/** C0 = HASH(construction). Identical for every backend, so cached once. */
export function initialChainKey(crypto: CryptoProvider): Uint8Array {
  if (!chainKey0) chainKey0 = crypto.hash(utf8.encode(CONSTRUCTION));
  return chainKey0;
}

/** H0 = HASH(C0 ‖ identifier). */
export function initialHash(crypto: CryptoProvider): Uint8Array {
  if (!hash0) hash0 = crypto.hash(initialChainKey(crypto), utf8.encode(IDENTIFIER));
  return hash0;
}

/** HASH(H0 ‖ S_pub_responder): the hash both sides start from. */
export function responderInitialHash(crypto: CryptoProvider, responderStatic: Uint8Array): Uint8Array {
  return crypto.hash(initialHash(crypto), responderStatic);
}

export { clampPrivateKey, constantTimeEqual, isAllZero as isZero } from '../crypto/util.js';

/** Zeroes secrets that are no longer needed (where the runtime lets us: our own buffers). */
function wipe(...bufs: (Uint8Array | null | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/** Noise MixKey without a key output: C = KDF1(C, dh). The old C and the DH result are wiped. */
function mixDh(crypto: CryptoProvider, chainKey: Uint8Array, dh: Uint8Array): Uint8Array {
  const [next] = crypto.kdf(1, chainKey, dh);
  wipe(chainKey, dh);
  return next;
}

/**
 * The response's preshared-key step: (C, τ, k) = KDF3(C, psk), H = HASH(H ‖ τ).
 * The old C and τ are wiped; the caller wipes `key` after use.
 */
function mixPresharedKey(
  crypto: CryptoProvider,
  chainKey: Uint8Array,
  hash: Uint8Array,
  presharedKey: Uint8Array,
): { chainKey: Uint8Array; hash: Uint8Array; key: Uint8Array } {
  const [nextChainKey, tau, key] = crypto.kdf(3, chainKey, presharedKey);
  wipe(chainKey);
  const nextHash = crypto.hash(hash, tau);
  wipe(tau);
  return { chainKey: nextChainKey, hash: nextHash, key };
}

/** Installs a message we created into `hs`; a retransmission's previous secrets go. */
function adoptCreated(
  hs: Handshake,
  state: HandshakeStateValue,
  hash: Uint8Array,
  chainKey: Uint8Array,
  ephemeralPrivate: Uint8Array,
  senderIndex: number,
): void {
  if (hs.chainKey !== chainKey) wipe(hs.chainKey);
  if (hs.localEphemeral !== ephemeralPrivate) wipe(hs.localEphemeral);
  hs.hash = hash;
  hs.chainKey = chainKey;
  hs.localEphemeral = ephemeralPrivate;
  hs.localIndex = senderIndex;
  hs.state = state;
}

/**
 * An ephemeral key pair prepared ahead of the next handshake message to one peer, with
 * DH(ephemeral, the peer's static) — `es` when we initiate, `se` when we respond: the same
 * value. Computed in idle time so the message pays neither the key derivation nor that DH.
 * Used at most once: createInitiation/createResponse take it over (the private key becomes
 * the handshake's ephemeral, wiped with it; the DH result is wiped at once).
 */
export class PreparedEphemeral {
  constructor(
    readonly privateKey: Uint8Array,
    readonly publicKey: Uint8Array,
    readonly remoteStaticDh: Uint8Array,
    /** The caller's clock when prepared (the Device expires old ones). */
    readonly preparedAt: number,
  ) {}

  wipe(): void {
    this.privateKey.fill(0);
    this.remoteStaticDh.fill(0);
  }
}

/**
 * Prepares `ephemeralPrivate` (clamped) for the next message to `remoteStatic`. Null (and
 * the private key wiped) when the DH result is zero (a low-order peer key).
 */
export function prepareEphemeral(
  crypto: CryptoProvider,
  remoteStatic: Uint8Array,
  ephemeralPrivate: Uint8Array,
  now: number,
): PreparedEphemeral | null {
  const dh = crypto.sharedSecret(ephemeralPrivate, remoteStatic);
  if (!dh) return wipe(ephemeralPrivate), null;
  return new PreparedEphemeral(ephemeralPrivate, crypto.publicKey(ephemeralPrivate), dh, now);
}

/** A raw ephemeral prepared on the spot (the same work as ahead of time), or the prepared one; null on a zero DH. */
function ephemeralParts(crypto: CryptoProvider, remoteStatic: Uint8Array, eph: Uint8Array | PreparedEphemeral): PreparedEphemeral | null {
  return eph instanceof PreparedEphemeral ? eph : prepareEphemeral(crypto, remoteStatic, eph, 0);
}

/** Wipes a prepared ephemeral that will not be used (single use); returns false. */
function discard(eph: Uint8Array | PreparedEphemeral): false {
  if (eph instanceof PreparedEphemeral) eph.wipe();
  return false;
}

/** Per-peer handshake state (one per peer, reused across handshakes). */
export class Handshake {
  state: HandshakeStateValue = HandshakeState.Zeroed;
  hash: Uint8Array = new Uint8Array(32);
  chainKey: Uint8Array = new Uint8Array(32);
  /** All zeros means "no preshared key", exactly as WireGuard mixes it. */
  presharedKey: Uint8Array = new Uint8Array(32);
  localEphemeral: Uint8Array | null = null;
  /** Our index for this handshake; -1 when none is registered. */
  localIndex = -1;
  remoteIndex = 0;
  remoteEphemeral: Uint8Array = new Uint8Array(32);
  /** DH(our static, their static); null when no private key or a low-order result. */
  precomputedStaticStatic: Uint8Array | null = null;
  /** The ephemeral for our next message to this peer, when prepared ahead (single use). */
  preparedEphemeral: PreparedEphemeral | null = null;
  /** HASH(H0 ‖ remoteStatic), used when we initiate. */
  readonly remoteInitialHash: Uint8Array;
  /** Greatest TAI64N timestamp accepted from this peer. */
  lastTimestamp: Uint8Array = new Uint8Array(12);
  lastInitiationConsumption = -Infinity;
  lastSentHandshake = -Infinity;

  constructor(
    readonly remoteStatic: Uint8Array,
    crypto: CryptoProvider,
  ) {
    this.remoteInitialHash = responderInitialHash(crypto, remoteStatic);
  }

  /** Forgets the in-flight handshake (not the replay/flood history). */
  clear(): void {
    this.state = HandshakeState.Zeroed;
    this.hash.fill(0);
    this.chainKey.fill(0);
    this.localEphemeral?.fill(0);
    this.localEphemeral = null;
    this.remoteEphemeral.fill(0);
    this.remoteIndex = 0;
    this.localIndex = -1;
  }
}

/**
 * Fills bytes [0, mac1) of a 148-byte initiation and moves `hs` to
 * InitiationCreated. Returns false (hs untouched) when a DH result is zero or
 * the static-static DH is unavailable. `ephemeral` is a raw private key or one
 * prepared for this peer (prepareEphemeral), which is consumed either way.
 */
export function createInitiation(
  crypto: CryptoProvider,
  hs: Handshake,
  localStaticPublic: Uint8Array,
  ephemeral: Uint8Array | PreparedEphemeral,
  timestamp: Uint8Array,
  senderIndex: number,
  out: Uint8Array,
): boolean {
  if (!hs.precomputedStaticStatic) return discard(ephemeral);
  const parts = ephemeralParts(crypto, hs.remoteStatic, ephemeral);
  if (!parts) return false;
  const { privateKey: ephemeralPrivate, publicKey: ephemeralPublic, remoteStaticDh: es } = parts;
  let hash = crypto.hash(hs.remoteInitialHash, ephemeralPublic);
  let [chainKey] = crypto.kdf(1, initialChainKey(crypto), ephemeralPublic);
  let key: Uint8Array;
  let prev = chainKey;
  [chainKey, key] = crypto.kdf(2, chainKey, es);
  wipe(prev, es);

  out[0] = MESSAGE_INITIATION;
  out[1] = out[2] = out[3] = 0;
  writeU32(out, INITIATION.sender, senderIndex);
  out.set(ephemeralPublic, INITIATION.ephemeral);
  crypto.seal(key, 0, localStaticPublic, hash, out, INITIATION.static);
  hash = crypto.hash(hash, out.subarray(INITIATION.static, INITIATION.timestamp));
  wipe(key);
  prev = chainKey;
  [chainKey, key] = crypto.kdf(2, chainKey, hs.precomputedStaticStatic);
  wipe(prev);
  crypto.seal(key, 0, timestamp, hash, out, INITIATION.timestamp);
  wipe(key);
  hash = crypto.hash(hash, out.subarray(INITIATION.timestamp, INITIATION.mac1));

  adoptCreated(hs, HandshakeState.InitiationCreated, hash, chainKey, ephemeralPrivate, senderIndex);
  return true;
}

export interface ConsumedInitiation {
  remoteStatic: Uint8Array;
  remoteIndex: number;
  remoteEphemeral: Uint8Array;
  timestamp: Uint8Array;
  hash: Uint8Array;
  chainKey: Uint8Array;
}

/**
 * Decrypts an initiation addressed to us. `staticStaticFor` maps the
 * decrypted initiator static key to the precomputed DH with it (undefined for
 * an unknown peer, null for an unusable one). Returns null on any failure.
 * Replay and flood checks are the caller's (they need the peer's history).
 */
export function consumeInitiation(
  crypto: CryptoProvider,
  msg: Uint8Array,
  localPrivate: Uint8Array,
  localInitialHash: Uint8Array,
  staticStaticFor: (remoteStatic: Uint8Array) => Uint8Array | null | undefined,
): ConsumedInitiation | null {
  const ephemeral = msg.slice(INITIATION.ephemeral, INITIATION.ephemeral + 32);
  let hash = crypto.hash(localInitialHash, ephemeral);
  let [chainKey] = crypto.kdf(1, initialChainKey(crypto), ephemeral);
  const es = crypto.sharedSecret(localPrivate, ephemeral);
  if (!es) return null;
  let key: Uint8Array;
  let prev = chainKey;
  [chainKey, key] = crypto.kdf(2, chainKey, es);
  wipe(prev, es);
  const encStatic = msg.subarray(INITIATION.static, INITIATION.timestamp);
  const remoteStatic = new Uint8Array(32);
  const staticOk = crypto.open(key, 0, encStatic, hash, remoteStatic, 0) === 32;
  wipe(key);
  if (!staticOk) return wipe(chainKey), null;
  hash = crypto.hash(hash, encStatic);
  const ss = staticStaticFor(remoteStatic);
  if (!ss) return wipe(chainKey), null;
  prev = chainKey;
  [chainKey, key] = crypto.kdf(2, chainKey, ss); // ss is the peer's precomputed value: kept
  wipe(prev);
  const encTimestamp = msg.subarray(INITIATION.timestamp, INITIATION.mac1);
  const timestamp = new Uint8Array(12);
  const timestampOk = crypto.open(key, 0, encTimestamp, hash, timestamp, 0) === 12;
  wipe(key);
  if (!timestampOk) return wipe(chainKey), null;
  hash = crypto.hash(hash, encTimestamp);
  return { remoteStatic, remoteIndex: readU32(msg, INITIATION.sender), remoteEphemeral: ephemeral, timestamp, hash, chainKey };
}

/**
 * Fills bytes [0, mac1) of a 92-byte response from a consumed initiation and
 * moves `hs` to ResponseCreated. Returns false when hs is not in
 * InitiationConsumed or a DH result is zero.
 */
export function createResponse(
  crypto: CryptoProvider,
  hs: Handshake,
  ephemeral: Uint8Array | PreparedEphemeral,
  senderIndex: number,
  out: Uint8Array,
): boolean {
  if (hs.state !== HandshakeState.InitiationConsumed) return discard(ephemeral);
  const parts = ephemeralParts(crypto, hs.remoteStatic, ephemeral);
  if (!parts) return false;
  const { privateKey: ephemeralPrivate, publicKey: ephemeralPublic, remoteStaticDh: se } = parts;
  let hash = crypto.hash(hs.hash, ephemeralPublic);
  let [chainKey] = crypto.kdf(1, hs.chainKey, ephemeralPublic);
  const ee = crypto.sharedSecret(ephemeralPrivate, hs.remoteEphemeral);
  if (!ee) return wipe(chainKey, se, ephemeralPrivate), false; // never used again
  chainKey = mixDh(crypto, chainKey, ee);
  chainKey = mixDh(crypto, chainKey, se);
  let key: Uint8Array;
  ({ chainKey, hash, key } = mixPresharedKey(crypto, chainKey, hash, hs.presharedKey));

  out[0] = MESSAGE_RESPONSE;
  out[1] = out[2] = out[3] = 0;
  writeU32(out, RESPONSE.sender, senderIndex);
  writeU32(out, RESPONSE.receiver, hs.remoteIndex);
  out.set(ephemeralPublic, RESPONSE.ephemeral);
  crypto.seal(key, 0, EMPTY, hash, out, RESPONSE.empty);
  wipe(key);
  hash = crypto.hash(hash, out.subarray(RESPONSE.empty, RESPONSE.mac1));

  adoptCreated(hs, HandshakeState.ResponseCreated, hash, chainKey, ephemeralPrivate, senderIndex);
  return true;
}

export interface ConsumedResponse {
  remoteIndex: number;
  hash: Uint8Array;
  chainKey: Uint8Array;
}

/** Processes a response to our initiation in `hs`; null on any failure. */
export function consumeResponse(
  crypto: CryptoProvider,
  msg: Uint8Array,
  hs: Handshake,
  localPrivate: Uint8Array,
): ConsumedResponse | null {
  if (hs.state !== HandshakeState.InitiationCreated || !hs.localEphemeral) return null;
  const ephemeral = msg.subarray(RESPONSE.ephemeral, RESPONSE.ephemeral + 32);
  let hash = crypto.hash(hs.hash, ephemeral);
  let [chainKey] = crypto.kdf(1, hs.chainKey, ephemeral);
  const ee = crypto.sharedSecret(hs.localEphemeral, ephemeral);
  if (!ee) return wipe(chainKey), null;
  chainKey = mixDh(crypto, chainKey, ee);
  const se = crypto.sharedSecret(localPrivate, ephemeral);
  if (!se) return wipe(chainKey), null;
  chainKey = mixDh(crypto, chainKey, se);
  let key: Uint8Array;
  ({ chainKey, hash, key } = mixPresharedKey(crypto, chainKey, hash, hs.presharedKey));
  const encNothing = msg.subarray(RESPONSE.empty, RESPONSE.mac1);
  const scratch = new Uint8Array(0);
  const ok = crypto.open(key, 0, encNothing, hash, scratch, 0) === 0;
  wipe(key);
  if (!ok) return wipe(chainKey), null;
  hash = crypto.hash(hash, encNothing);
  return { remoteIndex: readU32(msg, RESPONSE.sender), hash, chainKey };
}

/** (T_send, T_recv) = KDF2(C, ε) for the initiator, swapped for the responder. */
export function deriveTransportKeys(
  crypto: CryptoProvider,
  chainKey: Uint8Array,
  isInitiator: boolean,
): { send: Uint8Array; recv: Uint8Array } {
  const [t1, t2] = crypto.kdf(2, chainKey, EMPTY);
  return isInitiator ? { send: t1, recv: t2 } : { send: t2, recv: t1 };
}
