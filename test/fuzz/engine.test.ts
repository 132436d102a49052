/** The coverage-guided engine itself: it must find planted bugs, record them, and repeat exactly. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzTarget, replay } from '../../fuzz/engine.js';
import { Mutator } from '../../fuzz/mutate.js';
import { Finding, targetByName, type FuzzTarget } from '../../fuzz/targets.js';

const dir = mkdtempSync(join(tmpdir(), 'wgts-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bug behind nested byte checks: coverage keeps each step, blind mutation needs both at once. */
const planted: FuzzTarget = {
  name: 'planted',
  text: false,
  dictionary: [],
  recreateEvery: Infinity,
  seeds: () => [Uint8Array.from([0, 0])],
  create: () => (b) => {
    if (b.length >= 2 && b[0] === 0x45) {
      if (b[1] === 0x60) throw new RangeError('planted crash');
    }
    if (b.length > 2000) throw new Finding('planted invariant');
  },
};

describe('fuzz engine', () => {
  it('finds a planted crash through coverage feedback and writes the input', () => {
    const r = fuzzTarget(planted, { maxExecs: 8000, timeMs: 60_000, seed: 3, findingsDir: dir, stopOnFinding: true, coverageInclude: (url) => url.includes('engine.test') });
    const crash = r.findings.find((f) => f.kind === 'crash');
    expect(crash, `execs ${r.execs}, corpus ${r.corpus}`).toBeDefined();
    expect(Array.from(crash!.input.subarray(0, 2))).toEqual([0x45, 0x60]);
    expect(crash!.message).toContain('RangeError: planted crash');
    expect(r.edges).toBeGreaterThan(3);
    expect(r.corpus).toBeGreaterThanOrEqual(2); // the seed plus the first step
    const files = readdirSync(dir).filter((f) => f.startsWith('planted-'));
    expect(files.some((f) => f.endsWith('.bin'))).toBe(true);
    const bin = files.find((f) => f.endsWith('.bin') && readFileSync(join(dir, f))[1] === 0x60)!;
    expect(replay(planted, new Uint8Array(readFileSync(join(dir, bin))))).toBeInstanceOf(RangeError);
    // De-duplicated: the same crash is reported once however often it is hit.
    expect(r.findings.filter((f) => f.kind === 'crash')).toHaveLength(1);
    console.log(`planted crash found after ${r.execs} executions`);
  });

  it('reports slow inputs as findings (fake clock)', () => {
    let t = 0;
    const slow: FuzzTarget = { ...planted, name: 'slow', create: () => (b) => void (t += b.length === 2 && b[0] === 0 ? 5000 : 1) };
    const r = fuzzTarget(slow, { maxExecs: 10, timeMs: 1e9, coverage: false, now: () => t, slowMs: 1000 });
    expect(r.findings.map((f) => f.kind)).toEqual(['slow']);
  });

  it('reports heap growth as a memory finding', () => {
    const leak: Uint8Array[] = [];
    const leaky: FuzzTarget = { ...planted, name: 'leaky', create: () => () => void leak.push(new Uint8Array(64 * 1024).fill(1)) };
    const r = fuzzTarget(leaky, { maxExecs: 2000, timeMs: 1e9, coverage: false, heapLimitMb: 100 });
    expect(r.findings.map((f) => f.kind)).toEqual(['memory']);
    expect(r.peakHeapMb).toBeGreaterThan(100);
    leak.length = 0;
  });

  it('runs a real target with coverage and no findings', () => {
    const r = fuzzTarget(targetByName('wg-messages')!, { maxExecs: 200, timeMs: 30_000, seed: 1 });
    expect(r.findings).toEqual([]);
    expect(r.execs).toBe(200);
    expect(r.edges).toBeGreaterThan(20);
  });

  it('mutates deterministically for a seed', () => {
    const base = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const run = (seed: number) => {
      const m = new Mutator(seed, [Uint8Array.from([9, 9])]);
      return Array.from({ length: 50 }, () => Array.from(m.mutate(base, base)).join(','));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
    expect(Array.from(base)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
