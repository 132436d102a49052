import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { keyFromBase64 } from '../../src/config/keys.js';
import { runInProcess } from './helpers.js';

const hasWg = spawnSync('wg', ['--version']).status === 0;
const KNOWN_PRIV = 'iMD1/Ar7MMTx5tGNsBaiXj7c6NV8DBPoADux4fIneEM=';
const KNOWN_PUB = 'aezl40pjMHg6SHwJKYc8Jo7v0ZoazPwlVpiRfPTJPys='; // `wg pubkey` of KNOWN_PRIV

describe('genkey / genpsk / pubkey', () => {
  it('genkey prints a clamped key that pubkey accepts', async () => {
    const g = await runInProcess(['genkey']);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const k = keyFromBase64(g.stdout.trim())!;
    expect(k[0]! & 7).toBe(0);
    expect(k[31]! & 0x80).toBe(0);
    expect(k[31]! & 0x40).toBe(0x40);
    const p = await runInProcess(['pubkey'], { stdin: g.stdout });
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    if (hasWg) expect(p.stdout).toBe(execFileSync('wg', ['pubkey'], { input: g.stdout, encoding: 'utf8' }));
  });

  it('pubkey of a known key', async () => {
    expect((await runInProcess(['pubkey'], { stdin: KNOWN_PRIV + '\n' })).stdout).toBe(KNOWN_PUB + '\n');
    // Like wg: no newline, or trailing whitespace and NULs, are fine.
    expect((await runInProcess(['pubkey'], { stdin: KNOWN_PRIV })).stdout).toBe(KNOWN_PUB + '\n');
    expect((await runInProcess(['pubkey'], { stdin: KNOWN_PRIV + '\n\n \t\0\n' })).stdout).toBe(KNOWN_PUB + '\n');
  });

  it('pubkey refuses bad input with exit 1 and wg\'s messages', async () => {
    const cases: [string, string][] = [
      ['', 'wgts: Key is not the correct length or format\n'],
      ['abc\n', 'wgts: Key is not the correct length or format\n'],
      [' ' + KNOWN_PRIV, 'wgts: Trailing characters found after key\n'], // wg checks what follows the first 44 bytes first
      [KNOWN_PRIV + ' x', 'wgts: Trailing characters found after key\n'],
      [KNOWN_PRIV.replace('=', 'A'), 'wgts: Key is not the correct length or format\n'],
    ];
    for (const [input, msg] of cases) {
      const r = await runInProcess(['pubkey'], { stdin: input });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(msg);
      if (hasWg) expect(spawnSync('wg', ['pubkey'], { input }).status).toBe(1);
    }
  });

  it('genpsk prints 32 random bytes', async () => {
    const a = await runInProcess(['genpsk']);
    const b = await runInProcess(['genpsk']);
    expect(a.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(a.stdout).not.toBe(b.stdout);
  });

  it('extra arguments are a usage error (exit 2)', async () => {
    const r = await runInProcess(['genkey', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('Usage: wgts genkey\n');
  });
});
