/**
 * Endpoint hostname re-resolution for `wgts up --mode tun`: the WireGuard
 * device lives in the daemon, so this process watches it over UAPI (as
 * wireguard-tools' reresolve-dns.sh does with `wg show`) and sets a peer's
 * endpoint again when its handshakes keep failing and its name now resolves to
 * another address.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { keyToBase64, keyToHex } from '../config/keys.js';
import { formatEndpoint } from '../config/uapi.js';
import { EndpointReresolver, type PeerHealth } from '../config/reresolve.js';
import type { WgConfig } from '../config/types.js';
import { getDevice, setDevice } from '../node/uapi-client.js';
import type { Logger } from './tun-exec.js';

export const POLL_MS = 5_000;

export interface TunReresolverOptions {
  env: NodeJS.ProcessEnv;
  log: Logger;
  lookup?: (host: string) => Promise<string>;
  /** Wall clock, ms (tests pass their own). */
  now?: () => number;
}

export interface TunReresolver {
  /** One round: read the device, look failing peers' names up, set changed endpoints. */
  poll(): Promise<void>;
  stop(): void;
}

/** Null when no peer has a hostname endpoint. Polls every POLL_MS unless `autoStart` is false. */
export function startTunReresolver(iface: string, cfg: WgConfig, opts: TunReresolverOptions, autoStart = true): TunReresolver | null {
  const now = opts.now ?? Date.now;
  const lookup = opts.lookup ?? (async (h: string) => (await dnsLookup(h)).address);
  const targets = EndpointReresolver.targetsOf(cfg.peers.map((p) => ({ publicKey: keyToBase64(p.publicKey), endpoint: p.endpoint })));
  if (targets.length === 0) return null;
  const rr = new EndpointReresolver(targets, now());
  /** tx_bytes at the previous poll: growing without a fresh handshake = trying. */
  const lastTx = new Map<string, bigint>();
  let busy = false;
  let stopped = false;

  const poll = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      let dev;
      try {
        dev = await getDevice(iface, { env: opts.env, timeoutMs: 2000 });
      } catch (e) {
        opts.log.debug(`re-resolve: cannot read ${iface}: ${(e as Error).message}`);
        return;
      }
      const t = now();
      const health = new Map<string, PeerHealth & { endpoint: string | null; publicKey: Uint8Array }>();
      for (const p of dev.peers) {
        const key = keyToBase64(p.publicKey);
        const prev = lastTx.get(key);
        lastTx.set(key, p.txBytes);
        health.set(key, {
          lastHandshake: p.lastHandshakeSec * 1000,
          trying: prev !== undefined && p.txBytes > prev,
          endpoint: p.endpoint ? formatEndpoint(p.endpoint) : null,
          publicKey: p.publicKey,
        });
      }
      for (const target of rr.due(t, (k) => health.get(k))) {
        try {
          const address = await lookup(target.host);
          const h = health.get(target.key)!;
          const to = formatEndpoint({ host: address, port: target.port });
          if (to === h.endpoint || stopped) continue;
          await setDevice(iface, `set=1\npublic_key=${keyToHex(h.publicKey)}\nendpoint=${to}\n\n`, { env: opts.env, timeoutMs: 2000 });
          opts.log.info(`peer ${target.key.slice(0, 8)}…: handshakes failing; ${target.host} re-resolved, endpoint ${h.endpoint ?? 'none'} → ${to}`);
        } catch (e) {
          opts.log.warn(`peer ${target.key.slice(0, 8)}…: handshakes failing; cannot re-resolve ${target.host}: ${(e as Error).message}`);
        } finally {
          rr.done(target.key);
        }
      }
    } finally {
      busy = false;
    }
  };

  const timer = autoStart ? setInterval(() => void poll(), POLL_MS) : null;
  timer?.unref();
  return {
    poll,
    stop: () => {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
