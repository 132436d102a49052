/**
 * The WireGuard Device: a sans-I/O state machine. Datagrams and local IP
 * packets come in with the current time; datagrams and decrypted packets go
 * out through DeviceIO; `nextDeadline()` says when `tick()` must run next.
 *
 * Behaviour mirrors wireguard-go's device package (receive.go, send.go,
 * timers.go, noise-protocol.go, cookie.go) so the two interoperate.
 * Where a sans-I/O core must differ:
 * - Counters are JS numbers: wire counters ≥ 2^53 are refused and a keypair
 *   is exhausted below 2^53 (constants.ts COUNTER_LIMIT) — unreachable in
 *   practice since REJECT_AFTER_TIME retires a keypair after 180 s.
 * - "Under load" cannot be a queue depth here: more than `underLoadThreshold`
 *   mac1-valid handshake messages in a 1 s window (default 128) puts the
 *   device under load for 1 s; adapters that see a real backlog call
 *   setUnderLoad(now).
 * - wireguard-go drops handshake messages when its bounded handshake queue
 *   is full, before any MAC is checked. There is no queue here: under load, a
 *   token bucket of `handshakeBudget` messages per second (default 16384,
 *   burst a tenth of a second's worth) stands in for it, so a flood costs at
 *   most that many mac1 checks and cookie replies and transport keeps the rest.
 * - Handshake retries: 1 initiation + 19 retries (wireguard-go's
 *   MaxTimerHandshakes+2 = 20 sends), then give up, ~100 s in all.
 * Reentrancy: DeviceIO callbacks may call sendPacket(); they must not call
 * receiveDatagram() of the same device synchronously (queue it instead).
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { defaultCrypto } from '../crypto/index.js';
import { AllowedIPs } from './allowedips.js';
import {
  COUNTER_LIMIT_HIGH_WORD,
  DEFAULT_MTU,
  HANDSHAKE_INITIATION_RATE,
  MAX_PEERS,
  PADDING_MULTIPLE,
  RECEIVE_REKEY_AGE,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
  SEND_COUNTER_LIMIT,
  SEND_REKEY_AFTER_MESSAGES,
  UNDER_LOAD_AFTER_TIME,
  UNDER_LOAD_THRESHOLD,
} from './constants.js';
import { CookieChecker, endpointIP, sourceBytes } from './cookie.js';
import { Keypair } from './keypair.js';
import {
  INITIATION_SIZE,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  RESPONSE,
  TRANSPORT,
  TRANSPORT_HEADER_SIZE,
  messageType,
  readU32,
  writeU32,
  writeU64Number,
} from './messages.js';
import {
  HandshakeState,
  clampPrivateKey,
  constantTimeEqual,
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  deriveTransportKeys,
  prepareEphemeral,
  responderInitialHash,
  type PreparedEphemeral,
} from './noise.js';
import { Peer, copyEndpoint, toHex, type Endpoint, type PeerHost } from './peer.js';
import { RateLimiter } from './ratelimiter.js';
import { tai64n, tai64nAfter } from './tai64n.js';
import type { TimerActions } from './timers.js';

export type { Endpoint } from './peer.js';

/**
 * How long an ephemeral prepared ahead may wait for its handshake message before it is wiped
 * unused: REJECT_AFTER_TIME, as long as the session keys of a handshake stay in memory, so a
 * peer that rekeys every REKEY_AFTER_TIME still finds its next one prepared.
 */
export const PREPARED_EPHEMERAL_MAX_AGE = REJECT_AFTER_TIME;
export { Peer } from './peer.js';

export interface DeviceIO {
  /** `data` may be a view into a reused buffer: valid only during the call. */
  sendDatagram(data: Uint8Array, to: Endpoint): void;
  /** Decrypted inner IP packet, trimmed to its IP length; valid only during the call. */
  deliverPacket(packet: Uint8Array, peer: Peer): void;
  /** A handshake completed (either role). */
  onHandshake?(peer: Peer): void;
}

export interface DeviceOptions {
  io: DeviceIO;
  crypto?: CryptoProvider;
  mtu?: number;
  /** Randomness for ephemerals, indices, jitter, cookie secrets and nonces (tests inject it). */
  random?: (n: number) => Uint8Array;
  /** Handshake messages per 1 s window above which the device counts as under load. */
  underLoadThreshold?: number;
  /** Under load, handshake messages looked at per second (mac1 onwards); the rest are dropped unread. */
  handshakeBudget?: number;
}

/** Default DeviceOptions.handshakeBudget: ~60 ms of CPU per second at ~3.6 µs per cookie reply. */
export const HANDSHAKE_BUDGET = 16384;

