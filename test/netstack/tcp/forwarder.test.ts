import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_SYN } from '../../../src/netstack/header/tcp.js';
import type { TcpForwarderRequest } from '../../../src/netstack/transport/tcp/stack.js';
import { Raw, flagsOf } from './raw.js';

describe('TCP Forwarder (core)', () => {
  it('accept completes the handshake and yields a working endpoint', () => {
    const raw = new Raw();
    const seen: string[] = [];
    raw.stack.setForwarder((req) => {
      seen.push(`${req.localPort}<${req.remotePort} temp=${req.temporary}`);
      const ep = req.accept()!;
      ep.onReadable = () => seen.push(`data ${Array.from(ep.read()).join(',')}`);
    });
    expect(raw.send({ seq: 5000, flags: TCP_SYN, dstPort: 8080 })).toBe(true);
    const out = raw.take();
    expect(out.map((s) => [flagsOf(s), s.h.seq, s.h.ack, s.h.srcPort])).toEqual([['SYN|ACK', 1000, 5001, 8080]]);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, dstPort: 8080, data: [7, 8] });
    expect(seen).toEqual(['8080<40000 temp=false', 'data 7,8']);
  });

  it('reject answers RST; drop answers nothing', () => {
    const raw = new Raw();
    let mode: 'reject' | 'drop' = 'reject';
    raw.stack.setForwarder((req) => (mode === 'reject' ? req.reject() : req.drop()));
    raw.send({ seq: 5000, flags: TCP_SYN, dstPort: 8080 });
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.h.ack])).toEqual([['RST|ACK', 0, 5001]]);
    mode = 'drop';
    raw.send({ seq: 6000, flags: TCP_SYN, dstPort: 8080 });
    expect(raw.take()).toEqual([]);
    expect(raw.stack.connectionCount).toBe(0);
  });

  it('decisions may come later; retransmitted SYNs of a pending request are absorbed; in-flight is bounded', () => {
    const raw = new Raw({ maxForwarderInFlight: 2 });
    const pending: TcpForwarderRequest[] = [];
    raw.stack.setForwarder((req) => pending.push(req));
    raw.send({ seq: 5000, flags: TCP_SYN, dstPort: 8080 });
    raw.send({ seq: 5000, flags: TCP_SYN, dstPort: 8080 }); // retransmission
    expect(pending.length).toBe(1);
    expect(raw.take()).toEqual([]);
    raw.now = 500;
    const ep = pending[0]!.accept()!;
    expect(ep.stateName).toBe('SYN_RECEIVED');
    expect(raw.take().map(flagsOf)).toEqual(['SYN|ACK']);
    expect(pending[0]!.accept()).toBe(null); // decided once
    // Bound: with 2 undecided requests, a third evicts the oldest.
    raw.send({ seq: 1, flags: TCP_SYN, dstPort: 9001, srcPort: 1 });
    raw.send({ seq: 1, flags: TCP_SYN, dstPort: 9001, srcPort: 2 });
    raw.send({ seq: 1, flags: TCP_SYN, dstPort: 9001, srcPort: 3 });
    expect(pending.length).toBe(4);
    expect(pending[1]!.accept()).toBe(null); // evicted
    expect(pending[3]!.accept()).not.toBe(null);
    expect(raw.stack.stats.forwarderDropped).toBe(1);
  });

  it('a listener takes precedence over the forwarder', () => {
    const raw = new Raw();
    let asked = 0;
    raw.stack.setForwarder(() => asked++);
    raw.stack.listen(80);
    raw.send({ seq: 5000, flags: TCP_SYN });
    expect(asked).toBe(0);
    expect(raw.take().map(flagsOf)).toEqual(['SYN|ACK']);
  });
});

