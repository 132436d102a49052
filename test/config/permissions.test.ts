import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPermissionWarning } from '../../src/config/index.js';

describe('configPermissionWarning', () => {
  it('warns like wg-quick, and also for group-readable files', () => {
    const base = mkdtempSync(join(tmpdir(), 'wgts-perm-'));
    try {
      const open = join(base, 'open');
      const closed = join(base, 'closed');
      mkdirSync(open, { mode: 0o755 });
      mkdirSync(closed, { mode: 0o700 });
      chmodSync(open, 0o755);
      chmodSync(closed, 0o700);
      const f = (d: string, mode: number): string => {
        const p = join(d, `wg-${mode.toString(8)}.conf`);
        writeFileSync(p, '[Interface]\n');
        chmodSync(p, mode);
        return p;
      };
      const world = f(open, 0o644);
      expect(configPermissionWarning(world, true)).toBe(`Warning: \`${world}' is world accessible`);
      expect(configPermissionWarning(world, false)).toBeNull();
      const group = f(closed, 0o640);
      expect(configPermissionWarning(group, true)).toBe(`Warning: \`${group}' holds a private key and is readable by group or others (chmod 600 it)`);
      expect(configPermissionWarning(f(open, 0o600), true)).toBeNull();
      expect(configPermissionWarning(join(base, 'missing.conf'), true)).toBeNull();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