export const DROP_REASONS = [
  'malformed', // wrong size or type
  'no-identity', // handshake while we have no private key
  'mac1', // bad mac1
  'handshake-budget', // under load, beyond the handshake messages looked at per second (wireguard-go: queue full)
  'cookie-sent', // under load without a valid mac2: answered with a cookie reply
  'rate-limited', // under load, per-source handshake rate limit
  'handshake-invalid', // failed decryption/DH, or wrong state
  'unknown-peer', // initiation from a static key we do not know
  'unknown-index', // response/cookie reply for an index we do not have
  'cookie-invalid', // cookie reply that does not decrypt
  'timestamp-replay', // initiation timestamp not newer than the last one
  'initiation-flood', // initiation within 20 ms of the last accepted one
  'no-keypair', // transport for an unknown index
  'expired-keypair', // transport on a keypair older than 180 s
  'counter-limit', // transport counter ≥ 2^53 (see constants.ts)
  'decrypt-failed', // transport authentication failure
  'replay', // transport counter already seen or left of the window
  'invalid-inner', // decrypted packet is not a well-formed IPv4/IPv6 packet
  'allowedips-src', // inner source not in the peer's AllowedIPs
  'no-route', // outbound destination matches no peer
  'no-endpoint', // a datagram for a peer without an endpoint
  'internal', // an unexpected exception (a bug), caught
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface DeviceStats {
  rxDatagrams: number;
  txDatagrams: number;
  rxBytes: number;
  txBytes: number;
  /** Inner packets delivered / encrypted and sent. */
  rxPackets: number;
  txPackets: number;
  rxKeepalives: number;
  txKeepalives: number;
  initiationsSent: number;
  responsesSent: number;
  cookieRepliesSent: number;
  cookieRepliesReceived: number;
  handshakesCompleted: number;
  dropped: Record<DropReason, number>;
}

export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceError';
  }
}

interface IndexEntry {
  peer: Peer;
  /** null while the index belongs to the peer's in-flight handshake. */
  keypair: Keypair | null;
}

const EMPTY = new Uint8Array(0);
const MAX_INDEX_TRIES = 64;
/** Bytes of randomness drawn at a time for indices, jitter and ephemeral keys (see randomByte). */
const RANDOM_POOL_SIZE = 256;

/** A prepared ephemeral still usable at `now`: not older than PREPARED_EPHEMERAL_MAX_AGE, and not from the future (clock stepped back). */
function preparedFresh(p: PreparedEphemeral, now: number): boolean {
  return now >= p.preparedAt && now - p.preparedAt <= PREPARED_EPHEMERAL_MAX_AGE;
}

function paddedLength(length: number, mtu: number): number {
  let lastUnit = length;
  if (mtu === 0) return (lastUnit + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1);
  if (lastUnit > mtu) lastUnit %= mtu;
  let padded = (lastUnit + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1);
  if (padded > mtu) padded = mtu;
  return length + (padded - lastUnit);
}

export class Device implements PeerHost {
  readonly crypto: CryptoProvider;
  readonly allowedIPs = new AllowedIPs<Peer>();
  readonly stats: DeviceStats;
  listenPort = 0;
  fwmark = 0;
  mtu: number;

  private readonly io: DeviceIO;
  private readonly random: (n: number) => Uint8Array;
  private readonly underLoadThreshold: number;
  private _privateKey: Uint8Array | null = null;
  private _publicKey: Uint8Array | null = null;
  private localInitialHash: Uint8Array | null = null;
  private readonly peerMap = new Map<string, Peer>();
  private readonly indexTable = new Map<number, IndexEntry>();
  /**
   * Peers whose static-static DH is not computed yet. It is computed on the
   * first handshake that needs it, not when the peer is added: a DH costs
   * ~35–70 µs, a third of configuring 10 000 peers (bench/profile.ts setconf).
   */
  private readonly staticStaticPending = new Set<Peer>();
  /** Peers whose next handshake message should get an ephemeral prepared ahead (prepareEphemerals). */
  private readonly ephemeralPending = new Set<Peer>();
  /** Peers holding a prepared ephemeral (swept for expiry). */
  private readonly ephemeralPrepared = new Set<Peer>();
  private readonly cookieChecker: CookieChecker;
  private readonly rateLimiter = new RateLimiter();
  private readonly sourceCache = new WeakMap<Endpoint, { address: string; port: number; bytes: Uint8Array }>();
  private readonly timerActions: TimerActions<Peer>;
  private earliestDeadline = Infinity;

  // Under-load detection: handshake messages counted per 1 s window.
  private loadWindowStart = -Infinity;
  private loadWindowCount = 0;
  private underLoadUntil = -Infinity;
  // Handshake budget under load: tokens (messages), refilled at handshakeBudget per second.
  private readonly handshakeBudget: number;
  private handshakeTokens = 0;
  private handshakeTokensAt = -Infinity;

  // Reused buffers: handshake out, transport out, padding scratch, decrypt out.
  private readonly handshakeBuf = new Uint8Array(INITIATION_SIZE);
  private sendBuf: Uint8Array;
  private padBuf: Uint8Array;
  private recvBuf: Uint8Array;
  private randomPool: Uint8Array = new Uint8Array(0);
  private randomPoolPos = 0;

