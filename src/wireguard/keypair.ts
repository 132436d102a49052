/**
 * Transport keypairs and the previous/current/next slots of a peer.
 *
 * Rotation follows wireguard-go (BeginSymmetricSession / ReceivedWithKeypair):
 * - initiator: the new keypair becomes current at once; the old current (or an
 *   unconfirmed next) becomes previous;
 * - responder: the new keypair waits in next until the first transport message
 *   arrives on it (key confirmation), then next → current, current → previous.
 */
import { ReplayWindow } from './replay.js';

export class Keypair {
  /** Next send counter (number; see constants.ts COUNTER_LIMIT). */
  sendCounter = 0;
  readonly replay = new ReplayWindow();
  wiped = false;

  constructor(
    readonly sendKey: Uint8Array,
    readonly recvKey: Uint8Array,
    readonly isInitiator: boolean,
    /** `now` (ms) when the handshake that made it completed. */
    readonly created: number,
    readonly localIndex: number,
    readonly remoteIndex: number,
  ) {}

  wipe(): void {
    this.sendKey.fill(0);
    this.recvKey.fill(0);
    this.wiped = true;
  }
}

export class Keypairs {
  previous: Keypair | null = null;
  current: Keypair | null = null;
  next: Keypair | null = null;

  /** `onDelete` releases a keypair that leaves every slot (index table, wipe). */
  constructor(private readonly onDelete: (kp: Keypair) => void) {}

  private drop(kp: Keypair | null): void {
    if (kp) this.onDelete(kp);
  }

  /** Installs the keypair of a completed handshake. */
  install(kp: Keypair): void {
    if (kp.isInitiator) {
      if (this.next) {
        // An unconfirmed responder keypair is superseded; keep it as previous
        // so packets the peer already sent with it still decrypt.
        const next = this.next;
        this.next = null;
        this.drop(this.previous);
        this.previous = next;
        this.drop(this.current);
      } else {
        this.drop(this.previous);
        this.previous = this.current;
      }
      this.current = kp;
    } else {
      this.drop(this.next);
      this.next = kp;
      this.drop(this.previous);
      this.previous = null;
    }
  }

  /**
   * Call after a transport message authenticated with `kp`. Returns true when
   * that confirmed `next` (which is then current).
   */
  receivedWith(kp: Keypair): boolean {
    if (this.next !== kp) return false;
    this.drop(this.previous);
    this.previous = this.current;
    this.current = kp;
    this.next = null;
    return true;
  }

  /** Removes every keypair. */
  clear(): void {
    this.drop(this.previous);
    this.drop(this.current);
    this.drop(this.next);
    this.previous = this.current = this.next = null;
  }
}
