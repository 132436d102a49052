/**
 * genkey, genpsk, pubkey: the same bytes in and out as wg's.
 */
import { fstatSync } from 'node:fs';
import { defaultCrypto } from '../crypto/index.js';
import { keyFromBase64, keyToBase64, KEY_BASE64_LENGTH } from '../config/keys.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Cli } from './context.js';
import { usageLine } from './help.js';

function noArgs(cli: Cli, cmd: string, args: string[]): void {
  if (args.length) throw new UsageError(usageLine(cli.prog, cmd).trimEnd());
}

function warnWorldReadableStdout(cli: Cli): void {
  try {
    const st = fstatSync(1);
    if (st.isFile() && (st.mode & 0o007) !== 0) {
      cli.err('Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n');
    }
  } catch {
    // stdout may be closed or not a file descriptor we can stat; nothing to warn about.
  }
}

export async function genkey(cli: Cli, args: string[]): Promise<number> {
  noArgs(cli, 'genkey', args);
  warnWorldReadableStdout(cli);
  cli.out(keyToBase64(defaultCrypto().generatePrivateKey()) + '\n');
  return EXIT_OK;
}

export async function genpsk(cli: Cli, args: string[]): Promise<number> {
  noArgs(cli, 'genpsk', args);
  warnWorldReadableStdout(cli);
  cli.out(keyToBase64(defaultCrypto().randomBytes(32)) + '\n');
  return EXIT_OK;
}

const isSpaceOrNul = (c: number): boolean => c === 0 || c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * Reads exactly one base64 key from a stream: the first 44 bytes, then nothing but
 * whitespace (or NUL) to the end. Memory stays constant however long the input is.
 */
export async function readKeyFromStream(stream: NodeJS.ReadableStream): Promise<{ key: Uint8Array } | { error: string }> {
  let head = '';
  let trailing = false;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer);
    let i = 0;
    if (head.length < KEY_BASE64_LENGTH) {
      const take = Math.min(KEY_BASE64_LENGTH - head.length, buf.length);
      head += buf.subarray(0, take).toString('latin1');
      i = take;
    }
    for (; i < buf.length && !trailing; i++) if (!isSpaceOrNul(buf[i]!)) trailing = true;
  }
  if (head.length < KEY_BASE64_LENGTH) return { error: 'Key is not the correct length or format' };
  if (trailing) return { error: 'Trailing characters found after key' };
  const key = keyFromBase64(head);
  if (!key) return { error: 'Key is not the correct length or format' };
  return { key };
}

export async function pubkey(cli: Cli, args: string[]): Promise<number> {
  noArgs(cli, 'pubkey', args);
  const r = await readKeyFromStream(cli.stdin);
  if ('error' in r) {
    cli.err(`${cli.prog}: ${r.error}\n`);
    return EXIT_FAILURE;
  }
  cli.out(keyToBase64(defaultCrypto().publicKey(r.key)) + '\n');
  return EXIT_OK;
}
