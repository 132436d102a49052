/**
 * The coverage-guided loop for one target: run the seeds (and a saved
 * corpus), then mutate corpus entries; an input that reaches new coverage
 * joins the corpus. Unexpected exceptions, broken invariants and slow inputs
 * are findings, de-duplicated by their message and top stack frame.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { CoverageTracker } from './coverage.js';
import { Mutator } from './mutate.js';
import type { FuzzTarget } from './targets.js';

export interface FuzzFinding {
  target: string;
  kind: 'crash' | 'invariant' | 'slow' | 'hang' | 'memory';
  message: string;
  input: Uint8Array;
  /** Inputs run on the same state before this one (stateful targets), oldest first. */
  history?: Uint8Array[];
  /** Where the input was written, when a findings dir was given. */
  file?: string;
}

export interface FuzzOptions {
  /** Stop after this many ms (default 10 s) or this many executions. */
  timeMs?: number;
  maxExecs?: number;
  seed?: number;
  /** Coverage guidance (default on). Off: pure mutation of seeds. */
  coverage?: boolean;
  /** Which script URLs count for coverage (default: the project's src/, crypto excluded). */
  coverageInclude?: (url: string) => boolean;
  /**
   * A tracker started before the code under test was loaded: V8 gives block
   * coverage only for functions compiled after coverage started (the worker does this).
   */
  tracker?: CoverageTracker;
  /** Read extra seeds from, and save new coverage to, corpusDir/<target>/. */
  corpusDir?: string;
  /** Write findings to findingsDir/<target>-<sha1>.{bin,txt}. */
  findingsDir?: string;
  /** An input slower than this (ms) is a finding (default 2000). */
  slowMs?: number;
  maxInputLength?: number;
  /** Heap plus ArrayBuffer memory (MB) above which the run reports memory growth (default 1024; checked every 2000 executions). */
  heapLimitMb?: number;
  /** Stop at the first finding (tests). */
  stopOnFinding?: boolean;
  /** Called before each execution (the worker mirrors the input for the hang watchdog). */
  beforeExec?: (input: Uint8Array) => void;
  now?: () => number;
}

export interface FuzzResult {
  target: string;
  execs: number;
  ms: number;
  corpus: number;
  edges: number;
  features: number;
  /** Largest V8 heap seen (MB, sampled). */
  peakHeapMb: number;
  findings: FuzzFinding[];
}

