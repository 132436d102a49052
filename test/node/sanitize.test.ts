/**
 * The sanitizer job (native/sanitize/run.sh: the addon built with
 * -fsanitize=address,undefined, driven through short/huge packets, closed
 * handles and closes inside callbacks). It builds a separate addon copy
 * (~20 s) and runs whenever gcc with libasan is present (WGTS_SANITIZE=0
 * skips it; WGTS_SANITIZE=1 makes a missing toolchain a failure).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

const script = fileURLToPath(new URL('../../native/sanitize/run.sh', import.meta.url));

/** gcc prints the bare name when it has no such library. */
function hasAsanToolchain(): boolean {
  const r = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
  const lib = r.status === 0 ? r.stdout.trim() : '';
  return lib.includes('/') && existsSync(lib) && spawnSync('g++', ['--version']).status === 0;
}

const wanted = process.env.WGTS_SANITIZE;
const runIt = process.platform === 'linux' && wanted !== '0' && (wanted === '1' || hasAsanToolchain());
if (!runIt && wanted !== '0') console.warn('sanitize: skipped (needs Linux, gcc/g++ with libasan)');

describe.skipIf(!runIt)('native addon under ASan/UBSan', () => {
  it('runs the exercise with no sanitizer report', () => {
    const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 240_000 });
    const out = `${r.stdout}${r.stderr}`;
    expect(out).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    expect(out).toMatch(/exercise: ok \d+ checks/);
    expect(r.status).toBe(0);
  }, 250_000);
});