  constructor(opts: DeviceOptions) {
    this.io = opts.io;
    this.crypto = opts.crypto ?? defaultCrypto();
    this.mtu = opts.mtu ?? DEFAULT_MTU;
    this.random = opts.random ?? ((n) => this.crypto.randomBytes(n));
    this.underLoadThreshold = opts.underLoadThreshold ?? UNDER_LOAD_THRESHOLD;
    this.handshakeBudget = opts.handshakeBudget ?? HANDSHAKE_BUDGET;
    if (!(this.handshakeBudget > 0)) throw new DeviceError('handshakeBudget must be > 0');
    this.cookieChecker = new CookieChecker(this.crypto, this.random);
    const size = Math.max(this.mtu, 1500) + 64;
    this.sendBuf = new Uint8Array(size + 32);
    this.padBuf = new Uint8Array(size);
    this.recvBuf = new Uint8Array(size);
    const dropped = {} as Record<DropReason, number>;
    for (const r of DROP_REASONS) dropped[r] = 0;
    this.stats = {
      rxDatagrams: 0,
      txDatagrams: 0,
      rxBytes: 0,
      txBytes: 0,
      rxPackets: 0,
      txPackets: 0,
      rxKeepalives: 0,
      txKeepalives: 0,
      initiationsSent: 0,
      responsesSent: 0,
      cookieRepliesSent: 0,
      cookieRepliesReceived: 0,
      handshakesCompleted: 0,
      dropped,
    };
    this.timerActions = {
      sendKeepalive: (peer, now) => this.sendKeepalive(peer, now),
      sendHandshakeInitiation: (peer, isRetry, now) => this.sendHandshakeInitiation(peer, isRetry, now),
      flushStaged: (peer) => peer.flushStaged(),
      clearEndpointSource: (peer) => {
        if (peer.endpoint) peer.clearSourceOnSend = true;
      },
      zeroKeyMaterial: (peer) => this.zeroKeyMaterial(peer),
      scheduled: (at) => this.scheduleAt(at),
    };
  }

  // ---------------------------------------------------------------- config

  get privateKey(): Uint8Array | null {
    return this._privateKey;
  }
  set privateKey(key: Uint8Array | null) {
    this.setPrivateKey(key);
  }
  get publicKey(): Uint8Array | null {
    return this._publicKey;
  }

  /**
   * Sets (or with null / all zeros, removes) our static key: recomputes every
   * peer's static-static DH, removes a peer whose key is our new public key,
   * and expires current sessions so they are renegotiated (wireguard-go).
   */
  setPrivateKey(key: Uint8Array | null): void {
    if (key !== null && key.length !== 32) throw new DeviceError('private key must be 32 bytes');
    if (key !== null && key.every((b) => b === 0)) key = null;
    if (key === null ? this._privateKey === null : this._privateKey !== null && constantTimeEqual(key, this._privateKey)) return;
    const priv = key ? Uint8Array.from(key) : null;
    const pub = priv ? this.crypto.publicKey(priv) : null;
    if (pub) {
      const self = this.peerMap.get(toHex(pub));
      if (self) this.removePeer(self.publicKey);
    }
    this._privateKey?.fill(0); // our own copy; the caller's buffer is untouched
    this._privateKey = priv;
    this._publicKey = pub;
    this.cookieChecker.init(pub);
    this.localInitialHash = pub ? responderInitialHash(this.crypto, pub) : null;
    for (const peer of this.peerMap.values()) {
      peer.handshake.precomputedStaticStatic?.fill(0);
      peer.handshake.precomputedStaticStatic = null;
      if (priv) this.staticStaticPending.add(peer);
      else this.staticStaticPending.delete(peer);
      this.expireCurrentKeypairs(peer);
    }
  }

  *peers(): IterableIterator<Peer> {
    yield* this.peerMap.values();
  }

  get peerCount(): number {
    return this.peerMap.size;
  }

  getPeer(publicKey: Uint8Array): Peer | undefined {
    return this.peerMap.get(toHex(publicKey));
  }

  /**
   * Returns the peer with this key, creating it if needed. A key equal to our
   * own public key yields a detached "dummy" peer that is never used
   * (wireguard-go ignores such a peer section).
   */
  addPeer(publicKey: Uint8Array): Peer {
    if (publicKey.length !== 32) throw new DeviceError('public key must be 32 bytes');
    const existing = this.getPeer(publicKey);
    if (existing) return existing;
    if (this._publicKey && constantTimeEqual(publicKey, this._publicKey)) {
      const dummy = new Peer(this, publicKey, true);
      dummy.removed = true;
      return dummy;
    }
    if (this.peerMap.size >= MAX_PEERS) throw new DeviceError(`too many peers (max ${MAX_PEERS})`);
    const peer = new Peer(this, publicKey);
    if (this._privateKey) this.staticStaticPending.add(peer);
    this.peerMap.set(peer.id, peer);
    return peer;
  }

  removePeer(publicKey: Uint8Array): boolean {
    const peer = this.getPeer(publicKey);
    if (!peer) return false;
    this.allowedIPs.removeByValue(peer);
    this.zeroKeyMaterial(peer);
    peer.timers.stopAll();
    peer.removed = true;
    // Secrets the peer held beyond its sessions: preshared key and static-static DH.
    peer.presharedKey?.fill(0);
    peer.handshake.presharedKey.fill(0);
    peer.handshake.precomputedStaticStatic?.fill(0);
    peer.handshake.precomputedStaticStatic = null;
    this.staticStaticPending.delete(peer);
    this.dropPreparedEphemeral(peer);
    this.ephemeralPending.delete(peer);
    this.peerMap.delete(peer.id);
    return true;
  }

  removeAllPeers(): void {
    for (const peer of [...this.peerMap.values()]) this.removePeer(peer.publicKey);
  }

  /** Lets the I/O adapter declare load it sees (e.g. a deep receive backlog). */
  setUnderLoad(now: number): void {
    this.underLoadUntil = now + UNDER_LOAD_AFTER_TIME;
  }

  isUnderLoad(now: number): boolean {
    return now < this.underLoadUntil;
  }

