/**
 * Keeps key material out of error messages that quote the input. A quoted
 * line may hold a private or preshared key in a form the parser did not
 * recognise (no "=", a bare key, a typo'd key name, a truncated key), so any
 * run that looks like base64 or hex key text is replaced before it is shown.
 */

// 16+ characters of the base64 alphabet (hex is a subset) with optional "=" padding.
const KEYLIKE = /[A-Za-z0-9+/]{16,}={0,2}/g;

/** `text` with key-like runs replaced by "<redacted>". Letter-only words (key names) stay. */
export function redactSecrets(text: string): string {
  return text.replace(KEYLIKE, (run) => (/[0-9+/=]/.test(run) || run.length >= 32 ? '<redacted>' : run));
}
