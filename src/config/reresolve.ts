/**
 * When to look an Endpoint hostname up again. wg resolves a hostname once, at
 * setconf time; wireguard-tools ships reresolve-dns.sh for peers whose address
 * changes (dynamic DNS). We build that in: a peer configured with a hostname
 * whose handshakes keep failing has its name looked up again, at most once per
 * interval, and the endpoint is replaced only when the answer differs.
 *
 * Pure bookkeeping (time comes in as an argument); the runtimes do the lookups.
 */
import { isIpLiteral } from './values.js';
import type { HostPort } from './types.js';

/** At most one lookup per peer per this many ms. */
export const RERESOLVE_INTERVAL_MS = 20_000;
/** A handshake older than this counts as stale (REKEY_AFTER_TIME + REKEY_TIMEOUT, as reresolve-dns.sh uses). */
export const HANDSHAKE_STALE_MS = 135_000;
/** Peers tracked at most (a bound on the table; configs beyond this are not re-resolved). */
export const RERESOLVE_MAX_PEERS = 4096;

export interface ReresolveTarget {
  /** The peer's public key, base64 (a stable id). */
  readonly key: string;
  readonly host: string;
  readonly port: number;
}

/** What the runtime reports about a peer at check time. */
export interface PeerHealth {
  /** ms since the epoch of the last completed handshake; 0 = never. */
  lastHandshake: number;
  /** True while the peer is trying to handshake (initiations sent, or bytes sent without an answer). */
  trying: boolean;
}

/** Stale handshake while trying: the condition under which a hostname is looked up again. */
export function handshakeFailing(h: PeerHealth, now: number): boolean {
  return h.trying && (h.lastHandshake === 0 || now - h.lastHandshake > HANDSHAKE_STALE_MS);
}

export class EndpointReresolver {
  private readonly targets = new Map<string, { target: ReresolveTarget; lastLookup: number; pending: boolean }>();

  /** `startedAt`: when the initial resolution happened (counts as the first lookup). */
  constructor(
    targets: Iterable<ReresolveTarget>,
    startedAt: number,
    private readonly intervalMs = RERESOLVE_INTERVAL_MS,
  ) {
    for (const t of targets) {
      if (this.targets.size >= RERESOLVE_MAX_PEERS) break;
      if (isIpLiteral(t.host)) continue;
      this.targets.set(t.key, { target: t, lastLookup: startedAt, pending: false });
    }
  }

  /** The hostname peers of a parsed config's peer list. */
  static targetsOf(peers: readonly { publicKey: string; endpoint?: HostPort }[]): ReresolveTarget[] {
    const out: ReresolveTarget[] = [];
    for (const p of peers) if (p.endpoint && !isIpLiteral(p.endpoint.host)) out.push({ key: p.publicKey, host: p.endpoint.host, port: p.endpoint.port });
    return out;
  }

  /** The tracked peers' keys. */
  keys(): IterableIterator<string> {
    return this.targets.keys();
  }

  get size(): number {
    return this.targets.size;
  }

  /** Track a peer (replacing what was tracked under its key); IP literals are ignored. */
  add(target: ReresolveTarget, resolvedAt: number): void {
    if (isIpLiteral(target.host)) return;
    if (!this.targets.has(target.key) && this.targets.size >= RERESOLVE_MAX_PEERS) return;
    this.targets.set(target.key, { target, lastLookup: resolvedAt, pending: false });
  }

  /** Stop tracking a peer (removed, or its endpoint set by hand over UAPI). */
  forget(key: string): void {
    this.targets.delete(key);
  }

  /**
   * The targets to look up now; each returned target is marked pending until
   * `done(key)` is called, so a slow resolver never gets two lookups at once.
   */
  due(now: number, health: (key: string) => PeerHealth | undefined): ReresolveTarget[] {
    const out: ReresolveTarget[] = [];
    for (const [key, t] of this.targets) {
      if (t.pending || now - t.lastLookup < this.intervalMs) continue;
      const h = health(key);
      if (h === undefined) {
        this.targets.delete(key); // the peer is gone
        continue;
      }
      if (!handshakeFailing(h, now)) continue;
      t.pending = true;
      t.lastLookup = now;
      out.push(t.target);
    }
    return out;
  }

  /** The lookup started by `due` finished (either way); the interval counts from its start. */
  done(key: string): void {
    const t = this.targets.get(key);
    if (t) t.pending = false;
  }
}
