/**
 * The case runner the interop suites share (cli-tun, cli-netstack, and through
 * topologySuite kernel-tun and reliability): named cases run in order,
 * optionally filtered by a regular expression, between one setup and one
 * cleanup; cleanup also runs on SIGINT/SIGTERM.
 */

import { existsSync } from 'node:fs';
import type { Topology } from './topology.js';

export interface Case {
  name: string;
  fn: () => Promise<void> | void;
}

export interface SuiteOptions {
  /** Printed in the summary line `<name>: N passed, M failed`. */
  name: string;
  /** A regular expression (from the environment); only cases whose name matches run. */
  only: string | undefined;
  setup(): void;
  /** Idempotent: it also runs on SIGINT/SIGTERM. */
  cleanup(): void;
  /** Before every case. */
  beforeEach?(): void;
  /** After a failed case, before the next one. */
  afterFailure?(): void;
  /** After the last case, just before cleanup (not on a signal); `failed` counts failed cases and setup. */
  beforeCleanup?(failed: number): void;
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
  const t0 = Date.now();
  const seconds = (since: number): string => ((Date.now() - since) / 1000).toFixed(1);
  try {
    o.setup();
    for (const c of cases) {
      if (only && !only.test(c.name)) continue;
      const t = Date.now();
      try {
        o.beforeEach?.();
        await c.fn();
        passed++;
        console.log(`ok   ${c.name} (${seconds(t)} s)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${c.name} (${seconds(t)} s)\n     ${String((e as Error).message).split('\n').join('\n     ')}`);
        o.afterFailure?.();
      }
    }
  } catch (e) {
    failed++;
    console.log(`FAIL setup: ${(e as Error).message}`);
  } finally {
    o.beforeCleanup?.(failed);
    o.cleanup();
  }
  console.log(`# ${seconds(t0)} s`);
  console.log(`${o.name}: ${passed} passed, ${failed} failed`);
  // A filter that matched nothing proves nothing.
  return failed === 0 && passed > 0 ? 0 : 1;
}

/**
 * A two-sided suite on a Topology (A wireguard-go, B the implementation under
 * test): both daemons started and configured with endpoints; every case starts
 * from that configuration again, whatever the last one left.
 */
export function runTopologySuite(topo: Topology, cases: readonly Case[], o: { name: string; only: string | undefined; banner: string }): Promise<number> {
  const { a, b } = topo;
  return runCases(cases, {
    name: o.name,
    only: o.only,
    setup: () => {
      console.log(`# ${o.banner}; namespaces ${a.ns.name} ${b.ns.name}`);
      topo.createNetwork();
      topo.startImpl(a);
      topo.startImpl(b);
      topo.configure(a, b, { endpoint: true });
      topo.configure(b, a, { endpoint: true });
    },
    beforeEach: () => {
      if (topo.isAlive(b) && existsSync(`/var/run/wireguard/${b.iface}.sock`)) topo.configure(b, a, { endpoint: true, keepalive: 0 });
      topo.configure(a, b, { endpoint: true, keepalive: 0 });
    },
    beforeCleanup: (failed) => {
      if (failed > 0 || process.env.INTEROP_DEBUG) console.log(topo.logTail());
    },
    // Also removes a socket a daemon that dropped root could not remove itself.
    cleanup: () => topo.destroy(),
  });
}
