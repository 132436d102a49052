/**
 * The case runner the CLI suites (cli-tun, cli-netstack) share: named cases
 * run in order, optionally filtered by a regular expression, between one
 * setup and one cleanup; cleanup also runs on SIGINT/SIGTERM.
 */

export interface Case {
  name: string;
  fn: () => Promise<void>;
}

export interface SuiteOptions {
  /** Printed in the summary line `<name>: N passed, M failed`. */
  name: string;
  /** A regular expression (from the environment); only cases whose name matches run. */
  only: string | undefined;
  setup(): void;
  /** Idempotent: it also runs on SIGINT/SIGTERM. */
  cleanup(): void;
  /** After a failed case, before the next one. */
  afterFailure?(): void;
  /** After the last case, just before cleanup (not on a signal). */
  beforeCleanup?(): void;
}

/** Runs the cases; returns the process exit code (0 when none failed). */
export async function runCases(cases: readonly Case[], o: SuiteOptions): Promise<number> {
  const only = o.only ? new RegExp(o.only) : null;
  process.on('SIGINT', () => {
    o.cleanup();
    process.exit(130);
  });
  process.on('SIGTERM', () => {
    o.cleanup();
    process.exit(143);
  });
  let passed = 0;
  let failed = 0;
  try {
    o.setup();
    for (const c of cases) {
      if (only && !only.test(c.name)) continue;
      const t0 = Date.now();
      try {
        await c.fn();
        passed++;
        console.log(`ok   ${c.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${c.name}\n     ${(e as Error).message.split('\n').join('\n     ')}`);
        o.afterFailure?.();
      }
    }
  } catch (e) {
    failed++;
    console.log(`FAIL setup: ${(e as Error).message}`);
  } finally {
    o.beforeCleanup?.();
    o.cleanup();
  }
  console.log(`${o.name}: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
