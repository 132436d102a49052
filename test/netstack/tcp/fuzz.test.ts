import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TCP_ACK } from '../../../src/netstack/header/tcp.js';
import { Raw, establishPassive, type PeerSegment } from './raw.js';

/** Segments near the live sequence space, with any flags and options. */
const arbSegment = fc.record({
  seqOff: fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 0, max: 0xffffffff })),
  ackOff: fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 0, max: 0xffffffff })),
  flags: fc.oneof(
    { arbitrary: fc.constantFrom(TCP_ACK, TCP_ACK | 0x08), weight: 6 },
    { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 1 },
  ),
  window: fc.integer({ min: 0, max: 0xffff }),
  len: fc.integer({ min: 0, max: 1500 }),
  ts: fc.option(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))),
  sack: fc.option(fc.array(fc.integer({ min: -70000, max: 70000 }), { minLength: 2, maxLength: 6 })),
  srcPort: fc.constantFrom(40000, 40000, 40000, 40001, 1),
  rel: fc.boolean(),
  relSeq: fc.integer({ min: -3000, max: 4000 }),
  relAck: fc.integer({ min: -3000, max: 3000 }),
  advance: fc.integer({ min: 0, max: 3000 }),
  action: fc.oneof(
    { arbitrary: fc.constantFrom('none', 'write', 'read'), weight: 20 },
    { arbitrary: fc.constantFrom('close', 'shutdown', 'abort'), weight: 1 },
  ),
});

let totalDelivered = 0;

describe('TCP robustness', () => {
  it('property: arbitrary segment storms never throw, never corrupt delivered data, and keep tables bounded', () => {
    fc.assert(
      fc.property(fc.array(arbSegment, { minLength: 1, maxLength: 60 }), fc.boolean(), (segs, opts) => {
        const cfg = opts ? { sack: true, timestamps: true, windowScaling: true } : {};
        const raw = new Raw({ maxHalfOpen: 8, config: cfg });
        const { ep } = establishPassive(
          raw,
          5000,
          opts ? { sackPermitted: true, ts: [1, 0], wscale: 2, mss: 1460 } : { mss: 1460 },
        );
        // In-order data the peer sends is a known pattern; whatever the stack delivers must match it.
        let delivered = 0;
        const check = () => {
          if (ep.readableLength === 0) return;
          const d = ep.read();
          for (let i = 0; i < d.length; i++) expect(d[i]).toBe((delivered + i) & 0xff);
          delivered += d.length;
        };
        for (const s of segs) {
          const live = ep.sequence;
          const seq = s.rel ? (live.rcvNxt + s.relSeq) >>> 0 : (5001 + s.seqOff) >>> 0;
          const ackNo = s.rel ? (live.sndUna + s.relAck) >>> 0 : (1001 + s.ackOff) >>> 0;
          const data = new Uint8Array(s.len);
          const base = (seq - 5001) | 0;
          for (let i = 0; i < s.len; i++) data[i] = (base + i) & 0xff;
          const p: PeerSegment = {
            seq,
            ack: ackNo,
            flags: s.flags,
            window: s.window,
            data,
            srcPort: s.srcPort,
          };
          if (s.ts) p.ts = s.ts;
          if (s.sack) p.sack = s.sack.slice(0, s.sack.length & ~1).map((x) => (1001 + x) >>> 0);
          raw.send(p);
          raw.advance(s.advance);
          if (ep.stateName !== 'CLOSED') {
            try {
              if (s.action === 'write' && ep.writableFree > 0) ep.write(new Uint8Array(700));
              else if (s.action === 'read') check();
              else if (s.action === 'close') ep.close();
              else if (s.action === 'shutdown') ep.shutdown();
              else if (s.action === 'abort') ep.abort();
            } catch (e) {
              expect((e as Error).name).toBe('TcpError');
            }
          }
          check();
          raw.take();
        }
        raw.advance(600_000);
        totalDelivered += delivered;
        expect(raw.stack.halfOpenCount).toBeLessThanOrEqual(8);
        expect(raw.stack.connectionCount).toBeLessThanOrEqual(10);
        expect(raw.stack.timerEntries).toBeLessThanOrEqual(4 * raw.stack.connectionCount + 1024);
      }),
      { seed: Number(process.env.WGTS_FUZZ_SEED ?? 42), numRuns: 400 },
    );
    console.log(`fuzz: ${totalDelivered} in-order bytes delivered and checked`);
    expect(totalDelivered).toBeGreaterThan(10_000); // the storms did carry real in-order data
  });

  it('a storm of ACK-only junk against a listener gets RSTs, never connections', () => {
    const raw = new Raw();
    const l = raw.stack.listen(80);
    for (let i = 0; i < 2000; i++) raw.send({ seq: i * 7919, ack: i * 104729, flags: TCP_ACK, srcPort: 1024 + i });
    expect(l.pending).toBe(0);
    expect(raw.stack.connectionCount).toBe(0);
    expect(raw.take().length).toBe(2000);
  });
});