function sha1(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

export function classify(e: unknown): { kind: 'crash' | 'invariant'; message: string; signature: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  const kind = err.name === 'Finding' ? 'invariant' : 'crash';
  const frame = (err.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
  return { kind, message: `${err.name}: ${err.message}\n${err.stack ?? ''}`, signature: `${err.name}:${err.message.split('\n')[0]}@${frame.trim()}` };
}

export function writeFinding(dir: string, f: FuzzFinding): string {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${f.target}-${sha1(f.input).slice(0, 16)}`);
  writeFileSync(`${base}.bin`, f.input);
  writeFileSync(`${base}.txt`, `target: ${f.target}\nkind: ${f.kind}\n${f.history?.length ? `after ${f.history.length} earlier inputs on the same state (${base}.history.json)\n` : ''}${f.message}\n`);
  if (f.history?.length) writeFileSync(`${base}.history.json`, JSON.stringify(f.history.map((h) => Buffer.from(h).toString('base64'))));
  return `${base}.bin`;
}

export function fuzzTarget(target: FuzzTarget, opts: FuzzOptions = {}): FuzzResult {
  const now = opts.now ?? (() => performance.now());
  const timeMs = opts.timeMs ?? 10_000;
  const maxExecs = opts.maxExecs ?? Infinity;
  const slowMs = opts.slowMs ?? 2000;
  const maxLen = opts.maxInputLength ?? (target.text ? 8192 : 4096);
  const enc = new TextEncoder();
  const mutator = new Mutator(opts.seed ?? 1, target.dictionary.map((d) => enc.encode(d)), maxLen);
  const cov = opts.coverage === false ? null : (opts.tracker ?? new CoverageTracker(opts.coverageInclude));
  const findings: FuzzFinding[] = [];
  const signatures = new Set<string>();
  const corpus: Uint8Array[] = [];
  const saveDir = opts.corpusDir ? join(opts.corpusDir, target.name) : null;

  let run = target.create();
  let sinceCreate = 0;
  // Inputs since the last create(), so a finding on accumulated state can be replayed.
  const keepHistory = target.recreateEvery > 1 && target.recreateEvery <= 1000;
  const history: Uint8Array[] = [];
  let execs = 0;
  let peakHeapMb = 0;
  const heapLimitMb = opts.heapLimitMb ?? 1024;

  const report = (kind: FuzzFinding['kind'], message: string, signature: string, input: Uint8Array): void => {
    if (signatures.has(signature)) return;
    signatures.add(signature);
    const f: FuzzFinding = { target: target.name, kind, message, input: Uint8Array.from(input) };
    if (history.length) f.history = history.slice();
    if (opts.findingsDir) f.file = writeFinding(opts.findingsDir, f);
    findings.push(f);
  };

  /** One execution; returns the number of new coverage features. */
  const exec = (input: Uint8Array): number => {
    if (sinceCreate >= target.recreateEvery) {
      run = target.create();
      sinceCreate = 0;
      cov?.reset(); // set-up code is not the input's coverage
      history.length = 0;
    }
    sinceCreate++;
    execs++;
    opts.beforeExec?.(input);
    const t = now();
    let failed = false;
    try {
      run(input);
    } catch (e) {
      failed = true;
      const c = classify(e);
      report(c.kind, c.message, c.signature, input);
      // State after a throw is suspect: start over (after measuring this input).
      sinceCreate = Infinity;
    }
    const dt = now() - t;
    if (keepHistory) history.push(input);
    if (execs % 2000 === 0) {
      // ArrayBuffer memory (packet buffers) is outside the JS heap: count both.
      const h = getHeapStatistics();
      const mb = (h.used_heap_size + h.external_memory) / 2 ** 20;
      peakHeapMb = Math.max(peakHeapMb, mb);
      if (mb > heapLimitMb) report('memory', `heap at ${mb.toFixed(0)} MB after ${execs} executions (limit ${heapLimitMb} MB)`, 'memory', input);
    }
    if (!failed && dt > slowMs) report('slow', `input took ${dt.toFixed(0)} ms (limit ${slowMs} ms)`, `slow:${Math.round(Math.log2(dt))}`, input);
    return cov ? cov.collect() : 0;
  };

  const start = now();
  const initial = [...target.seeds()];
  cov?.start();
  try {
    cov?.reset();
    if (saveDir) {
      try {
        for (const n of readdirSync(saveDir)) initial.push(new Uint8Array(readFileSync(join(saveDir, n))));
      } catch {
        /* no saved corpus yet */
      }
    }
    for (const s of initial) {
      exec(s);
      corpus.push(s);
    }
    if (corpus.length === 0) corpus.push(new Uint8Array(0));
    while (execs < maxExecs && now() - start < timeMs && !(opts.stopOnFinding && findings.length > 0)) {
      // Favour recent (newly interesting) entries a little.
      const i = mutator.int(4) === 0 ? corpus.length - 1 - mutator.int(Math.min(corpus.length, 16)) : mutator.int(corpus.length);
      const input = mutator.mutate(corpus[i]!, corpus[mutator.int(corpus.length)]);
      if (exec(input) > 0) {
        corpus.push(input);
        if (saveDir) {
          mkdirSync(saveDir, { recursive: true });
          writeFileSync(join(saveDir, sha1(input)), input);
        }
      }
    }
  } finally {
    cov?.stop();
  }
  return {
    target: target.name,
    execs,
    ms: now() - start,
    corpus: corpus.length,
    edges: cov?.edges ?? 0,
    features: cov?.features ?? 0,
    peakHeapMb,
    findings,
  };
}

/** Runs `history` then `input` on fresh state (reproducing a finding); returns the error or null. */
export function replay(target: FuzzTarget, input: Uint8Array, history: Uint8Array[] = []): unknown {
  try {
    const run = target.create();
    for (const h of history) run(h);
    run(input);
    return null;
  } catch (e) {
    return e;
  }
}
