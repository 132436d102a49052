/**
 * Coverage feedback from V8's precise block coverage through node:inspector
 * (no instrumentation, no dependencies). After each input we take the block
 * counts accumulated since the previous take (taking resets them).
 *
 * V8 reports, per executed function, nested ranges whose count differs from
 * the enclosing range. A block that ran as often as its parent has no range of
 * its own, so "new coverage" can show up as a count-0 range disappearing. We
 * therefore remember every range ever reported for a function and evaluate
 * each known range's effective count (innermost reported range containing it)
 * on every take. A feature is (range, AFL-style count bucket); an input is
 * interesting when it produces a feature not seen before.
 */
import { Session } from 'node:inspector';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  functionName: string;
  ranges: Range[];
  isBlockCoverage: boolean;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  if (count < 128) return 7;
  return 8;
}

export class CoverageTracker {
  private readonly session = new Session();
  /** Known ranges per function key: flat [start, end, id, ...]. */
  private readonly known = new Map<string, number[]>();
  private nextRangeId = 0;
  /** Features seen so far (range id * 16 + bucket). */
  private readonly seen = new Set<number>();
  /** Ranges ever executed (for the "edges" figure). */
  private readonly executed = new Set<number>();
  private started = false;

  /** `include(url)` selects the scripts whose coverage counts (our sources, not node_modules). */
  constructor(private readonly include: (url: string) => boolean = defaultInclude) {}

  start(): void {
    if (this.started) return;
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    this.started = true;
  }

  stop(): void {
    if (!this.started) return;
    this.post('Profiler.stopPreciseCoverage');
    this.post('Profiler.disable');
    this.session.disconnect();
    this.started = false;
  }

  /** Discards counts gathered so far (e.g. module loading). */
  reset(): void {
    this.take();
  }

  /** Counts since the last call; returns how many new features they contain. */
  collect(): number {
    const scripts = this.take();
    let fresh = 0;
    for (const s of scripts) {
      if (!this.include(s.url)) continue;
      for (const f of s.functions) {
        if (!f.isBlockCoverage || f.ranges.length === 0 || f.ranges[0]!.count === 0) continue;
        const key = `${s.url}#${f.ranges[0]!.startOffset}`;
        let known = this.known.get(key);
        if (known === undefined) this.known.set(key, (known = []));
        for (const r of f.ranges) {
          let found = false;
          for (let i = 0; i < known.length; i += 3) {
            if (known[i] === r.startOffset && known[i + 1] === r.endOffset) {
              found = true;
              break;
            }
          }
          if (!found) known.push(r.startOffset, r.endOffset, this.nextRangeId++);
        }
        for (let i = 0; i < known.length; i += 3) {
          const count = effectiveCount(f.ranges, known[i]!, known[i + 1]!);
          if (count === 0) continue;
          const id = known[i + 2]!;
          const feature = id * 16 + bucket(count);
          if (!this.seen.has(feature)) {
            this.seen.add(feature);
            this.executed.add(id);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }

  /** Distinct code ranges executed at least once. */
  get edges(): number {
    return this.executed.size;
  }

  get features(): number {
    return this.seen.size;
  }

  private take(): ScriptCoverage[] {
    let out: ScriptCoverage[] = [];
    this.post('Profiler.takePreciseCoverage', undefined, (r) => {
      out = (r as { result: ScriptCoverage[] }).result;
    });
    return out;
  }

  /** Inspector calls on an in-thread session complete synchronously. */
  private post(method: string, params?: object, onResult?: (r: unknown) => void): void {
    let error: Error | null = null;
    this.session.post(method, params ?? {}, (err, res) => {
      if (err) error = err;
      else onResult?.(res);
    });
    if (error) throw error;
  }
}

/** Count of the innermost range in `ranges` (nested, outermost first) containing [start, end). */
function effectiveCount(ranges: Range[], start: number, end: number): number {
  let count = 0;
  let width = Infinity;
  for (const r of ranges) {
    if (r.startOffset <= start && end <= r.endOffset && r.endOffset - r.startOffset <= width) {
      width = r.endOffset - r.startOffset;
      count = r.count;
    }
  }
  return count;
}

function defaultInclude(url: string): boolean {
  return url.includes('/src/') && !/node_modules\/(?!\.cache\/)/.test(url) && !url.includes('/src/crypto/');
}
