/**
 * `npm run fuzz`: coverage-guided fuzzing of every target, one worker thread
 * per target in turn, with a hang watchdog.
 *
 * Environment:
 *   FUZZ_SECONDS   total time budget, split evenly over the targets (default 30)
 *   FUZZ_TARGETS   comma-separated target names (default: all)
 *   FUZZ_SEED      mutation seed (default: random, printed)
 *   FUZZ_CORPUS    corpus directory (default fuzz/corpus; "" to disable)
 *   FUZZ_FINDINGS  findings directory (default fuzz/findings)
 *   FUZZ_HANG_MS   no progress for this long = a hang (default 10000)
 *   FUZZ_SLOW_MS   an input slower than this is a finding (default 2000)
 *   FUZZ_HEAP_MB   V8 heap above this is a memory finding (default 1024)
 * Replay a finding:  node dist/fuzz/run.js --replay TARGET FILE
 * Exits 1 when anything was found, 2 on usage errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { writeFinding, replay, type FuzzFinding, type FuzzResult } from './engine.js';
import { TARGETS, targetByName } from './targets.js';
import type { WorkerInput } from './worker.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/fuzz → project root is two levels up; fuzz/ (ts sources run directly) one.
const root = here.endsWith(join('dist', 'fuzz')) ? resolve(here, '..', '..') : resolve(here, '..');
const SHARED_INPUT_MAX = 64 * 1024;

function env(name: string, fallback: string): string {
  const v = process.env[name];
  return v === undefined ? fallback : v;
}

function runInWorker(target: string, options: WorkerInput['options'], hangMs: number, findingsDir: string): Promise<FuzzResult> {
  const shared = new SharedArrayBuffer(8 + SHARED_INPUT_MAX);
  const header = new Int32Array(shared, 0, 2);
  const bytes = new Uint8Array(shared, 8);
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { target, options, shared } satisfies WorkerInput });
  return new Promise((resolvePromise, reject) => {
    let lastCount = -1;
    let lastChange = Date.now();
    let hung: FuzzFinding | null = null;
    const watchdog = setInterval(() => {
      const c = Atomics.load(header, 0);
      if (c !== lastCount) {
        lastCount = c;
        lastChange = Date.now();
        return;
      }
      // Before the first execution the worker is loading and building seeds.
      if (c > 0 && Date.now() - lastChange > hangMs) {
        const input = bytes.slice(0, Atomics.load(header, 1));
        hung = { target, kind: 'hang', message: `no progress for ${hangMs} ms on this input`, input };
        hung.file = writeFinding(findingsDir, hung);
        void worker.terminate();
      }
    }, 250);
    worker.once('message', (m: FuzzResult & { findings: (Omit<FuzzFinding, 'input'> & { input: number[] })[] }) => {
      clearInterval(watchdog);
      resolvePromise({ ...m, findings: m.findings.map((f) => ({ ...f, input: Uint8Array.from(f.input) })) });
    });
    worker.once('error', (e) => {
      clearInterval(watchdog);
      reject(e);
    });
    worker.once('exit', () => {
      clearInterval(watchdog);
      if (hung) resolvePromise({ target, execs: lastCount, ms: 0, corpus: 0, edges: 0, features: 0, peakHeapMb: 0, findings: [hung] });
    });
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === '--replay') {
    const t = targetByName(args[1] ?? '');
    if (!t || !args[2]) {
      console.error(`usage: run.js --replay TARGET FILE  (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
      return 2;
    }
    const historyFile = args[2].replace(/\.bin$/, '.history.json');
    const history = existsSync(historyFile) ? (JSON.parse(readFileSync(historyFile, 'utf8')) as string[]).map((h) => new Uint8Array(Buffer.from(h, 'base64'))) : [];
    if (history.length) console.log(`replaying ${history.length} earlier inputs first (${historyFile})`);
    const err = replay(t, new Uint8Array(readFileSync(args[2])), history);
    if (err === null) {
      console.log('no failure on fresh state');
      return 0;
    }
    console.log(err instanceof Error ? err.stack : String(err));
    return 1;
  }
  if (args.length > 0) {
    console.error('usage: run.js [--replay TARGET FILE]  (configure with FUZZ_* environment variables)');
    return 2;
  }
  const seconds = Number(env('FUZZ_SECONDS', '30'));
  const names = env('FUZZ_TARGETS', '').split(',').filter((x) => x !== '');
  const targets = names.length ? names.map((n) => targetByName(n) ?? n) : [...TARGETS];
  const unknown = targets.filter((t) => typeof t === 'string');
  if (unknown.length || !(seconds > 0)) {
    console.error(`unknown targets ${unknown.join(', ')} or bad FUZZ_SECONDS; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
    return 2;
  }
  const seed = Number(env('FUZZ_SEED', String((Math.random() * 2 ** 31) >>> 0)));
  const corpusEnv = env('FUZZ_CORPUS', join(root, 'fuzz', 'corpus'));
  const findingsDir = env('FUZZ_FINDINGS', join(root, 'fuzz', 'findings'));
  const hangMs = Number(env('FUZZ_HANG_MS', '10000'));
  const slowMs = Number(env('FUZZ_SLOW_MS', '2000'));
  const perTarget = (seconds * 1000) / targets.length;
  console.log(`fuzz: ${targets.length} targets, ${(perTarget / 1000).toFixed(1)} s each, seed ${seed}`);
  console.log('target            execs   execs/s  corpus  edges  heapMB  findings');
  let total = 0;
  for (const t of targets) {
    const name = (t as { name: string }).name;
    const r = await runInWorker(
      name,
      { timeMs: perTarget, seed, coverage: true, corpusDir: corpusEnv === '' ? undefined : corpusEnv, findingsDir, slowMs, heapLimitMb: Number(env('FUZZ_HEAP_MB', '1024')) },
      hangMs,
      findingsDir,
    );
    total += r.findings.length;
    const rate = r.ms > 0 ? Math.round((r.execs * 1000) / r.ms) : 0;
    console.log(`${name.padEnd(16)} ${String(r.execs).padStart(7)} ${String(rate).padStart(9)} ${String(r.corpus).padStart(7)} ${String(r.edges).padStart(6)} ${r.peakHeapMb.toFixed(0).padStart(7)} ${String(r.findings.length).padStart(9)}`);
    for (const f of r.findings) console.log(`  FINDING ${f.kind} in ${name}: ${f.message.split('\n')[0]}\n    input: ${f.file ?? '(not written)'}`);
  }
  console.log(total ? `fuzz: ${total} finding(s) in ${findingsDir}` : 'fuzz: no findings');
  return total ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
