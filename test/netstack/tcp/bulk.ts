/** Bulk transfer driver shared by the transfer tests: both directions at once, sha256 at both ends. */
import { createHash } from 'node:crypto';
import type { TcpEndpoint } from '../../../src/netstack/transport/tcp/endpoint.js';
import { A_ADDR, B_ADDR, Pair } from './harness.js';
import { mulberry32 } from '../../../src/netstack/link/fault.js';

const PATTERN_LEN = 1048573; // prime: segment boundaries never line up with the period
let pattern: Uint8Array | null = null;
function getPattern(): Uint8Array {
  if (!pattern) {
    const r = mulberry32(7);
    pattern = new Uint8Array(PATTERN_LEN);
    for (let i = 0; i < PATTERN_LEN; i++) pattern[i] = (r() * 256) | 0;
  }
  return pattern;
}

interface Side {
  ep: TcpEndpoint;
  sent: number;
  received: number;
  ended: boolean;
  closed: boolean;
  txHash: ReturnType<typeof createHash>;
  rxHash: ReturnType<typeof createHash>;
  error: Error | null;
}

export interface BulkResult {
  aTx: string;
  aRx: string;
  bTx: string;
  bRx: string;
  aReceived: number;
  bReceived: number;
  fakeMs: number;
  wallMs: number;
  retransmits: number;
  timeouts: number;
  recoveries: number;
  spurious: number;
  finished: boolean;
  errors: string[];
}

function attach(ep: TcpEndpoint, total: number, sideOffset: number): Side {
  const s: Side = {
    ep,
    sent: 0,
    received: 0,
    ended: false,
    closed: false,
    txHash: createHash('sha256'),
    rxHash: createHash('sha256'),
    error: null,
  };
  const pat = getPattern();
  const pump = () => {
    while (s.sent < total) {
      const at = (s.sent + sideOffset) % PATTERN_LEN;
      const n = Math.min(total - s.sent, PATTERN_LEN - at, 65536);
      const chunk = pat.subarray(at, at + n);
      const took = ep.write(chunk);
      if (took > 0) {
        s.txHash.update(chunk.subarray(0, took));
        s.sent += took;
      }
      if (took < n) return; // wait for onWritable
    }
    ep.shutdown();
  };
  ep.onReadable = () => {
    for (;;) {
      const d = ep.read();
      if (d.length === 0) break;
      s.rxHash.update(d);
      s.received += d.length;
    }
  };
  ep.onWritable = pump;
  ep.onEnd = () => (s.ended = true);
  ep.onClose = (err) => {
    s.closed = true;
    s.error = err;
  };
  if (ep.stateName === 'ESTABLISHED') pump();
  else ep.onConnect = pump;
  return s;
}

export function bulkBothWays(pair: Pair, total: number, maxFakeMs = 3_600_000): BulkResult {
  const t0 = performance.now();
  const start = pair.now;
  let b: Side | null = null;
  const l = pair.b.listen(5001);
  l.onConnection = (ep) => {
    b = attach(ep, total, 12345);
  };
  const a = attach(pair.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 5001 }), total, 0);
  const finished = pair.runUntil(() => {
    const bb = b as Side | null;
    return a.ended && a.received === total && bb !== null && bb.ended && bb.received === total && a.closed && bb.closed;
  }, maxFakeMs);
  const bs = b as Side | null;
  return {
    aTx: a.txHash.digest('hex'),
    aRx: a.rxHash.digest('hex'),
    bTx: bs ? bs.txHash.digest('hex') : '',
    bRx: bs ? bs.rxHash.digest('hex') : '',
    aReceived: a.received,
    bReceived: bs ? bs.received : 0,
    fakeMs: pair.now - start,
    wallMs: performance.now() - t0,
    retransmits: a.ep.stats.retransmits + (bs ? bs.ep.stats.retransmits : 0),
    timeouts: a.ep.stats.timeouts + (bs ? bs.ep.stats.timeouts : 0),
    recoveries: a.ep.stats.fastRecoveries + (bs ? bs.ep.stats.fastRecoveries : 0),
    spurious: a.ep.stats.spuriousRecoveries + (bs ? bs.ep.stats.spuriousRecoveries : 0),
    finished,
    errors: [a.error, bs?.error].filter((e) => e).map((e) => String(e)),
  };
}
