import { describe, expect, it } from 'vitest';
import { TCP_SYN, newTcpHeader, setTcpChecksum, writeTcpHeader } from '../../../src/netstack/header/tcp.js';
import { mulberry32 } from '../../../src/netstack/link/fault.js';
import type { TcpEndpoint } from '../../../src/netstack/transport/tcp/endpoint.js';
import { A_ADDR, B_ADDR, Pair } from './harness.js';
import { TcpStack } from '../../../src/netstack/transport/tcp/stack.js';
import { bulkBothWays } from './bulk.js';

const MB = 1024 * 1024;

function track(ep: TcpEndpoint, into: string[]) {
  return () => {
    const s = ep.stateName;
    if (into[into.length - 1] !== s) into.push(s);
  };
}

describe('two stacks back to back', () => {
  it('simultaneous open: both SYN_SENT → SYN_RECEIVED → ESTABLISHED, then data both ways', () => {
    const p = new Pair({ fault: { seed: 3, delayMs: 10 } });
    const a = p.a.connect({ localAddress: A_ADDR, localPort: 1111, remoteAddress: B_ADDR, remotePort: 2222 });
    const b = p.b.connect({ localAddress: B_ADDR, localPort: 2222, remoteAddress: A_ADDR, remotePort: 1111 });
    const sa: string[] = ['SYN_SENT'];
    const sb: string[] = ['SYN_SENT'];
    const ta = track(a, sa);
    const tb = track(b, sb);
    p.onStep = () => {
      ta();
      tb();
    };
    p.runUntil(() => a.stateName === 'ESTABLISHED' && b.stateName === 'ESTABLISHED', 5000);
    expect(sa).toEqual(['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED']);
    expect(sb).toEqual(['SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED']);
    a.write(new Uint8Array([1, 2, 3]));
    b.write(new Uint8Array([4, 5]));
    p.runFor(100);
    expect(Array.from(b.read())).toEqual([1, 2, 3]);
    expect(Array.from(a.read())).toEqual([4, 5]);
  });

  it('simultaneous close: both FIN_WAIT_1 → CLOSING → TIME_WAIT → CLOSED', () => {
    const p = new Pair({ fault: { seed: 3, delayMs: 10 }, a: { config: { mslMs: 100 } }, b: { config: { mslMs: 100 } } });
    const l = p.b.listen(80);
    const a = p.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 80 });
    p.runUntil(() => a.stateName === 'ESTABLISHED' && l.pending === 1, 5000);
    p.runFor(50);
    const b = l.accept()!;
    const sa: string[] = [];
    const sb: string[] = [];
    const ta = track(a, sa);
    const tb = track(b, sb);
    p.onStep = () => {
      ta();
      tb();
    };
    a.close();
    b.close();
    ta();
    tb();
    p.runFor(1000);
    expect(sa).toEqual(['FIN_WAIT_1', 'CLOSING', 'TIME_WAIT', 'CLOSED']);
    expect(sb).toEqual(['FIN_WAIT_1', 'CLOSING', 'TIME_WAIT', 'CLOSED']);
    expect(p.a.connectionCount + p.b.connectionCount).toBe(0);
  });

  it('sequence numbers and timestamps wrap around 2^32 mid-transfer', () => {
    const p = new Pair({
      fault: { seed: 5, delayMs: 3, loss: 0.01 },
      a: { isn: () => [0xffffff00, 0xffffff00] },
      b: { isn: () => [0xfff00000, 0xfffffff0] },
    });
    const r = bulkBothWays(p, 2 * MB);
    expect(r.finished).toBe(true);
    expect(r.bRx).toBe(r.aTx);
    expect(r.aRx).toBe(r.bTx);
  });

  it('NewReno and no SACK/timestamps/window scaling still deliver exactly under loss', () => {
    const cfg = { congestion: 'newreno' as const, sack: false, timestamps: false, windowScaling: false };
    const p = new Pair({ fault: { seed: 9, delayMs: 4, loss: 0.02, reorder: 0.01 }, a: { config: cfg }, b: { config: cfg } });
    const r = bulkBothWays(p, 2 * MB);
    expect(r.finished).toBe(true);
    expect(r.bRx).toBe(r.aTx);
    expect(r.aRx).toBe(r.bTx);
  });

  it('buffers start small and grow only for a connection that uses them', () => {
    const p = new Pair({ fault: { seed: 4, delayMs: 20 } });
    const l = p.b.listen(80);
    const fast = p.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 80 });
    const idle = p.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 80 });
    p.runUntil(() => l.pending === 2, 1000);
    const bFast = l.accept()!;
    const bIdle = l.accept()!;
    expect(bFast.info().receiveBuffer).toBe(64 * 1024);
    const total = 8 * MB;
    let sent = 0;
    let got = 0;
    const pump = () => {
      while (sent < total) {
        const n = fast.write(new Uint8Array(Math.min(65536, total - sent)));
        sent += n;
        if (n === 0) return;
      }
    };
    fast.onWritable = pump;
    bFast.onReadable = () => (got += bFast.read().length);
    pump();
    p.runUntil(() => got === total, 120_000);
    expect(got).toBe(total);
    expect(bFast.info().receiveBuffer).toBeGreaterThanOrEqual(1 * MB); // 40 ms RTT needed more than 64 KiB
    expect(fast.info().sendBuffer).toBeGreaterThan(64 * 1024);
    expect(bIdle.info().receiveBuffer).toBe(64 * 1024);
    expect(idle.info().sendBuffer).toBe(64 * 1024);
    // A reader that does not read never makes its buffer grow.
    let sent2 = 0;
    const pump2 = () => {
      while (sent2 < MB) {
        const n = idle.write(new Uint8Array(65536));
        sent2 += n;
        if (n === 0) return;
      }
    };
    idle.onWritable = pump2;
    pump2();
    p.runFor(5000);
    expect(bIdle.readableLength).toBeGreaterThan(64 * 1024 - 128); // window scale granularity: 2^7
    expect(bIdle.readableLength).toBeLessThanOrEqual(64 * 1024);
    expect(bIdle.info().receiveBuffer).toBe(64 * 1024);
  });

  it('a writer that only ever writes writableFree bytes still gets a bigger send buffer', () => {
    const p = new Pair({ fault: { seed: 8, delayMs: 20 } });
    const l = p.b.listen(80);
    const c = p.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 80 });
    let got = 0;
    l.onConnection = (ep) => (ep.onReadable = () => (got += ep.read().length));
    const total = 4 * MB;
    let sent = 0;
    const pump = () => {
      while (sent < total && c.writableFree > 0) sent += c.write(new Uint8Array(Math.min(c.writableFree, total - sent)));
    };
    c.onConnect = pump;
    c.onWritable = pump;
    p.onStep = pump;
    p.runUntil(() => got === total, 120_000);
    expect(got).toBe(total);
    expect(c.info().sendBuffer).toBeGreaterThan(64 * 1024);
  });

  it('a slow reader slows the sender (flow control), no data lost', () => {
    const p = new Pair({ fault: { seed: 2, delayMs: 5 }, b: { config: { receiveBufferSize: 16 * 1024 } } });
    const l = p.b.listen(80);
    const a = p.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 80 });
    const total = 256 * 1024;
    let written = 0;
    const pump = () => {
      while (written < total) {
        const n = a.write(new Uint8Array(Math.min(8192, total - written)).fill(written & 0xff));
        written += n;
        if (n === 0) return;
      }
    };
    a.onConnect = pump;
    a.onWritable = pump;
    let got = 0;
    let maxUnread = 0;
    let b: TcpEndpoint | null = null;
    for (let i = 0; i < 10_000 && got < total; i++) {
      p.runFor(10);
      b ??= l.accept();
      if (!b) continue;
      maxUnread = Math.max(maxUnread, b.readableLength);
      got += b.read(1024).length; // 1 KiB per 10 ms of fake time: 100 KiB/s
    }
    expect(got).toBe(total);
    expect(maxUnread).toBeLessThanOrEqual(16 * 1024);
    expect(p.now).toBeGreaterThan(2000); // paced by the reader, not the link
  });

  for (const cookies of [true, false]) {
    it(`a SYN flood does not stop transfers (${cookies ? 'SYN cookies: even a connection made during the flood' : 'no cookies: oldest half-open evicted'})`, () => {
      const p = new Pair({ fault: { seed: 21, delayMs: 5, loss: 0.01 }, b: { maxHalfOpen: 64, synCookies: cookies } });
      const flood = p.b.listen(80, { backlog: 100_000 });
      const rand = mulberry32(99);
      const h = newTcpHeader();
      const spoofed = new Uint8Array([10, 0, 0, 66]);
      let sent = 0;
      p.onStep = () => {
        if (!cookies && p.now < 200) return; // without cookies the transfer's connection is made first
        for (let i = 0; i < 100 && sent < 50_000; i++, sent++) {
          h.srcPort = 1024 + Math.floor(rand() * 60000);
          h.dstPort = i % 2 ? 80 : 5001; // the flood also hits the transfer's own listener
          h.seq = Math.floor(rand() * 0xffffffff);
          h.flags = TCP_SYN;
          h.window = 1024;
          h.mss = 1460;
          const seg = new Uint8Array(24);
          writeTcpHeader(seg, 0, h);
          setTcpChecksum(seg, spoofed, B_ADDR);
          p.b.input(spoofed, B_ADDR, seg, p.now);
        }
      };
      const r = bulkBothWays(p, 4 * MB);
      expect(sent).toBeGreaterThan(10_000);
      expect(r.finished).toBe(true);
      expect(r.bRx).toBe(r.aTx);
      expect(r.aRx).toBe(r.bTx);
      expect(p.b.halfOpenCount).toBeLessThanOrEqual(64);
      if (cookies) expect(p.b.stats.cookiesSent).toBeGreaterThan(sent - 200);
      else expect(p.b.stats.halfOpenEvicted).toBeGreaterThan(sent / 2 - 200);
      expect(flood.pending).toBe(0);
      console.log(`SYN flood (cookies ${cookies}): ${sent} SYNs, ${JSON.stringify({ evicted: p.b.stats.halfOpenEvicted, cookies: p.b.stats.cookiesSent })}`);
    });
  }

});

