import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuSeconds, fmtNum, formatLine, makeRow, markdownTable, median, percentile, skipRow } from '../../bench/lib.js';
import { summarize } from '../../bench/profile.js';

describe('bench rows', () => {
  it('ratio is wgts/anchor, or anchor/wgts when lower is better', () => {
    expect(makeRow({ name: 't', unit: 'Mbit/s', wgts: 500, anchor: 400 }).ratio).toBe(1.25);
    expect(makeRow({ name: 't', unit: 'ms', wgts: 4, anchor: 2, lowerIsBetter: true }).ratio).toBe(0.5);
    expect(makeRow({ name: 't', unit: 'ms', wgts: 0, anchor: 2 }).ratio).toBeNull();
    expect(makeRow({ name: 't', unit: 'MB/s', wgts: 3 }).ratio).toBeUndefined();
  });

  it('formats a line with CPU seconds and the ratio', () => {
    const r = makeRow({ name: 'tcp-1stream-tun send', unit: 'Mbit/s', wgts: 512, anchor: 480, anchorName: 'wireguard-go', wgtsCpu: 2.1, anchorCpu: 1.9 });
    expect(formatLine(r)).toBe('tcp-1stream-tun send           wgts 512 Mbit/s (2.10 CPU-s)  wireguard-go 480 Mbit/s (1.90 CPU-s)  ratio 1.07');
    expect(formatLine(skipRow('tun', 'needs root'))).toBe('tun                            skipped: needs root');
  });

  it('renders a markdown table row per result', () => {
    const md = markdownTable([makeRow({ name: 'a', unit: 'ms', wgts: 1.5, anchor: 3, anchorName: 'go', lowerIsBetter: true }), skipRow('b', 'why')]);
    const lines = md.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe('| a | 1.50 ms | 3.00 ms (go) | 2.00 | – |  |');
    expect(lines[3]).toBe('| b | – | – | – | – | skipped: why |');
  });

  it('number formatting and statistics', () => {
    expect([fmtNum(1234.5), fmtNum(12.34), fmtNum(1.234), fmtNum(0.01234), fmtNum(NaN), fmtNum(null)]).toEqual(['1235', '12.3', '1.23', '0.012', '–', '–']);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile([], 99)).toBeNaN();
  });

  it('reads CPU seconds of a live process and NaN for a missing one', () => {
    expect(cpuSeconds(process.pid)).toBeGreaterThanOrEqual(0);
    expect(cpuSeconds(2 ** 30)).toBeNaN();
  });
});

describe('profile summary', () => {
  it('adds self time per function and sorts by share', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgts-bench-test-'));
    const file = join(dir, 'p.cpuprofile');
    const frame = (id: number, functionName: string, url: string) => ({ id, callFrame: { functionName, url, lineNumber: id } });
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [frame(1, '(root)', ''), frame(2, 'seal', 'file:///x/dist/src/crypto/node.js'), frame(3, '', 'file:///x/dist/src/a.js')],
        samples: [2, 2, 3, 2],
        timeDeltas: [1000, 1000, 2000, 0],
      }),
    );
    expect(summarize(file)).toEqual(['total 0.00 s sampled', ' 50.0 %  seal  src/crypto/node.js:3', ' 50.0 %  (anonymous)  src/a.js:4']);
  });
});
