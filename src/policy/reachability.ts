/**
 * The ICMP echo reachability policy (shared/icmp.md): answer an Echo Request
 * only when the destination is really reachable through this endpoint.
 *
 * Installed as the stack's ICMP Forwarder handler for IPv4 and IPv6. It reads
 * live Device state on every decision: the AllowedIPs longest-prefix match the
 * device uses to send, and the covering peer's `hasLiveSession(now)`. Decisions
 * are O(log n) in the AllowedIPs table and allocate nothing.
 *
 * The policy needs to know which peer delivered the request (rule 2 excludes
 * the sender itself). The glue sets `sourcePeer` around the synchronous
 * `injectInbound` call and clears it afterwards.
 */

export type IcmpMode = 'reachable' | 'local' | 'all';
export const ICMP_MODES: readonly IcmpMode[] = ['reachable', 'local', 'all'];

/** What the policy needs from a peer. */
export interface PolicyPeer {
  /** A keypair from a handshake < REJECT_AFTER_TIME old that has not been wiped. */
  hasLiveSession(now: number): boolean;
}

/** What the policy needs from the device's AllowedIPs table. */
export interface PeerRoutes<P> {
  lookup(family: 4 | 6, buf: Uint8Array, offset: number): P | undefined;
}

/** Outcome of one decision (numbers, so deciding allocates nothing). */
export const Decision = {
  ReplyLocal: 0,
  ReplyPeer: 1,
  /** mode `all`: reply whatever the destination (debugging only). */
  ReplyForced: 2,
  SuppressNoRoute: 3,
  SuppressNoSession: 4,
  /** The covering peer is the one that sent the request. */
  SuppressSelf: 5,
  /** mode `local`: destination is not our own address. */
  SuppressMode: 6,
} as const;
export type Decision = (typeof Decision)[keyof typeof Decision];

/** Counter names as they appear in stats and on the status page. */
export const DECISION_COUNTER_NAMES: readonly string[] = [
  'icmp.echo.replied{reason=local}',
  'icmp.echo.replied{reason=peer}',
  'icmp.echo.replied{reason=all}',
  'icmp.echo.suppressed{reason=no-route}',
  'icmp.echo.suppressed{reason=no-session}',
  'icmp.echo.suppressed{reason=self}',
  'icmp.echo.suppressed{reason=mode}',
];

export function decisionReplies(d: Decision): boolean {
  return d <= Decision.ReplyForced;
}

/**
 * The request as the policy sees it: a structural subset of the netstack
 * ICMP Forwarder request, so the policy does not depend on the stack's types.
 */
export interface EchoRequestView {
  readonly family: 4 | 6;
  /** `localAddress` is the request's destination (our side). */
  readonly id: { readonly localAddress: Uint8Array };
  /** ICMP type of the message (8 = IPv4 echo request, 128 = IPv6 echo request). */
  readonly type: number;
  /** Ask the stack to send the standard Echo Reply; true the first time. */
  reply(): boolean;
}

export interface ReachabilityOptions<P extends PolicyPeer> {
  mode?: IcmpMode;
  routes: PeerRoutes<P>;
  /** Whether `addr` is one of the interface's own addresses. */
  isLocalAddress(family: 4 | 6, addr: Uint8Array): boolean;
}

const ICMPV4_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;

export class ReachabilityPolicy<P extends PolicyPeer> {
  mode: IcmpMode;
  /** The peer whose packet is being injected right now (set by the glue). */
  sourcePeer: P | null = null;
  /** Decision counts, indexed by `Decision`. */
  readonly counts = new Float64Array(DECISION_COUNTER_NAMES.length);
  private readonly routes: PeerRoutes<P>;
  private readonly isLocal: (family: 4 | 6, addr: Uint8Array) => boolean;

  constructor(opts: ReachabilityOptions<P>) {
    this.mode = opts.mode ?? 'reachable';
    this.routes = opts.routes;
    this.isLocal = opts.isLocalAddress;
  }

  /** Pure decision for an echo request to `dst` that `from` delivered. Does not count. */
  decide(family: 4 | 6, dst: Uint8Array, from: P | null, now: number): Decision {
    if (this.isLocal(family, dst)) return Decision.ReplyLocal;
    if (this.mode === 'all') return Decision.ReplyForced;
    if (this.mode === 'local') return Decision.SuppressMode;
    const peer = this.routes.lookup(family, dst, 0);
    if (peer === undefined) return Decision.SuppressNoRoute;
    if (peer === from) return Decision.SuppressSelf;
    if (!peer.hasLiveSession(now)) return Decision.SuppressNoSession;
    return Decision.ReplyPeer;
  }

  /**
   * Forwarder handler body: decides, replies or not, counts. Returns true
   * (consumed) for every echo request so the stack never answers on its own;
   * returns false for other ICMP messages, which are none of its business.
   */
  handle(req: EchoRequestView, now: number): boolean {
    const echo = req.family === 4 ? ICMPV4_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
    if (req.type !== echo) return false;
    const d = this.decide(req.family, req.id.localAddress, this.sourcePeer, now);
    if (decisionReplies(d)) req.reply();
    this.counts[d]!++;
    return true;
  }

  /** Counter snapshot keyed by the names in DECISION_COUNTER_NAMES. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < DECISION_COUNTER_NAMES.length; i++) out[DECISION_COUNTER_NAMES[i]!] = this.counts[i]!;
    return out;
  }

  /** Replied and suppressed totals. */
  totals(): { replied: number; suppressed: number } {
    let replied = 0;
    let suppressed = 0;
    for (let i = 0; i < this.counts.length; i++) {
      if (i <= Decision.ReplyForced) replied += this.counts[i]!;
      else suppressed += this.counts[i]!;
    }
    return { replied, suppressed };
  }
}

export function parseIcmpMode(s: string): IcmpMode | null {
  const m = s.trim().toLowerCase();
  return (ICMP_MODES as readonly string[]).includes(m) ? (m as IcmpMode) : null;
}
