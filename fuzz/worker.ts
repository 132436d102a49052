/**
 * Runs fuzzTarget for one target inside a worker thread, so the parent can
 * stop a hung input (Worker.terminate interrupts even an endless loop). Each
 * input is mirrored into shared memory before it runs, with an execution
 * counter the parent watches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CoverageTracker } from './coverage.js';
import type { FuzzOptions } from './engine.js';

// Coverage first, then load the code under test (block counters need it compiled afterwards).
const tracker = new CoverageTracker();
tracker.start();
const { fuzzTarget } = await import('./engine.js');
const { targetByName } = await import('./targets.js');

export interface WorkerInput {
  target: string;
  options: Omit<FuzzOptions, 'beforeExec' | 'now'>;
  /** [0] executions, [1] input length; the input bytes follow at byte 8. */
  shared: SharedArrayBuffer;
}

const data = workerData as WorkerInput;
const target = targetByName(data.target);
if (!target) throw new Error(`unknown target ${data.target}`);
const header = new Int32Array(data.shared, 0, 2);
const bytes = new Uint8Array(data.shared, 8);

const result = fuzzTarget(target, {
  ...data.options,
  tracker,
  beforeExec: (input) => {
    const n = Math.min(input.length, bytes.length);
    bytes.set(input.subarray(0, n));
    Atomics.store(header, 1, n);
    Atomics.add(header, 0, 1);
  },
});
parentPort!.postMessage({
  ...result,
  findings: result.findings.map((f) => ({ ...f, input: Array.from(f.input), history: undefined })),
});