  /** Index-table size (bounded by 4 entries per peer: a handshake and three keypairs). */
  get indexCount(): number {
    return this.indexTable.size;
  }

  // ---------------------------------------------------------------- timers

  nextDeadline(): number {
    return this.earliestDeadline;
  }

  tick(now: number): void {
    if (now < this.earliestDeadline) return;
    this.earliestDeadline = Infinity;
    for (const peer of this.peerMap.values()) {
      if (peer.timers.nextDeadline() > now) continue;
      try {
        peer.timers.runExpired(peer, now, this.timerActions, peer.persistentKeepalive * 1000);
      } catch {
        // A bug, not an input problem: count it and keep the other peers' timers running.
        this.stats.dropped.internal++;
      }
    }
    let earliest = Infinity;
    for (const peer of this.peerMap.values()) earliest = Math.min(earliest, peer.timers.nextDeadline());
    this.earliestDeadline = earliest;
  }

  /** @internal PeerHost */
  scheduleAt(at: number): void {
    if (at < this.earliestDeadline) this.earliestDeadline = at;
  }

  /** @internal PeerHost: 0..333 ms. */
  jitter(): number {
    return ((this.randomByte() << 8) | this.randomByte()) % REKEY_TIMEOUT_JITTER_MAX;
  }

  /**
   * One byte from a pooled draw of the device's randomness, wiped as it is taken. Indices,
   * jitter and ephemeral keys come from here: a separate node:crypto draw of 4 bytes costs
   * ~85 µs on a cold cache (measured), on the handshake's path; the pool refills 256 bytes
   * at a time, and topUpRandom() refills it in idle time.
   */
  private randomByte(): number {
    if (this.randomPoolPos >= this.randomPool.length) this.refillRandom();
    const b = this.randomPool[this.randomPoolPos]!;
    this.randomPool[this.randomPoolPos++] = 0;
    return b;
  }

  private refillRandom(): void {
    this.randomPool.fill(0);
    this.randomPool = Uint8Array.from(this.random(RANDOM_POOL_SIZE));
    this.randomPoolPos = 0;
  }

  /** Refills the random pool when less than half is left (idle time: a daemon's tick, after a `wg set`). */
  topUpRandom(): void {
    if (this.randomPool.length - this.randomPoolPos < RANDOM_POOL_SIZE / 2) this.refillRandom();
  }

  /** @internal PeerHost */
  releaseKeypair(kp: Keypair): void {
    const e = this.indexTable.get(kp.localIndex);
    if (e && e.keypair === kp) this.indexTable.delete(kp.localIndex);
    kp.wipe();
  }

  /**
   * Computes up to `max` of the static-static DHs still pending (otherwise each is computed at
   * its peer's first handshake) and returns how many remain. Lets a daemon take that cost off
   * the first handshake after a small `wg set`, as wireguard-go does when a peer is added. The
   * peers it computes become pending for prepareEphemerals.
   */
  precomputeStaticStatic(max: number): number {
    for (const peer of this.staticStaticPending) {
      if (max-- <= 0) break;
      // Computed ahead of the first handshake: its ephemeral may be prepared ahead too.
      if (this.staticStatic(peer) && !peer.handshake.preparedEphemeral) this.ephemeralPending.add(peer);
    }
    return this.staticStaticPending.size;
  }

  /**
   * Readies the first handshake of up to `max` peers added since: precomputeStaticStatic, then an
   * ephemeral prepared for each (prepareEphemerals). Returns how many peers remain pending for
   * either. A daemon calls it right after a small `wg set`: the first initiation then does no
   * DH, the first response one (ee).
   */
  prepareHandshakes(max: number, now: number): number {
    const left = this.precomputeStaticStatic(max);
    const pending = this.prepareEphemerals(max, now);
    this.topUpRandom();
    return left + pending;
  }

  /**
   * Prepares up to `max` ephemerals for the next handshake message (initiation or response) of
   * peers that sent one since (a prepared ephemeral is used once; its peer is pending again)
   * and wipes prepared ones older than PREPARED_EPHEMERAL_MAX_AGE. Returns how many peers remain
   * pending. A daemon calls it in idle time, off the handshake's path: the message then pays
   * neither the ephemeral's public key nor DH(ephemeral, peer static).
   */
  prepareEphemerals(max: number, now: number): number {
    for (const peer of this.ephemeralPrepared) {
      const p = peer.handshake.preparedEphemeral;
      if (!p || !preparedFresh(p, now)) this.dropPreparedEphemeral(peer);
    }
    for (const peer of this.ephemeralPending) {
      if (max-- <= 0) break;
      this.prepareEphemeralFor(peer, now);
    }
    return this.ephemeralPending.size;
  }

  private prepareEphemeralFor(peer: Peer, now: number): void {
    this.ephemeralPending.delete(peer);
    if (peer.removed || peer.handshake.preparedEphemeral) return;
    const p = prepareEphemeral(this.crypto, peer.publicKey, this.newEphemeral(), now);
    if (!p) return;
    peer.handshake.preparedEphemeral = p;
    this.ephemeralPrepared.add(peer);
  }

  /** Peers whose static-static DH is still to be computed (precomputeStaticStatic). */
  get staticStaticsPending(): number {
    return this.staticStaticPending.size;
  }

