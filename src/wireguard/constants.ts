/**
 * WireGuard protocol constants, with wireguard-go's values (device/constants.go).
 * Times are in milliseconds because the sans-I/O core is driven by a ms clock.
 */

export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

export const REKEY_AFTER_MESSAGES = 2 ** 60;
/** 2^64 − 2^13 − 1: not representable as a JS number; see COUNTER_LIMIT. */
export const REJECT_AFTER_MESSAGES_BIGINT = (1n << 64n) - (1n << 13n) - 1n;
/**
 * Transport counters are held as JS numbers, exact below 2^53. No peer can
 * legitimately reach 2^53 messages on one keypair (REJECT_AFTER_TIME ends it
 * after 180 s), so we treat [0, 2^53) as the whole counter space:
 * - receive: a wire counter ≥ 2^53 (checked on the high 32-bit word before any
 *   float conversion) is rejected — this includes every counter ≥ REJECT_AFTER_MESSAGES;
 * - send: a keypair is exhausted at SEND_COUNTER_LIMIT (below both 2^53 and
 *   REJECT_AFTER_MESSAGES), and a rekey is started at SEND_REKEY_AFTER_MESSAGES.
 */
export const COUNTER_LIMIT = 2 ** 53;
/** First wire counter value that the receiver refuses (high word ≥ this). */
export const COUNTER_LIMIT_HIGH_WORD = 2 ** 21;
export const SEND_COUNTER_LIMIT = 2 ** 53 - 2 ** 13 - 1;
export const SEND_REKEY_AFTER_MESSAGES = Math.min(REKEY_AFTER_MESSAGES, SEND_COUNTER_LIMIT - 2 ** 16);

export const REKEY_AFTER_TIME = 120_000;
export const REKEY_ATTEMPT_TIME = 90_000;
export const REKEY_TIMEOUT = 5_000;
/** wireguard-go: fastrandn(334) ms of jitter, i.e. 0..333 ms. */
export const REKEY_TIMEOUT_JITTER_MAX = 334;
/** 90 s / 5 s = 18 (wireguard-go gives up after MaxTimerHandshakes+2 = 20 initiations). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
export const REJECT_AFTER_TIME = 180_000;
export const KEEPALIVE_TIMEOUT = 10_000;
export const COOKIE_REFRESH_TIME = 120_000;
/** Minimum spacing of accepted initiations from one peer (flood guard). */
export const HANDSHAKE_INITIATION_RATE = 20;
export const ZERO_KEY_MATERIAL_AFTER = 3 * REJECT_AFTER_TIME;
/** Initiator re-handshakes on receive when its keypair is older than this (165 s). */
export const RECEIVE_REKEY_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;

export const UNDER_LOAD_AFTER_TIME = 1_000;
/** Handshake messages per 1 s window above which the device is under load. */
export const UNDER_LOAD_THRESHOLD = 128;

export const MAX_STAGED_PACKETS = 1024;
export const MAX_PEERS = 1 << 16;
export const PADDING_MULTIPLE = 16;
export const DEFAULT_MTU = 1420;

export const KEY_SIZE = 32;
export const MAC_SIZE = 16;
export const AEAD_TAG_SIZE = 16;
export const TIMESTAMP_SIZE = 12;
export const COOKIE_NONCE_SIZE = 24;
