/**
 * `wgts up`'s runtime (loaded on demand by up.ts): tun mode runs wg-quick's
 * workflow on a kernel TUN interface (tun-up.ts); netstack mode runs the
 * userspace-stack endpoint (src/node/endpoint-runtime.ts).
 */
import { runNetstackEndpoint } from '../node/endpoint-runtime.js';
import type { UpOptions } from './up.js';
import { createLogger, effectiveLogLevel } from './tun-exec.js';
import { runTunEndpoint } from './tun-up.js';

export async function runEndpoint(opts: UpOptions): Promise<number> {
  if (opts.mode === 'tun') return runTunEndpoint(opts);
  const logger = createLogger(effectiveLogLevel(opts.logLevel, opts.cli.env), (l) => opts.cli.err(l));
  return runNetstackEndpoint(opts.config, { interfaceName: opts.interfaceName, logger });
}
