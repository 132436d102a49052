/**
 * Per-peer protocol timers as deadlines (ms on the device clock; Infinity =
 * not armed), mirroring wireguard-go's timers.go. Events (`dataSent`, ...)
 * arm or disarm deadlines; `runExpired` fires those that are due through the
 * TimerActions the device supplies. Nothing here reads a clock.
 */
import {
  KEEPALIVE_TIMEOUT,
  MAX_TIMER_HANDSHAKES,
  REKEY_TIMEOUT,
  ZERO_KEY_MATERIAL_AFTER,
} from './constants.js';

export interface TimerActions<P> {
  /** Stage a keepalive and send staged packets (may start a handshake). */
  sendKeepalive(peer: P, now: number): void;
  sendHandshakeInitiation(peer: P, isRetry: boolean, now: number): void;
  /** Before a retry: stop pinning the local source address (sticky sockets). */
  clearEndpointSource(peer: P): void;
  /** Retries exhausted: drop staged packets. */
  flushStaged(peer: P): void;
  /** 540 s after the last session: wipe keypairs and handshake state. */
  zeroKeyMaterial(peer: P): void;
  /** A deadline was armed (the device tracks the earliest). */
  scheduled(at: number): void;
}

export class PeerTimers {
  retransmitHandshake = Infinity;
  sendKeepalive = Infinity;
  newHandshake = Infinity;
  zeroKeyMaterial = Infinity;
  persistentKeepalive = Infinity;
  /** Retransmissions of the current handshake attempt. */
  handshakeAttempts = 0;
  needAnotherKeepalive = false;
  sentLastMinuteHandshake = false;

  constructor(
    private readonly scheduled: (at: number) => void,
    /** 0..REKEY_TIMEOUT_JITTER_MAX-1 ms, from the device's randomness. */
    private readonly jitter: () => number,
  ) {}

  private arm(at: number): number {
    this.scheduled(at);
    return at;
  }

  /** Earliest armed deadline. */
  nextDeadline(): number {
    return Math.min(this.retransmitHandshake, this.sendKeepalive, this.newHandshake, this.zeroKeyMaterial, this.persistentKeepalive);
  }

  stopAll(): void {
    this.retransmitHandshake = this.sendKeepalive = this.newHandshake = this.zeroKeyMaterial = this.persistentKeepalive = Infinity;
    this.needAnotherKeepalive = false;
  }

  /** A transport message with data (not a keepalive) was sent. */
  dataSent(now: number): void {
    if (this.newHandshake === Infinity) this.newHandshake = this.arm(now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + this.jitter());
  }

  /** A transport message with data was received. */
  dataReceived(now: number): void {
    if (this.sendKeepalive === Infinity) this.sendKeepalive = this.arm(now + KEEPALIVE_TIMEOUT);
    else this.needAnotherKeepalive = true;
  }

  /** Any authenticated packet (handshake, data, keepalive) was sent. */
  anyAuthenticatedPacketSent(): void {
    this.sendKeepalive = Infinity;
  }

  /** Any authenticated packet was received. */
  anyAuthenticatedPacketReceived(): void {
    this.newHandshake = Infinity;
  }

  /** An authenticated packet went either way; `persistentKeepalive` in ms (0 = off). */
  anyAuthenticatedPacketTraversal(now: number, persistentKeepalive: number): void {
    if (persistentKeepalive > 0) this.persistentKeepalive = this.arm(now + persistentKeepalive);
  }

  handshakeInitiated(now: number): void {
    this.retransmitHandshake = this.arm(now + REKEY_TIMEOUT + this.jitter());
  }

  handshakeComplete(): void {
    this.retransmitHandshake = Infinity;
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  sessionDerived(now: number): void {
    this.zeroKeyMaterial = this.arm(now + ZERO_KEY_MATERIAL_AFTER);
  }

  /** Fires every due deadline of `peer` once, in wireguard-go's order of concerns. */
  runExpired<P>(peer: P, now: number, actions: TimerActions<P>, persistentKeepaliveMs: number): void {
    if (this.retransmitHandshake <= now) {
      this.retransmitHandshake = Infinity;
      if (this.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
        // Give up: drop what waited for this handshake, and make sure any
        // residue of the partial exchange is wiped eventually.
        this.sendKeepalive = Infinity;
        actions.flushStaged(peer);
        if (this.zeroKeyMaterial === Infinity) this.zeroKeyMaterial = this.arm(now + ZERO_KEY_MATERIAL_AFTER);
      } else {
        this.handshakeAttempts++;
        actions.clearEndpointSource(peer);
        actions.sendHandshakeInitiation(peer, true, now);
      }
    }
    if (this.sendKeepalive <= now) {
      this.sendKeepalive = Infinity;
      actions.sendKeepalive(peer, now);
      if (this.needAnotherKeepalive) {
        this.needAnotherKeepalive = false;
        this.sendKeepalive = this.arm(now + KEEPALIVE_TIMEOUT);
      }
    }
    if (this.newHandshake <= now) {
      this.newHandshake = Infinity;
      actions.clearEndpointSource(peer);
      actions.sendHandshakeInitiation(peer, false, now);
    }
    if (this.zeroKeyMaterial <= now) {
      this.zeroKeyMaterial = Infinity;
      actions.zeroKeyMaterial(peer);
    }
    if (this.persistentKeepalive <= now) {
      this.persistentKeepalive = Infinity;
      if (persistentKeepaliveMs > 0) actions.sendKeepalive(peer, now);
    }
  }
}
