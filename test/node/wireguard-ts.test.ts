import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Runs the compiled launcher (npm test builds dist first); these cases need no root.
const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'wireguard-ts');
const built = existsSync(join(root, 'dist', 'src', 'node', 'wireguard-ts.js'));

function runBin(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, LOG_LEVEL: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!built)('wireguard-ts command line', () => {
  it('prints usage and exits 2 without an interface name', () => {
    const r = runBin([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('Usage: wireguard-ts [-f/--foreground] INTERFACE-NAME\n');
  });

  it('rejects an interface name longer than 15 bytes', () => {
    const r = runBin(['-f', 'a-very-long-interface']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid interface name/);
  });

  it('--version exits 0', () => {
    const r = runBin(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wireguard-ts \(wgts\) /);
  });

  it('without the addon: says so and exits 1, in the foreground and through the daemon launcher', () => {
    const fg = runBin(['-f', 'wgtsnoaddon0'], { WGTS_NATIVE: '0' });
    expect(fg.code).toBe(1);
    expect(fg.stderr).toMatch(/kernel TUN mode needs the native addon/);
    const daemon = runBin(['wgtsnoaddon0'], { WGTS_NATIVE: '0' });
    expect(daemon.code).toBe(1);
    expect(daemon.stderr).toMatch(/kernel TUN mode needs the native addon/);
    expect(daemon.stderr).toMatch(/daemon exited before it was ready/);
  });
});