describe('connection churn', () => {
  it('200 connections with random sizes, closes and aborts under loss leave no state behind', () => {
    const p = new Pair({ fault: { seed: 77, delayMs: 3, jitterMs: 2, loss: 0.02, duplicate: 0.01 }, a: { config: { mslMs: 200 } }, b: { config: { mslMs: 200 } } });
    const rand = mulberry32(5);
    const l = p.b.listen(7);
    let echoed = 0;
    const servers = new Map<number, TcpEndpoint>();
    l.onConnection = (ep) => {
      servers.set(ep.remotePort, ep);
      ep.onReadable = () => {
        const d = ep.read();
        echoed += d.length;
        if (ep.writableFree >= d.length) ep.write(d);
      };
      ep.onEnd = () => ep.close();
    };
    let done = 0;
    let intact = 0;
    const bad: string[] = [];
    for (let i = 0; i < 200; i++) {
      const c = p.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 7 });
      const size = 1 + Math.floor(rand() * 20000);
      const mode = rand();
      let got = 0;
      c.onConnect = () => {
        c.write(new Uint8Array(size).fill(i & 0xff));
        if (mode < 0.1) c.abort();
      };
      c.onReadable = () => {
        const d = c.read();
        if (d.every((x) => x === (i & 0xff))) got += d.length;
        if (got === size && mode >= 0.1) c.close();
      };
      c.onClose = (err) => {
        done++;
        if (got === size || mode < 0.1) intact++;
        else bad.push(`${i} size=${size} got=${got} err=${err?.code} ${err?.message} info=${JSON.stringify(c.info())} seq=${JSON.stringify(c.sequence)} server=${JSON.stringify(servers.get(c.localPort)?.info())} sseq=${JSON.stringify(servers.get(c.localPort)?.sequence)} sstats=${JSON.stringify(servers.get(c.localPort)?.stats)}`);
      };
    }
    p.runUntil(() => done === 200, 600_000);
    p.runFor(2000); // TIME_WAIT (2·MSL = 400 ms) and stragglers
    expect(done).toBe(200);
    expect(bad).toEqual([]);
    expect(intact).toBe(200);
    expect(echoed).toBeGreaterThan(0);
    expect(p.a.connectionCount).toBe(0);
    expect(p.b.connectionCount).toBe(0);
    expect(p.b.halfOpenCount).toBe(0);
    expect(p.a.nextDeadline()).toBeUndefined();
    expect(p.b.nextDeadline()).toBeUndefined();
  });
});

