/**
 * Endpoint hostnames stay text in a WgConfig; they are looked up when the
 * config is applied (wg resolves at setconf time, once).
 */
import { lookup } from 'node:dns/promises';
import { ConfigError } from './errors.js';
import type { WgConfig } from './types.js';
import { isIpLiteral } from './values.js';

export type Lookup = (host: string) => Promise<string>;

const defaultLookup: Lookup = async (host) => (await lookup(host)).address;

/** host → address for every Endpoint hostname in cfg (pass the result to toUapiSet). */
export async function resolveEndpoints(cfg: WgConfig, fileName: string, resolver: Lookup = defaultLookup): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of cfg.peers) {
    const host = p.endpoint?.host;
    if (host === undefined || isIpLiteral(host) || out.has(host)) continue;
    try {
      out.set(host, await resolver(host));
    } catch (e) {
      throw new ConfigError(fileName, undefined, 'Endpoint', `cannot resolve \`${host}': ${(e as Error).message}`);
    }
  }
  return out;
}
