/**
 * The sanitizer job (native/sanitize/run.sh: the addon built with
 * -fsanitize=address,undefined, driven through short/huge packets, closed
 * handles and closes inside callbacks). It builds a separate addon copy
 * (~30 s), so it runs only when asked: WGTS_SANITIZE=1.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../native/sanitize/run.sh', import.meta.url));

describe.skipIf(process.env.WGTS_SANITIZE !== '1' || process.platform !== 'linux')('native addon under ASan/UBSan', () => {
  it('runs the exercise with no sanitizer report', () => {
    const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 240_000 });
    const out = `${r.stdout}${r.stderr}`;
    expect(out).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    expect(out).toMatch(/exercise: ok \d+ checks/);
    expect(r.status).toBe(0);
  }, 250_000);
});
