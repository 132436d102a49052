/**
 * The one interface every crypto backend implements. Byte-for-byte identical
 * results are required across backends (tests compare them).
 *
 * All functions take and return Uint8Array (Buffer is a Uint8Array). Functions
 * with an `out` parameter write into caller-provided memory so hot paths can
 * reuse buffers; they return the number of bytes written, or -1/false on
 * authentication failure. They never throw on authentication failure.
 */
export interface CryptoProvider {
  readonly name: 'noble' | 'node' | 'native';

  /** BLAKE2s-256 of the concatenation of `parts`. */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** Keyed BLAKE2s with a 16-byte output (WireGuard's MAC). */
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HMAC-BLAKE2s (32-byte output). */
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HKDF over HMAC-BLAKE2s with an empty info string: n = 1, 2 or 3 outputs of 32 bytes. */
  kdf(n: 1, key: Uint8Array, input: Uint8Array): [Uint8Array];
  kdf(n: 2, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array];
  kdf(n: 3, key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array];

  /** A fresh clamped X25519 private key. */
  generatePrivateKey(): Uint8Array;
  /** The X25519 public key of a private key (clamping applied). */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** X25519(priv, pub); returns null when the result is all zeros (low-order point). */
  sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null;

  /**
   * ChaCha20-Poly1305 with WireGuard's nonce (4 zero bytes ‖ 64-bit LE counter).
   * Writes plaintext.length + 16 bytes into `out` at `outOffset`; returns bytes written.
   */
  seal(key: Uint8Array, counter: bigint | number, plaintext: Uint8Array, ad: Uint8Array | null, out: Uint8Array, outOffset?: number): number;
  /**
   * Opens `ciphertext` (including the 16-byte tag) into `out` at `outOffset`.
   * Returns the plaintext length, or -1 when authentication fails.
   */
  open(key: Uint8Array, counter: bigint | number, ciphertext: Uint8Array, ad: Uint8Array | null, out: Uint8Array, outOffset?: number): number;

  /** XChaCha20-Poly1305 seal with a 24-byte nonce: returns ciphertext ‖ tag. */
  xseal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  /** XChaCha20-Poly1305 open: plaintext, or null on authentication failure. */
  xopen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array | null;

  /** Cryptographically secure random bytes. */
  randomBytes(n: number): Uint8Array;
}