describe('synchronous links', () => {
  it('a link that delivers inside send() (loopback-style) never re-enters a connection mid-processing', () => {
    let now = 0;
    const cfg = { config: { mslMs: 100 } };
    const a: TcpStack = new TcpStack({ send: (_e, s, d, buf, off) => b.input(s, d, buf.subarray(off), now), mtuPayload: () => 1480 }, cfg);
    const b: TcpStack = new TcpStack({ send: (_e, s, d, buf, off) => a.input(s, d, buf.subarray(off), now), mtuPayload: () => 1480 }, cfg);
    const l = b.listen(9);
    const total = 2 * MB;
    const data = new Uint8Array(total).map((_, i) => (i * 7) & 0xff);
    const sink = { a: [] as number[], b: 0 };
    let bOk = true;
    l.onConnection = (ep) => {
      ep.onReadable = () => {
        const d = ep.read();
        for (let i = 0; i < d.length; i++) if (d[i] !== ((sink.b + i) * 7) % 256) bOk = false;
        sink.b += d.length;
        ep.write(d.subarray(0, Math.min(d.length, ep.writableFree))); // echo what fits
      };
    };
    const c = a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 9 });
    let sent = 0;
    let echoed = 0;
    const pump = () => {
      while (sent < total) {
        const n = c.write(data.subarray(sent, Math.min(total, sent + 32768)));
        sent += n;
        if (n === 0) return;
      }
    };
    c.onConnect = pump;
    c.onWritable = pump;
    c.onReadable = () => (echoed += c.read().length);
    for (let i = 0; i < 100_000 && sink.b < total; i++) {
      const d = Math.min(a.nextDeadline() ?? Infinity, b.nextDeadline() ?? Infinity);
      if (d === Infinity) break;
      now = Math.max(now, d);
      a.tick(now);
      b.tick(now);
    }
    expect(sink.b).toBe(total);
    expect(bOk).toBe(true);
    expect(echoed).toBeGreaterThan(0);
  });
});
