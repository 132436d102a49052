/**
 * `wgts up`'s runtime (loaded on demand by up.ts): tun mode runs wg-quick's
 * workflow on a kernel TUN interface (tun-up.ts); netstack mode runs the
 * userspace-stack endpoint (src/node/endpoint-runtime.ts).
 */
import { runNetstackEndpoint } from '../node/endpoint-runtime.js';
import type { WgConfig } from '../config/types.js';
import type { UpOptions } from './up.js';
import { createLogger, effectiveLogLevel } from './tun-exec.js';
import { runTunEndpoint } from './tun-up.js';

/** wg-quick keys that act on a kernel interface, present in the config (netstack mode has none). */
export function netstackIgnoredKeys(cfg: WgConfig): string[] {
  const i = cfg.interface;
  const out: string[] = [];
  if (i.preUp.length) out.push('PreUp');
  if (i.postUp.length) out.push('PostUp');
  if (i.preDown.length) out.push('PreDown');
  if (i.postDown.length) out.push('PostDown');
  if (i.table !== undefined) out.push('Table');
  if (i.saveConfig) out.push('SaveConfig');
  if (i.dnsSearch.length) out.push('DNS search domains');
  return out;
}

export async function runEndpoint(opts: UpOptions): Promise<number> {
  if (opts.mode === 'tun') return runTunEndpoint(opts);
  const logger = createLogger(effectiveLogLevel(opts.logLevel, opts.cli.env), (l) => opts.cli.err(l));
  for (const key of netstackIgnoredKeys(opts.config)) logger.warn(`${opts.configPath}: ${key} applies to --mode tun only; ignored in netstack mode`);
  return runNetstackEndpoint(opts.config, { interfaceName: opts.interfaceName, logger });
}
