/** Tunables of the TCP implementation, with defaults close to Linux where RFCs leave room. */
import type { CongestionAlgorithm } from './congestion.js';

export interface TcpConfig {
  /** Largest send buffer: bytes `write` accepts before it returns short. */
  sendBufferSize: number;
  /** Largest receive buffer: bounds the advertised window and stored out-of-order data. */
  receiveBufferSize: number;
  /**
   * Buffers start this small and double (up to the sizes above) when the
   * connection can use more: the peer fills the window while the application
   * keeps up, or the flight fills half the send buffer. Idle connections stay small.
   */
  initialBufferSize: number;
  congestion: CongestionAlgorithm;
  sack: boolean;
  timestamps: boolean;
  windowScaling: boolean;
  /** RFC 6298 bounds and first value (ms). RFC 6298 says 1 s minimum; Linux uses 200 ms. */
  minRto: number;
  maxRto: number;
  initialRto: number;
  /** Delayed-ACK timeout (ms). */
  delayedAckMs: number;
  /** Maximum segment lifetime; TIME_WAIT lasts 2·MSL. */
  mslMs: number;
  /** How long an orphaned (closed) connection may sit in FIN_WAIT_2. */
  finWait2TimeoutMs: number;
  /** SYN / SYN-ACK retransmissions before giving up. */
  synRetries: number;
  /** Data retransmission timeouts in a row before ETIMEDOUT. */
  retries: number;
  keepAliveIdleMs: number;
  keepAliveIntervalMs: number;
  keepAliveCount: number;
  /** Out-of-order ranges kept per connection (holes beyond are dropped). */
  maxOutOfOrderRanges: number;
  /** Nagle off by default? (Node's net.Socket leaves Nagle on.) */
  noDelay: boolean;
}

export const DEFAULT_TCP_CONFIG: Readonly<TcpConfig> = Object.freeze({
  sendBufferSize: 4 * 1024 * 1024,
  receiveBufferSize: 4 * 1024 * 1024,
  initialBufferSize: 64 * 1024,
  congestion: 'cubic',
  sack: true,
  timestamps: true,
  windowScaling: true,
  minRto: 200,
  maxRto: 60_000,
  initialRto: 1000,
  delayedAckMs: 40,
  mslMs: 30_000,
  finWait2TimeoutMs: 60_000,
  synRetries: 6,
  retries: 15,
  keepAliveIdleMs: 7_200_000,
  keepAliveIntervalMs: 75_000,
  keepAliveCount: 9,
  maxOutOfOrderRanges: 32,
  noDelay: false,
});
