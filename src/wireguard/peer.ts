/**
 * A peer: its keys and endpoint, handshake and keypair state, timers, the
 * bounded queue of packets waiting for a session, and counters. The protocol
 * actions live in the Device; the peer reaches it through PeerHost.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { CookieGenerator } from './cookie.js';
import { MAX_STAGED_PACKETS, REJECT_AFTER_TIME } from './constants.js';
import { Keypair, Keypairs } from './keypair.js';
import { Handshake, isZero } from './noise.js';
import { PeerTimers } from './timers.js';

export interface Endpoint {
  /** '1.2.3.4' or IPv6 text without brackets. */
  address: string;
  port: number;
  /**
   * Optional, for "sticky" sockets: the local address the datagram arrived on
   * (adapter-defined text). Kept with the roamed endpoint so replies leave from
   * it; dropped before the next send after a handshake retry (wireguard-go's
   * markEndpointSrcForClearing), in case that address is the trouble.
   */
  localAddress?: string;
}

/** What a Peer needs from its Device. */
export interface PeerHost {
  readonly crypto: CryptoProvider;
  /** A timer deadline was armed at `at`. */
  scheduleAt(at: number): void;
  /** 0..333 ms of jitter. */
  jitter(): number;
  /** A keypair left every slot: unregister its index and wipe it. */
  releaseKeypair(kp: Keypair): void;
  /** Persistent keepalive went from off to on: send one now (wireguard-go). */
  sendKeepalive(peer: Peer, now: number): void;
}

export class Peer {
  readonly publicKey: Uint8Array;
  /** Lowercase hex of the public key (map key, logs). */
  readonly id: string;
  presharedKey: Uint8Array | null = null;
  endpoint: Endpoint | null = null;
  /** Seconds; 0 = off. */
  persistentKeepalive = 0;
  /** `now` (ms since the Unix epoch) of the last completed handshake; 0 = never. */
  lastHandshakeTime = 0;
  /** Bytes of WireGuard datagrams sent to / received from this peer. */
  txBytes = 0;
  rxBytes = 0;
  /** Forget endpoint.localAddress at the next send (see Endpoint). */
  clearSourceOnSend = false;
  /** Set when removed from its device, or for a peer whose key is our own (ignored, as wireguard-go). */
  removed = false;
  readonly dummy: boolean;

  readonly handshake: Handshake;
  readonly keypairs: Keypairs;
  readonly timers: PeerTimers;
  readonly cookieGenerator: CookieGenerator;

  // Staged packets: a ring of at most MAX_STAGED_PACKETS, oldest dropped first.
  private staged: (Uint8Array | undefined)[] = [];
  private stagedHead = 0;
  private stagedLength = 0;
  /** Packets dropped because the staged queue was full. */
  stagedDropped = 0;

  constructor(
    private readonly host: PeerHost,
    publicKey: Uint8Array,
    dummy = false,
  ) {
    this.publicKey = Uint8Array.from(publicKey);
    this.id = toHex(this.publicKey);
    this.dummy = dummy;
    this.handshake = new Handshake(this.publicKey, host.crypto);
    this.keypairs = new Keypairs((kp) => host.releaseKeypair(kp));
    this.timers = new PeerTimers(
      (at) => host.scheduleAt(at),
      () => host.jitter(),
    );
    this.cookieGenerator = new CookieGenerator(host.crypto, this.publicKey);
  }

  setPresharedKey(key: Uint8Array | null): void {
    if (key !== null && key.length !== 32) throw new RangeError('preshared key must be 32 bytes');
    this.presharedKey?.fill(0); // our copy of the old key
    this.presharedKey = key && !isZero(key) ? Uint8Array.from(key) : null;
    this.handshake.presharedKey.fill(0);
    if (this.presharedKey) this.handshake.presharedKey.set(this.presharedKey);
  }

  setEndpoint(endpoint: Endpoint | null): void {
    this.endpoint = endpoint ? copyEndpoint(endpoint) : null;
    this.clearSourceOnSend = false;
  }

  /** Seconds (0 = off). Turning it on sends a keepalive (or starts a handshake) right away. */
  setPersistentKeepalive(seconds: number, now: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 65535) throw new RangeError('persistent keepalive must be 0..65535 seconds');
    const old = this.persistentKeepalive;
    this.persistentKeepalive = seconds;
    if (seconds === 0) this.timers.persistentKeepalive = Infinity;
    if (old === 0 && seconds > 0 && !this.removed && !this.dummy) this.host.sendKeepalive(this, now);
  }

  /** A keypair from a handshake less than 180 s old that has not been wiped. */
  hasLiveSession(now: number): boolean {
    return isLive(this.keypairs.current, now) || isLive(this.keypairs.next, now);
  }

  get stagedCount(): number {
    return this.stagedLength;
  }

  /** Queues a packet (the caller hands over ownership); drops the oldest when full. */
  stage(packet: Uint8Array): void {
    if (this.stagedLength === MAX_STAGED_PACKETS) {
      this.staged[this.stagedHead] = undefined;
      this.stagedHead = (this.stagedHead + 1) % MAX_STAGED_PACKETS;
      this.stagedLength--;
      this.stagedDropped++;
    }
    const tail = (this.stagedHead + this.stagedLength) % MAX_STAGED_PACKETS;
    this.staged[tail] = packet;
    this.stagedLength++;
  }

  /** Removes and returns the oldest staged packet. */
  unstage(): Uint8Array | undefined {
    if (this.stagedLength === 0) return undefined;
    const p = this.staged[this.stagedHead];
    this.staged[this.stagedHead] = undefined;
    this.stagedHead = (this.stagedHead + 1) % MAX_STAGED_PACKETS;
    this.stagedLength--;
    return p;
  }

  flushStaged(): void {
    this.staged = [];
    this.stagedHead = 0;
    this.stagedLength = 0;
  }
}

export function copyEndpoint(e: Endpoint): Endpoint {
  return e.localAddress === undefined ? { address: e.address, port: e.port } : { address: e.address, port: e.port, localAddress: e.localAddress };
}

function isLive(kp: Keypair | null, now: number): boolean {
  return kp !== null && !kp.wiped && now - kp.created < REJECT_AFTER_TIME;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}