  /** Prepared ephemerals held (expiry sweeps have work only when > 0). */
  get ephemeralsPrepared(): number {
    return this.ephemeralPrepared.size;
  }

  /** How many peers wait for a prepared ephemeral (cheap; a daemon polls it after I/O batches). */
  get ephemeralsPending(): number {
    return this.ephemeralPending.size;
  }

  private dropPreparedEphemeral(peer: Peer): void {
    peer.handshake.preparedEphemeral?.wipe();
    peer.handshake.preparedEphemeral = null;
    this.ephemeralPrepared.delete(peer);
  }

  /** The ephemeral for a handshake message to `peer`: the prepared one (taken: single use) when fresh, else a new one. */
  private takeEphemeral(peer: Peer, now: number): Uint8Array | PreparedEphemeral {
    const hs = peer.handshake;
    const p = hs.preparedEphemeral;
    hs.preparedEphemeral = null;
    this.ephemeralPrepared.delete(peer);
    this.ephemeralPending.add(peer);
    if (p && preparedFresh(p, now)) return p;
    p?.wipe();
    return this.newEphemeral();
  }

  /** DH(our static, the peer's static), computed on first use; null without a private key or for a low-order key. */
  private staticStatic(peer: Peer): Uint8Array | null {
    const hs = peer.handshake;
    if (this.staticStaticPending.delete(peer) && this._privateKey) hs.precomputedStaticStatic = this.crypto.sharedSecret(this._privateKey, peer.publicKey);
    return hs.precomputedStaticStatic;
  }

  private newIndex(peer: Peer): number {
    for (let i = 0; i < MAX_INDEX_TRIES; i++) {
      const idx = (this.randomByte() | (this.randomByte() << 8) | (this.randomByte() << 16) | (this.randomByte() << 24)) >>> 0;
      if (!this.indexTable.has(idx)) {
        this.indexTable.set(idx, { peer, keypair: null });
        return idx;
      }
    }
    return -1;
  }

  private releaseHandshakeIndex(peer: Peer): void {
    const idx = peer.handshake.localIndex;
    if (idx < 0) return;
    const e = this.indexTable.get(idx);
    if (e && e.peer === peer && e.keypair === null) this.indexTable.delete(idx);
    peer.handshake.localIndex = -1;
  }

  private newEphemeral(): Uint8Array {
    const k = new Uint8Array(32);
    for (let i = 0; i < 32; i++) k[i] = this.randomByte();
    return clampPrivateKey(k);
  }

  // ---------------------------------------------------------------- output

  private sendTo(peer: Peer, data: Uint8Array): boolean {
    let ep = peer.endpoint;
    if (!ep) {
      this.stats.dropped['no-endpoint']++;
      return false;
    }
    if (peer.clearSourceOnSend) {
      peer.clearSourceOnSend = false;
      if (ep.localAddress !== undefined) ep = peer.endpoint = { address: ep.address, port: ep.port };
    }
    this.stats.txDatagrams++;
    this.stats.txBytes += data.length;
    peer.txBytes += data.length;
    this.io.sendDatagram(data, ep);
    return true;
  }

  /**
   * An IP packet from the local side. Routed by destination over AllowedIPs;
   * queued (copied) while the peer has no usable session, which starts a
   * handshake. Never throws.
   */
  sendPacket(packet: Uint8Array, now: number): void {
    try {
      let peer: Peer | undefined;
      const v = packet.length > 0 ? packet[0]! >> 4 : 0;
      if (v === 4 && packet.length >= 20) peer = this.allowedIPs.lookup(4, packet, 16);
      else if (v === 6 && packet.length >= 40) peer = this.allowedIPs.lookup(6, packet, 24);
      else {
        this.stats.dropped.malformed++;
        return;
      }
      if (!peer || peer.removed) {
        this.stats.dropped['no-route']++;
        return;
      }
      if (peer.stagedCount === 0) {
        const kp = peer.keypairs.current;
        if (kp && this.usable(kp, now)) {
          this.encryptAndSend(peer, kp, packet, now);
          this.keepKeyFreshSending(peer, now);
          return;
        }
      }
      peer.stage(Uint8Array.from(packet));
      this.sendStaged(peer, now);
    } catch {
      this.stats.dropped.internal++;
    }
  }

  private usable(kp: Keypair, now: number): boolean {
    return !kp.wiped && kp.sendCounter < SEND_COUNTER_LIMIT && now - kp.created < REJECT_AFTER_TIME;
  }

  private sendStaged(peer: Peer, now: number): void {
    if (peer.stagedCount === 0) return;
    const kp = peer.keypairs.current;
    if (!kp || !this.usable(kp, now)) {
      this.sendHandshakeInitiation(peer, false, now);
      return;
    }
    while (peer.stagedCount > 0) {
      if (kp.sendCounter >= SEND_COUNTER_LIMIT) {
        this.sendHandshakeInitiation(peer, false, now);
        return;
      }
      this.encryptAndSend(peer, kp, peer.unstage()!, now);
    }
    this.keepKeyFreshSending(peer, now);
  }

  /** Stages a keepalive unless something is already waiting, then flushes. */
  sendKeepalive(peer: Peer, now: number): void {
    if (peer.removed) return;
    if (peer.stagedCount === 0) peer.stage(EMPTY);
    this.sendStaged(peer, now);
  }

