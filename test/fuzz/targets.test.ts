/**
 * The fuzz targets of fuzz/targets.ts under fast-check (fixed seed, small
 * budget): real seeds mutated, and arbitrary bytes / text. A target's runner
 * swallows the input's expected rejections, so any throw is a finding.
 * Also checks the seeds themselves run clean and reach the deep paths.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TARGETS, capturedDatagrams, type FuzzTarget } from '../../fuzz/targets.js';

const RUNS: Record<string, number> = { device: 150, 'device-ops': 150, endpoint: 300, stack: 200, uapi: 120, config: 200 };

function mutatedSeed(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.uint8Array({ maxLength: 8 }))
    .map(([base, muts, cut, tail]) => {
      const b = Uint8Array.from(base);
      for (const [i, v] of muts) if (b.length) b[i % b.length] = v;
      if (cut % 4 === 0) return b.subarray(0, cut % (b.length + 1));
      if (cut % 4 === 1) return Uint8Array.from([...b, ...tail]);
      return b;
    });
}

function textLike(t: FuzzTarget, seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  // Seeds with whole lines swapped, dropped or duplicated, and dictionary tokens spliced in.
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...t.dictionary)), { maxLength: 4 }))
    .map(([base, edits]) => {
      const lines = dec.decode(base).split('\n');
      for (const [i, j, tok] of edits) {
        const a = i % lines.length;
        switch (j % 4) {
          case 0:
            lines.splice(a, 1);
            break;
          case 1:
            lines.splice(a, 0, lines[j % lines.length]!);
            break;
          case 2:
            lines[a] = lines[a]!.slice(0, j % (lines[a]!.length + 1)) + tok + lines[a]!.slice(j % (lines[a]!.length + 1));
            break;
          default:
            lines[a] = tok;
        }
      }
      return enc.encode(lines.join('\n'));
    });
}

describe.each(TARGETS.map((t) => [t.name, t] as const))('fuzz target %s', (name, target) => {
  const seeds = target.seeds();

  it('has seeds and they run clean on fresh state', () => {
    expect(seeds.length).toBeGreaterThan(0);
    const run = target.create();
    for (const s of seeds) run(s);
  });

  it('survives mutated seeds and arbitrary input', () => {
    let run = target.create();
    let n = 0;
    const arb = fc.oneof(
      mutatedSeed(seeds),
      target.text ? textLike(target, seeds) : fc.uint8Array({ maxLength: 300 }),
      target.text ? fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s)) : fc.uint8Array({ minLength: 20, maxLength: 60 }),
    );
    fc.assert(
      fc.property(arb, (input) => {
        if (++n % Math.min(target.recreateEvery, 100) === 0) run = target.create();
        run(input);
      }),
      { seed: 42, numRuns: RUNS[name] ?? 400 },
    );
  });
});

describe('seed capture', () => {
  it('holds every WireGuard message type, including a cookie reply and keepalives', () => {
    const { datagrams, inner } = capturedDatagrams();
    const types = new Set(datagrams.map((d) => d[0]));
    expect([...types].sort()).toEqual([1, 2, 3, 4]);
    expect(datagrams.some((d) => d[0] === 4 && d.length === 32)).toBe(true);
    expect(inner.length).toBeGreaterThanOrEqual(6);
  });
});