describe('listener backlog', () => {
  it('bounds connections waiting for accept() plus those in the handshake (no SYN cookies)', () => {
    const raw = new Raw({ synCookies: false });
    const l = raw.stack.listen(80, { backlog: 2 });
    for (const port of [1, 2, 3]) raw.send({ seq: 100, flags: TCP_SYN, srcPort: port });
    expect(raw.take().map((s) => s.h.dstPort)).toEqual([1, 2]);
    expect(raw.stack.stats.listenOverflow).toBe(1);
    raw.send({ seq: 101, ack: 1001, flags: TCP_ACK, srcPort: 1 });
    raw.send({ seq: 101, ack: 1001, flags: TCP_ACK, srcPort: 2 });
    expect(l.pending).toBe(2);
    raw.send({ seq: 100, flags: TCP_SYN, srcPort: 4 });
    expect(raw.take()).toEqual([]);
    expect(l.accept()!.remotePort).toBe(1);
    raw.send({ seq: 100, flags: TCP_SYN, srcPort: 4 });
    expect(raw.take().map((s) => [flagsOf(s), s.h.dstPort])).toEqual([['SYN|ACK', 4]]);
  });

  it('onConnection delivers connections as they complete, before their first events', () => {
    const raw = new Raw();
    const l = raw.stack.listen(80);
    const got: string[] = [];
    l.onConnection = (ep) => {
      got.push(`conn ${ep.remotePort}`);
      ep.onReadable = () => got.push(`data ${Array.from(ep.read()).join(',')}`);
    };
    raw.send({ seq: 100, flags: TCP_SYN, srcPort: 7 });
    raw.send({ seq: 101, ack: 1001, flags: TCP_ACK, srcPort: 7, data: [4, 2] }); // data on the handshake's ACK
    expect(got).toEqual(['conn 7', 'data 4,2']);
    expect(l.pending).toBe(0);
  });

  it('SYN cookies: beyond the half-open share, SYNs get stateless cookie SYN-ACKs; a valid cookie ACK connects', () => {
    const raw = new Raw();
    const l = raw.stack.listen(80, { backlog: 2 });
    raw.send({ seq: 100, flags: TCP_SYN, srcPort: 1, mss: 1460, wscale: 7, sackPermitted: true });
    raw.send({ seq: 100, flags: TCP_SYN, srcPort: 2, mss: 1460 });
    raw.send({ seq: 7000, flags: TCP_SYN, srcPort: 3, mss: 1400, wscale: 7, sackPermitted: true });
    const out = raw.take();
    expect(out.map((s) => [s.h.dstPort, s.h.seq === 1000])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    const c = out[2]!;
    expect([flagsOf(c), c.h.ack, c.h.mss, c.h.wscale, c.h.sackPermitted, c.h.hasTimestamp]).toEqual(['SYN|ACK', 7001, 1460, -1, false, false]);
    expect(raw.stack.halfOpenCount).toBe(2);
    expect(raw.stack.stats.cookiesSent).toBe(1);
    // A forged cookie: RST.
    raw.send({ seq: 7001, ack: (c.h.seq + 2) >>> 0, flags: TCP_ACK, srcPort: 3 });
    expect(raw.take().map(flagsOf)).toEqual(['RST']);
    expect(raw.stack.stats.cookiesRejected).toBe(1);
    // The real one, carrying data.
    raw.send({ seq: 7001, ack: (c.h.seq + 1) >>> 0, flags: TCP_ACK, srcPort: 3, data: [1, 2, 3] });
    expect(raw.stack.stats.cookiesAccepted).toBe(1);
    expect(l.pending).toBe(1);
    const ep = l.accept()!;
    expect([ep.remotePort, ep.stateName, ep.info().mss, ep.info().sackOk]).toEqual([3, 'ESTABLISHED', 1360, false]);
    expect(Array.from(ep.read())).toEqual([1, 2, 3]);
    ep.setNoDelay(true);
    ep.write(new Uint8Array([9]));
    expect(raw.take().map((s) => [s.h.seq, s.data.length])).toEqual([[(c.h.seq + 1) >>> 0, 1]]);
    // An expired cookie (more than two 64 s periods old) is refused.
    raw.send({ seq: 8000, flags: TCP_SYN, srcPort: 4, mss: 1460 });
    const c2 = raw.take()[0]!;
    raw.advance(200_000);
    raw.take();
    raw.send({ seq: 8001, ack: (c2.h.seq + 1) >>> 0, flags: TCP_ACK, srcPort: 4 });
    expect(raw.take().map((s) => [flagsOf(s), s.h.dstPort])).toEqual([['RST', 4]]);
  });
});
