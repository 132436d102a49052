/** The CLI's error output never repeats key material it was handed by mistake. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wgts-sec-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 29 + 7) & 0xff));
const B64 = KEY.toString('base64');
const HEX = KEY.toString('hex');

function expectNoKey(text: string): void {
  for (const form of [B64, HEX]) for (let i = 0; i + 10 <= form.length; i++) expect(text).not.toContain(form.slice(i, i + 10));
}

describe('CLI errors do not echo keys', () => {
  it('pubkey with a malformed private key on stdin', async () => {
    for (const input of [`${B64}x\n`, B64.slice(0, 40), `${HEX}\n`]) {
      const r = await runInProcess(['pubkey'], { stdin: input });
      expect(r.code).not.toBe(0);
      expectNoKey(r.stdout + r.stderr);
    }
  });

  it('set private-key with a malformed key file', async () => {
    for (const [i, content] of [`${B64}garbage`, B64.slice(0, 43), HEX].entries()) {
      const f = join(dir, `key${i}`);
      writeFileSync(f, content);
      const r = await runInProcess(['set', 'wg0', 'private-key', f]);
      expect(r.code).not.toBe(0);
      expectNoKey(r.stdout + r.stderr);
    }
  });

  it('setconf / strip / up with a config whose key line is malformed', async () => {
    const bodies = [`[Interface]\nPrivateKey ${B64}\n`, `[Interface]\n${B64}\n`, `[Interface]\nPrivateKey = ${B64}!\n`, `[Interface]\nAddress = ${B64}\n`];
    for (const [i, body] of bodies.entries()) {
      const f = join(dir, `wg${i}.conf`);
      writeFileSync(f, body, { mode: 0o600 });
      for (const argv of [['setconf', `wg${i}`, f], ['strip', f], ['up', f]]) {
        const r = await runInProcess(argv);
        expect(r.code, argv.join(' ')).not.toBe(0);
        expectNoKey(r.stdout + r.stderr);
      }
    }
  });
});