  private encryptAndSend(peer: Peer, kp: Keypair, packet: Uint8Array, now: number): void {
    if (!peer.endpoint) {
      this.stats.dropped['no-endpoint']++;
      return;
    }
    const counter = kp.sendCounter++;
    const length = packet.length;
    const padded = paddedLength(length, this.mtu);
    const total = TRANSPORT_HEADER_SIZE + padded + 16;
    if (this.sendBuf.length < total) this.sendBuf = new Uint8Array(total);
    let plaintext = packet;
    if (padded !== length) {
      if (this.padBuf.length < padded) this.padBuf = new Uint8Array(padded);
      this.padBuf.set(packet);
      this.padBuf.fill(0, length, padded);
      plaintext = this.padBuf.subarray(0, padded);
    }
    const out = this.sendBuf;
    out[0] = MESSAGE_TRANSPORT;
    out[1] = out[2] = out[3] = 0;
    writeU32(out, TRANSPORT.receiver, kp.remoteIndex);
    writeU64Number(out, TRANSPORT.counter, counter);
    this.crypto.seal(kp.sendKey, counter, plaintext, null, out, TRANSPORT.content);
    if (length === 0) this.stats.txKeepalives++;
    else this.stats.txPackets++;
    // Timers before the send, so an IO that answers synchronously sees them settled.
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepalive * 1000);
    peer.timers.anyAuthenticatedPacketSent();
    if (length > 0) peer.timers.dataSent(now);
    this.sendTo(peer, out.subarray(0, total));
  }

  private keepKeyFreshSending(peer: Peer, now: number): void {
    const kp = peer.keypairs.current;
    if (!kp) return;
    if (kp.sendCounter > SEND_REKEY_AFTER_MESSAGES || (kp.isInitiator && now - kp.created > REKEY_AFTER_TIME)) {
      this.sendHandshakeInitiation(peer, false, now);
    }
  }

  private keepKeyFreshReceiving(peer: Peer, now: number): void {
    if (peer.timers.sentLastMinuteHandshake) return;
    const kp = peer.keypairs.current;
    if (kp && kp.isInitiator && now - kp.created > RECEIVE_REKEY_AGE) {
      peer.timers.sentLastMinuteHandshake = true;
      this.sendHandshakeInitiation(peer, false, now);
    }
  }

  private sendHandshakeInitiation(peer: Peer, isRetry: boolean, now: number): void {
    if (peer.removed) return;
    if (!isRetry) peer.timers.handshakeAttempts = 0;
    const hs = peer.handshake;
    if (now - hs.lastSentHandshake < REKEY_TIMEOUT) return;
    if (!this._privateKey || !this._publicKey || !this.staticStatic(peer)) return;
    hs.lastSentHandshake = now;
    this.releaseHandshakeIndex(peer);
    const idx = this.newIndex(peer);
    if (idx < 0) {
      this.stats.dropped.internal++;
      return;
    }
    const msg = this.handshakeBuf.subarray(0, INITIATION_SIZE);
    if (!createInitiation(this.crypto, hs, this._publicKey, this.takeEphemeral(peer, now), tai64n(now), idx, msg)) {
      this.indexTable.delete(idx);
      return;
    }
    peer.cookieGenerator.addMacs(msg, now);
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepalive * 1000);
    peer.timers.anyAuthenticatedPacketSent();
    this.stats.initiationsSent++;
    peer.timers.handshakeInitiated(now);
    this.sendTo(peer, msg);
  }

  private sendHandshakeResponse(peer: Peer, now: number): void {
    const hs = peer.handshake;
    hs.lastSentHandshake = now;
    this.releaseHandshakeIndex(peer);
    const idx = this.newIndex(peer);
    if (idx < 0) {
      this.stats.dropped.internal++;
      return;
    }
    const msg = this.handshakeBuf.subarray(0, RESPONSE.mac2 + 16);
    if (!createResponse(this.crypto, hs, this.takeEphemeral(peer, now), idx, msg)) {
      this.indexTable.delete(idx);
      this.stats.dropped['handshake-invalid']++;
      return;
    }
    peer.cookieGenerator.addMacs(msg, now);
    this.beginSymmetricSession(peer, now);
    peer.timers.sessionDerived(now);
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepalive * 1000);
    peer.timers.anyAuthenticatedPacketSent();
    this.stats.responsesSent++;
    this.sendTo(peer, msg);
  }

  private beginSymmetricSession(peer: Peer, now: number): void {
    const hs = peer.handshake;
    const isInitiator = hs.state === HandshakeState.ResponseConsumed;
    const keys = deriveTransportKeys(this.crypto, hs.chainKey, isInitiator);
    const kp = new Keypair(keys.send, keys.recv, isInitiator, now, hs.localIndex, hs.remoteIndex);
    // The handshake's index now names the keypair.
    this.indexTable.set(hs.localIndex, { peer, keypair: kp });
    hs.localIndex = -1;
    hs.clear();
    peer.keypairs.install(kp);
  }

  private handshakeComplete(peer: Peer, now: number): void {
    peer.timers.handshakeComplete();
    peer.lastHandshakeTime = now;
    this.stats.handshakesCompleted++;
    this.io.onHandshake?.(peer);
  }

  private expireCurrentKeypairs(peer: Peer): void {
    this.releaseHandshakeIndex(peer);
    peer.handshake.clear();
    peer.handshake.lastSentHandshake = -Infinity;
    if (peer.keypairs.current) peer.keypairs.current.sendCounter = SEND_COUNTER_LIMIT;
    if (peer.keypairs.next) peer.keypairs.next.sendCounter = SEND_COUNTER_LIMIT;
  }

  private zeroKeyMaterial(peer: Peer): void {
    peer.keypairs.clear();
    this.releaseHandshakeIndex(peer);
    peer.handshake.clear();
    peer.flushStaged();
  }

  // ---------------------------------------------------------------- input

  /** A UDP datagram from `from`. Never throws; every drop is counted. */
  receiveDatagram(data: Uint8Array, from: Endpoint, now: number): void {
    this.stats.rxDatagrams++;
    this.stats.rxBytes += data.length;
    try {
      switch (messageType(data)) {
        case MESSAGE_TRANSPORT:
          this.receiveTransport(data, from, now);
          return;
        case MESSAGE_INITIATION:
        case MESSAGE_RESPONSE:
          this.receiveHandshake(data, from, now);
          return;
        case MESSAGE_COOKIE_REPLY:
          this.receiveCookieReply(data, now);
          return;
        default:
          this.stats.dropped.malformed++;
      }
    } catch {
      this.stats.dropped.internal++;
    }
  }

  private updateEndpoint(peer: Peer, from: Endpoint): void {
    const ep = peer.endpoint;
    peer.clearSourceOnSend = false;
    if (ep === null || ep.port !== from.port || ep.address !== from.address || ep.localAddress !== from.localAddress) {
      peer.endpoint = copyEndpoint(from);
    }
  }

  private countHandshakeLoad(now: number): void {
    if (now - this.loadWindowStart >= 1000) {
      this.loadWindowStart = now;
      this.loadWindowCount = 0;
    }
    if (++this.loadWindowCount > this.underLoadThreshold) this.underLoadUntil = now + UNDER_LOAD_AFTER_TIME;
  }

  /**
   * sourceBytes(from), remembered per endpoint object: adapters intern their
   * endpoints, so a flood from a few sources parses no address text per message.
   */
  private sourceOf(from: Endpoint): Uint8Array {
    let c = this.sourceCache.get(from);
    // Checked on a hit: an endpoint object mutated since is parsed again.
    if (c === undefined || c.address !== from.address || c.port !== from.port) {
      c = { address: from.address, port: from.port, bytes: sourceBytes(from.address, from.port) };
      this.sourceCache.set(from, c);
    }
    return c.bytes;
  }

  /** One handshake message's worth of the budget; false when it is spent. */
  private takeHandshakeToken(now: number): boolean {
    const burst = Math.max(1, this.handshakeBudget / 10);
    const elapsed = now - this.handshakeTokensAt;
    // A bucket unused for a while (or never) is full; time going backwards adds nothing.
    if (elapsed > 0) this.handshakeTokens = Math.min(burst, this.handshakeTokens + (elapsed * this.handshakeBudget) / 1000);
    if (elapsed > 0 || this.handshakeTokensAt === -Infinity) this.handshakeTokensAt = now;
    if (this.handshakeTokens < 1) return false;
    this.handshakeTokens--;
    return true;
  }

  private receiveHandshake(data: Uint8Array, from: Endpoint, now: number): void {
    if (!this._privateKey) {
      this.stats.dropped['no-identity']++;
      return;
    }
    if (this.isUnderLoad(now) && !this.takeHandshakeToken(now)) {
      this.stats.dropped['handshake-budget']++;
      return;
    }
    if (!this.cookieChecker.checkMac1(data)) {
      this.stats.dropped.mac1++;
      return;
    }
    this.countHandshakeLoad(now);
    if (this.isUnderLoad(now)) {
      const source = this.sourceOf(from);
      if (!this.cookieChecker.checkMac2(data, source, now)) {
        // Both handshake types carry the sender index at offset 4.
        const reply = this.cookieChecker.createReply(data, readU32(data, 4), source, now);
        this.stats.dropped['cookie-sent']++;
        if (reply) {
          this.stats.cookieRepliesSent++;
          this.stats.txDatagrams++;
          this.stats.txBytes += reply.length;
          this.io.sendDatagram(reply, from);
        }
        return;
      }
      const ip = endpointIP(from.address);
      if (ip && !this.rateLimiter.allow(ip, now)) {
        this.stats.dropped['rate-limited']++;
        return;
      }
    }
    if (data[0] === MESSAGE_INITIATION) this.receiveInitiation(data, from, now);
    else this.receiveResponse(data, from, now);
  }

  private receiveInitiation(data: Uint8Array, from: Endpoint, now: number): void {
    let found: Peer | undefined;
    let staticDecrypted = false;
    const res = consumeInitiation(this.crypto, data, this._privateKey!, this.localInitialHash!, (remoteStatic) => {
      staticDecrypted = true;
      found = this.peerMap.get(toHex(remoteStatic));
      return found ? this.staticStatic(found) : undefined;
    });
    if (!res || !found) {
      this.stats.dropped[staticDecrypted && found === undefined ? 'unknown-peer' : 'handshake-invalid']++;
      return;
    }
    const peer: Peer = found;
    const hs = peer.handshake;
    if (!tai64nAfter(res.timestamp, hs.lastTimestamp)) {
      this.stats.dropped['timestamp-replay']++;
      return;
    }
    if (now - hs.lastInitiationConsumption <= HANDSHAKE_INITIATION_RATE) {
      this.stats.dropped['initiation-flood']++;
      return;
    }
    hs.hash = res.hash;
    hs.chainKey.fill(0); // an initiation of ours in flight is superseded
    hs.chainKey = res.chainKey;
    hs.remoteIndex = res.remoteIndex;
    hs.remoteEphemeral = res.remoteEphemeral;
    hs.lastTimestamp = res.timestamp;
    hs.lastInitiationConsumption = now;
    hs.state = HandshakeState.InitiationConsumed;

    this.updateEndpoint(peer, from);
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepalive * 1000);
    peer.timers.anyAuthenticatedPacketReceived();
    peer.rxBytes += data.length;
    this.sendHandshakeResponse(peer, now);
  }

  private receiveResponse(data: Uint8Array, from: Endpoint, now: number): void {
    const receiver = readU32(data, RESPONSE.receiver);
    const entry = this.indexTable.get(receiver);
    if (!entry || entry.keypair !== null || entry.peer.handshake.localIndex !== receiver) {
      this.stats.dropped['unknown-index']++;
      return;
    }
    const peer = entry.peer;
    const hs = peer.handshake;
    const res = consumeResponse(this.crypto, data, hs, this._privateKey!);
    if (!res) {
      this.stats.dropped['handshake-invalid']++;
      return;
    }
    hs.hash = res.hash;
    hs.chainKey.fill(0);
    hs.chainKey = res.chainKey;
    hs.remoteIndex = res.remoteIndex;
    hs.state = HandshakeState.ResponseConsumed;

    this.updateEndpoint(peer, from);
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepalive * 1000);
    peer.timers.anyAuthenticatedPacketReceived();
    peer.rxBytes += data.length;
    this.beginSymmetricSession(peer, now);
    peer.timers.sessionDerived(now);
    this.handshakeComplete(peer, now);
    // Confirms the session to the responder: staged data, or a keepalive.
    this.sendKeepalive(peer, now);
  }

  private receiveCookieReply(data: Uint8Array, now: number): void {
    const entry = this.indexTable.get(readU32(data, 4));
    if (!entry) {
      this.stats.dropped['unknown-index']++;
      return;
    }
    if (!entry.peer.cookieGenerator.consumeReply(data, now)) {
      this.stats.dropped['cookie-invalid']++;
      return;
    }
    this.stats.cookieRepliesReceived++;
  }

  private receiveTransport(data: Uint8Array, from: Endpoint, now: number): void {
    const entry = this.indexTable.get(readU32(data, TRANSPORT.receiver));
    const kp = entry?.keypair;
    if (!entry || !kp || kp.wiped) {
      this.stats.dropped['no-keypair']++;
      return;
    }
    if (now - kp.created > REJECT_AFTER_TIME) {
      this.stats.dropped['expired-keypair']++;
      return;
    }
    const hi = readU32(data, TRANSPORT.counter + 4);
    if (hi >= COUNTER_LIMIT_HIGH_WORD) {
      this.stats.dropped['counter-limit']++;
      return;
    }
    const counter = hi * 0x100000000 + readU32(data, TRANSPORT.counter);
    const sealedLength = data.length - TRANSPORT_HEADER_SIZE;
    if (this.recvBuf.length < sealedLength) this.recvBuf = new Uint8Array(sealedLength);
    const n = this.crypto.open(kp.recvKey, counter, data.subarray(TRANSPORT.content), null, this.recvBuf, 0);
    if (n < 0) {
      this.stats.dropped['decrypt-failed']++;
      return;
    }
    if (!kp.replay.check(counter)) {
      this.stats.dropped.replay++;
      return;
    }
    const peer = entry.peer;
    this.updateEndpoint(peer, from);
    if (peer.keypairs.receivedWith(kp)) {
      this.handshakeComplete(peer, now);
      this.sendStaged(peer, now);
    }
    this.keepKeyFreshReceiving(peer, now);
    peer.timers.anyAuthenticatedPacketTraversal(now, peer.persistentKeepalive * 1000);
    peer.timers.anyAuthenticatedPacketReceived();
    peer.rxBytes += data.length;
    if (n === 0) {
      this.stats.rxKeepalives++;
      return;
    }
    peer.timers.dataReceived(now);

    let packet = this.recvBuf.subarray(0, n);
    const v = packet[0]! >> 4;
    let src: Peer | undefined;
    if (v === 4) {
      if (n < 20) return this.dropInner();
      const total = (packet[2]! << 8) | packet[3]!;
      if (total < 20 || total > n) return this.dropInner();
      packet = packet.subarray(0, total);
      src = this.allowedIPs.lookup(4, packet, 12);
    } else if (v === 6) {
      if (n < 40) return this.dropInner();
      const total = 40 + ((packet[4]! << 8) | packet[5]!);
      if (total > n) return this.dropInner();
      packet = packet.subarray(0, total);
      src = this.allowedIPs.lookup(6, packet, 8);
    } else {
      return this.dropInner();
    }
    if (src !== peer) {
      this.stats.dropped['allowedips-src']++;
      return;
    }
    this.stats.rxPackets++;
    this.io.deliverPacket(packet, peer);
  }

  private dropInner(): void {
    this.stats.dropped['invalid-inner']++;
  }
}
