import { describe, expect, it } from 'vitest';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../src/netstack/header/tcp.js';
import type { TcpEndpoint, TcpError } from '../../../src/netstack/transport/tcp/endpoint.js';
import { LOCAL, PLAIN, REMOTE, Raw, establishPassive, flagsOf } from './raw.js';

const SA = TCP_SYN | TCP_ACK;
const FA = TCP_FIN | TCP_ACK;

function events(ep: TcpEndpoint) {
  const log: string[] = [];
  ep.onConnect = () => log.push('connect');
  ep.onEnd = () => log.push('end');
  ep.onClose = (err: TcpError | null) => log.push(err ? `close:${err.code}` : 'close');
  ep.onReadable = () => log.push('readable');
  return log;
}

/** Active open to REMOTE:80 from local port 1234; the peer's ISN is 5000. */
function activeOpen(raw: Raw) {
  const ep = raw.stack.connect({ localAddress: LOCAL, localPort: 1234, remoteAddress: REMOTE, remotePort: 80 });
  const log = events(ep);
  return { ep, log, syn: raw.take() };
}
const fromPeer = { srcPort: 80, dstPort: 1234 };

describe('RFC 9293 state diagram', () => {
  it('CLOSED → SYN_SENT → ESTABLISHED (active open)', () => {
    const raw = new Raw();
    const { ep, log, syn } = activeOpen(raw);
    expect(syn.map(flagsOf)).toEqual(['SYN']);
    expect(syn[0]!.h.seq).toBe(1000);
    expect(syn[0]!.h.mss).toBe(1460);
    expect(syn[0]!.h.wscale).toBe(-1);
    expect(ep.stateName).toBe('SYN_SENT');
    raw.send({ ...fromPeer, seq: 5000, ack: 1001, flags: SA, mss: 1400 });
    const out = raw.take();
    expect(out.map(flagsOf)).toEqual(['ACK']);
    expect([out[0]!.h.seq, out[0]!.h.ack]).toEqual([1001, 5001]);
    expect(ep.stateName).toBe('ESTABLISHED');
    expect(ep.info().mss).toBe(1400);
    expect(log).toEqual(['connect']);
  });

  it('LISTEN → SYN_RECEIVED → ESTABLISHED (passive open)', () => {
    const raw = new Raw();
    const l = raw.stack.listen(80);
    raw.send({ seq: 5000, flags: TCP_SYN, mss: 1200 });
    const [synAck] = raw.take();
    expect(flagsOf(synAck!)).toBe('SYN|ACK');
    expect([synAck!.h.seq, synAck!.h.ack, synAck!.h.mss]).toEqual([1000, 5001, 1460]);
    expect(raw.stack.halfOpenCount).toBe(1);
    expect(l.accept()).toBe(null);
    // A retransmitted SYN gets the SYN-ACK again.
    raw.send({ seq: 5000, flags: TCP_SYN, mss: 1200 });
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq])).toEqual([['SYN|ACK', 1000]]);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK });
    const ep = l.accept()!;
    expect(ep.stateName).toBe('ESTABLISHED');
    expect(ep.info().mss).toBe(1200);
    expect(raw.stack.halfOpenCount).toBe(0);
  });

  it('SYN_RECEIVED: an ACK that does not ack our SYN gets RST <SEQ=SEG.ACK>', () => {
    const raw = new Raw();
    raw.stack.listen(80);
    raw.send({ seq: 5000, flags: TCP_SYN });
    raw.take();
    raw.send({ seq: 5001, ack: 7777, flags: TCP_ACK });
    const out = raw.take();
    expect(out.map((s) => [flagsOf(s), s.h.seq])).toEqual([['RST', 7777]]);
  });

  it('SYN_SENT → SYN_RECEIVED → ESTABLISHED (simultaneous open, RFC 9293 figure 7)', () => {
    for (const answer of ['syn-ack', 'ack'] as const) {
      const raw = new Raw();
      const { ep } = activeOpen(raw);
      raw.send({ ...fromPeer, seq: 5000, flags: TCP_SYN });
      const out = raw.take();
      expect(out.map((s) => [flagsOf(s), s.h.seq, s.h.ack])).toEqual([['SYN|ACK', 1000, 5001]]);
      expect(ep.stateName).toBe('SYN_RECEIVED');
      if (answer === 'syn-ack') raw.send({ ...fromPeer, seq: 5000, ack: 1001, flags: SA });
      else raw.send({ ...fromPeer, seq: 5001, ack: 1001, flags: TCP_ACK });
      expect(ep.stateName).toBe('ESTABLISHED');
    }
  });

  it('SYN_SENT: bad ACK gets RST, RST without ACK is ignored, RST with good ACK refuses', () => {
    const raw = new Raw();
    const { ep, log } = activeOpen(raw);
    raw.send({ ...fromPeer, seq: 5000, ack: 999, flags: SA });
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq])).toEqual([['RST', 999]]);
    raw.send({ ...fromPeer, seq: 0, flags: TCP_RST });
    expect(ep.stateName).toBe('SYN_SENT');
    raw.send({ ...fromPeer, seq: 0, ack: 5, flags: TCP_RST | TCP_ACK });
    expect(ep.stateName).toBe('SYN_SENT');
    raw.send({ ...fromPeer, seq: 0, ack: 1001, flags: TCP_RST | TCP_ACK });
    expect(ep.stateName).toBe('CLOSED');
    expect(log).toEqual(['close:ECONNREFUSED']);
    expect(raw.take()).toEqual([]);
  });

  it('ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED after 2·MSL', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    const log = events(ep);
    ep.close();
    expect(ep.stateName).toBe('FIN_WAIT_1');
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.h.ack])).toEqual([['FIN|ACK', 1001, 5001]]);
    raw.send({ seq: 5001, ack: 1002, flags: TCP_ACK });
    expect(ep.stateName).toBe('FIN_WAIT_2');
    raw.send({ seq: 5001, ack: 1002, flags: FA });
    expect(ep.stateName).toBe('TIME_WAIT');
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.h.ack])).toEqual([['ACK', 1002, 5002]]);
    expect(log).toEqual(['end', 'close']);
    // A retransmitted FIN in TIME_WAIT is acknowledged again.
    raw.advance(300);
    raw.send({ seq: 5001, ack: 1002, flags: FA });
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5002]]);
    raw.advance(999); // the timer restarted at 300: 2·MSL = 1000 ms
    expect(ep.stateName).toBe('TIME_WAIT');
    raw.advance(1);
    expect(ep.stateName).toBe('CLOSED');
    expect(raw.stack.connectionCount).toBe(0);
  });

  it('FIN_WAIT_1 → CLOSING → TIME_WAIT (simultaneous close seen from one side)', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    ep.close();
    raw.take();
    raw.send({ seq: 5001, ack: 1001, flags: FA });
    expect(ep.stateName).toBe('CLOSING');
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.h.ack])).toEqual([['ACK', 1002, 5002]]);
    raw.send({ seq: 5002, ack: 1002, flags: TCP_ACK });
    expect(ep.stateName).toBe('TIME_WAIT');
  });

  it('FIN_WAIT_1 → TIME_WAIT on FIN+ACK of our FIN', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    ep.close();
    raw.take();
    raw.send({ seq: 5001, ack: 1002, flags: FA });
    expect(ep.stateName).toBe('TIME_WAIT');
  });

  it('ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED (passive close, half-close keeps sending)', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    const log = events(ep);
    raw.send({ seq: 5001, ack: 1001, flags: FA, data: [1, 2, 3] });
    expect(ep.stateName).toBe('CLOSE_WAIT');
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5005]]);
    expect(Array.from(ep.read())).toEqual([1, 2, 3]);
    expect(ep.peerClosed).toBe(true);
    // Half-closed: we may still send.
    ep.setNoDelay(true);
    expect(ep.write(new Uint8Array([9, 9]))).toBe(2);
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.data.length])).toEqual([['PSH|ACK', 1001, 2]]);
    raw.send({ seq: 5005, ack: 1003, flags: TCP_ACK });
    ep.close();
    expect(ep.stateName).toBe('LAST_ACK');
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq])).toEqual([['FIN|ACK', 1003]]);
    raw.send({ seq: 5005, ack: 1004, flags: TCP_ACK });
    expect(ep.stateName).toBe('CLOSED');
    expect(log).toEqual(['readable', 'end', 'close']);
    expect(raw.stack.connectionCount).toBe(0);
  });

  it('LISTEN → CLOSED: a closed listener answers new SYNs with RST and aborts queued connections', () => {
    const raw = new Raw();
    const l = raw.stack.listen(80);
    raw.send({ seq: 5000, flags: TCP_SYN });
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK });
    raw.take();
    expect(l.pending).toBe(1);
    l.close();
    expect(raw.take().map(flagsOf)).toEqual(['RST|ACK']);
    raw.send({ seq: 9000, flags: TCP_SYN, srcPort: 9 });
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['RST|ACK', 9001]]);
  });

  it('SYN_RECEIVED → FIN_WAIT_1: close during the handshake sends FIN once the ACK arrives', () => {
    const raw = new Raw();
    const { ep } = activeOpen(raw);
    raw.send({ ...fromPeer, seq: 5000, flags: TCP_SYN });
    raw.take();
    expect(ep.stateName).toBe('SYN_RECEIVED');
    ep.write(new Uint8Array([1, 2]));
    ep.shutdown();
    raw.send({ ...fromPeer, seq: 5001, ack: 1001, flags: TCP_ACK });
    expect(ep.stateName).toBe('FIN_WAIT_1');
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.data.length])).toEqual([['FIN|PSH|ACK', 1001, 2]]);
  });

  it('TIME_WAIT: a new SYN above the old sequence space reopens the 4-tuple (RFC 6191)', () => {
    const raw = new Raw();
    const { ep, listener } = establishPassive(raw);
    raw.send({ seq: 5001, ack: 1001, flags: FA });
    ep.close();
    raw.send({ seq: 5002, ack: 1002, flags: TCP_ACK });
    expect(ep.stateName).toBe('CLOSED'); // passive closer: LAST_ACK → CLOSED
    // Make the local side the active closer to get TIME_WAIT.
    const raw2 = new Raw();
    const e2 = establishPassive(raw2);
    e2.ep.close();
    raw2.send({ seq: 5001, ack: 1002, flags: FA });
    expect(e2.ep.stateName).toBe('TIME_WAIT');
    raw2.take();
    raw2.send({ seq: 4000, flags: TCP_SYN }); // old sequence: just an ACK
    expect(raw2.take().map(flagsOf)).toEqual(['ACK']);
    raw2.send({ seq: 90000, flags: TCP_SYN });
    expect(raw2.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['SYN|ACK', 90001]]);
    expect(raw2.stack.stats.timeWaitReused).toBe(1);
    void listener;
  });

  it('an orphaned FIN_WAIT_2 (closed by the app, peer never sends FIN) ends after finWait2TimeoutMs', () => {
    const raw = new Raw({ config: { finWait2TimeoutMs: 3000 } });
    const { ep } = establishPassive(raw);
    ep.close();
    raw.send({ seq: 5001, ack: 1002, flags: TCP_ACK });
    expect(ep.stateName).toBe('FIN_WAIT_2');
    raw.advance(2999);
    expect(ep.stateName).toBe('FIN_WAIT_2');
    raw.advance(1);
    expect(ep.stateName).toBe('CLOSED');
    // A half-close (shutdown) is not orphaned: it waits for the peer as long as it takes.
    const raw2 = new Raw({ config: { finWait2TimeoutMs: 3000 } });
    const b = establishPassive(raw2);
    b.ep.shutdown();
    raw2.send({ seq: 5001, ack: 1002, flags: TCP_ACK });
    raw2.advance(100_000);
    expect(b.ep.stateName).toBe('FIN_WAIT_2');
  });

  it('SYN_SENT → CLOSED on close() before the answer', () => {
    const raw = new Raw();
    const { ep, log } = activeOpen(raw);
    ep.close();
    expect(ep.stateName).toBe('CLOSED');
    expect(log).toEqual(['close']);
    expect(raw.stack.connectionCount).toBe(0);
  });

  it('FIN retransmission: a lost FIN is sent again by the retransmission timer', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    ep.close();
    expect(raw.take().map(flagsOf)).toEqual(['FIN|ACK']);
    raw.advance(ep.info().rto);
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq])).toEqual([['FIN|ACK', 1001]]);
  });
});

describe('application callbacks', () => {
  it('events that found no callback are delivered when one is set later (connect, data, end, close)', () => {
    const raw = new Raw();
    const l = raw.stack.listen(80);
    raw.send({ seq: 5000, flags: TCP_SYN });
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: [1, 2, 3] });
    raw.send({ seq: 5004, ack: 1001, flags: FA });
    const ep = l.accept()!; // callbacks attached only now, after everything happened
    const log: string[] = [];
    ep.onReadable = () => log.push(`data ${Array.from(ep.read()).join(',')}`);
    ep.onEnd = () => log.push('end');
    ep.onConnect = () => log.push('connect'); // accepted: arrives connected, no replay
    ep.close();
    raw.send({ seq: 5005, ack: 1002, flags: TCP_ACK });
    ep.onClose = (e) => log.push(`close ${e}`);
    expect(log).toEqual(['data 1,2,3', 'end', 'close null']);
    ep.onEnd = () => log.push('end again');
    expect(log.length).toBe(3); // sticky events are delivered once
  });

  it('an active open whose callbacks come late still hears connect', () => {
    const raw = new Raw();
    const ep = raw.stack.connect({ localAddress: LOCAL, localPort: 1234, remoteAddress: REMOTE, remotePort: 80 });
    raw.send({ srcPort: 80, dstPort: 1234, seq: 5000, ack: 1001, flags: SA });
    let connected = 0;
    ep.onConnect = () => connected++;
    expect(connected).toBe(1);
  });
});

describe('RST processing (RFC 9293 + RFC 5961)', () => {
  const cases: [string, (raw: Raw, ep: TcpEndpoint) => void, number, string][] = [
    ['ESTABLISHED', () => {}, 5001, 'close:ECONNRESET'],
    ['FIN_WAIT_1', (_r, ep) => ep.shutdown(), 5001, 'close:ECONNRESET'],
    [
      'FIN_WAIT_2',
      (r, ep) => {
        ep.shutdown();
        r.send({ seq: 5001, ack: 1002, flags: TCP_ACK });
      },
      5001,
      'close:ECONNRESET',
    ],
    ['CLOSE_WAIT', (r) => r.send({ seq: 5001, ack: 1001, flags: FA }), 5002, 'end,close:ECONNRESET'],
    [
      'CLOSING',
      (r, ep) => {
        ep.shutdown();
        r.send({ seq: 5001, ack: 1001, flags: FA });
      },
      5002,
      'end,close',
    ],
    [
      'LAST_ACK',
      (r, ep) => {
        r.send({ seq: 5001, ack: 1001, flags: FA });
        ep.shutdown();
      },
      5002,
      'end,close',
    ],
    [
      'TIME_WAIT',
      (r, ep) => {
        ep.shutdown();
        r.send({ seq: 5001, ack: 1002, flags: FA });
      },
      5002,
      'end,close',
    ],
  ];
  for (const [state, setup, rcvNxt, expected] of cases) {
    it(`${state}: exact RST closes; in-window RST gets a challenge ACK; out-of-window RST is ignored`, () => {
      const raw = new Raw();
      const { ep } = establishPassive(raw);
      const log = events(ep);
      setup(raw, ep);
      expect(ep.stateName).toBe(state);
      raw.take();
      raw.send({ seq: rcvNxt + 10, flags: TCP_RST });
      expect(ep.stateName).toBe(state);
      const ch = raw.take();
      expect(ch.map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', rcvNxt]]);
      raw.send({ seq: rcvNxt + 1_000_000, flags: TCP_RST });
      expect(raw.take()).toEqual([]);
      expect(ep.stateName).toBe(state);
      raw.send({ seq: rcvNxt, flags: TCP_RST });
      expect(ep.stateName).toBe('CLOSED');
      expect(log.filter((e) => e !== 'readable').join(',')).toBe(expected);
      expect(raw.take()).toEqual([]);
      expect(raw.stack.connectionCount).toBe(0);
    });
  }

  it('SYN_RECEIVED (passive): RST forgets the attempt, the listener stays', () => {
    const raw = new Raw();
    const l = raw.stack.listen(80);
    raw.send({ seq: 5000, flags: TCP_SYN });
    raw.take();
    raw.send({ seq: 5001, flags: TCP_RST });
    expect(raw.stack.connectionCount).toBe(0);
    expect(raw.stack.halfOpenCount).toBe(0);
    raw.send({ seq: 9000, flags: TCP_SYN });
    raw.send({ seq: 9001, ack: 1001, flags: TCP_ACK });
    expect(l.accept()?.stateName).toBe('ESTABLISHED');
  });

  it('a SYN in ESTABLISHED gets a challenge ACK and changes nothing (RFC 5961 §4)', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    raw.send({ seq: 5011, flags: TCP_SYN }); // in window
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.h.ack])).toEqual([['ACK', 1001, 5001]]);
    expect(ep.stats.challengeAcks).toBe(1);
    raw.send({ seq: 123456, flags: TCP_SYN }); // out of window: the plain duplicate ACK
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.h.ack])).toEqual([['ACK', 1001, 5001]]);
    expect(ep.stateName).toBe('ESTABLISHED');
  });

  it('an ACK for data never sent is answered with an ACK and dropped', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    raw.send({ seq: 5001, ack: 90000, flags: TCP_ACK, data: [1] });
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5001]]);
    expect(ep.readableLength).toBe(0);
  });

  it('abort() sends RST and closes; close() with unread data aborts; data after close() resets', () => {
    const raw = new Raw();
    const a = establishPassive(raw);
    a.ep.abort();
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq])).toEqual([['RST|ACK', 1001]]);
    expect(a.ep.stateName).toBe('CLOSED');

    const raw2 = new Raw();
    const b = establishPassive(raw2);
    raw2.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: [1, 2] });
    raw2.take();
    b.ep.close();
    expect(raw2.take().map(flagsOf)).toEqual(['RST|ACK']);
    expect(b.ep.stateName).toBe('CLOSED');

    const raw3 = new Raw();
    const c = establishPassive(raw3);
    c.ep.close();
    raw3.take();
    raw3.send({ seq: 5001, ack: 1002, flags: TCP_ACK, data: [1, 2] });
    expect(raw3.take().map(flagsOf)).toEqual(['RST|ACK']);
    expect(c.ep.stateName).toBe('CLOSED');
  });
});

describe('segments for no connection', () => {
  it('SYN to a closed port: RST|ACK; ACK: RST <SEQ=SEG.ACK>; RST: nothing', () => {
    const raw = new Raw();
    expect(raw.send({ seq: 77, flags: TCP_SYN, dstPort: 81 })).toBe(false);
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq, s.h.ack, s.h.srcPort, s.h.dstPort])).toEqual([
      ['RST|ACK', 0, 78, 81, 40000],
    ]);
    raw.send({ seq: 77, ack: 4242, flags: TCP_ACK, dstPort: 81, data: [1, 2, 3] });
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq])).toEqual([['RST', 4242]]);
    raw.send({ seq: 77, flags: TCP_RST, dstPort: 81 });
    expect(raw.take()).toEqual([]);
  });

  it('a SYN to a temporary (promiscuous) address nobody claims is dropped silently', () => {
    const raw = new Raw();
    expect(raw.send({ seq: 77, flags: TCP_SYN, dstPort: 81, dst: new Uint8Array([10, 9, 9, 9]), temporary: true })).toBe(false);
    expect(raw.take()).toEqual([]);
    // A wildcard listener does not claim temporary addresses unless asked to.
    raw.stack.listen(81);
    raw.send({ seq: 77, flags: TCP_SYN, dstPort: 81, dst: new Uint8Array([10, 9, 9, 9]), temporary: true });
    expect(raw.take()).toEqual([]);
    raw.stack.listen(82, { acceptTemporary: true });
    raw.send({ seq: 77, flags: TCP_SYN, dstPort: 82, dst: new Uint8Array([10, 9, 9, 9]), temporary: true });
    expect(raw.take().map(flagsOf)).toEqual(['SYN|ACK']);
  });

  it('malformed and bad-checksum segments are counted and dropped without an answer', () => {
    const raw = new Raw();
    raw.stack.listen(80);
    const bad = new Uint8Array(20);
    bad[12] = 0x50;
    bad[13] = TCP_SYN;
    bad[3] = 80;
    bad[1] = 1;
    expect(raw.stack.input(REMOTE, LOCAL, bad, 0)).toBe(false);
    expect(raw.stack.stats.badChecksum).toBe(1);
    expect(raw.stack.input(REMOTE, LOCAL, new Uint8Array(7), 0)).toBe(false);
    expect(raw.stack.stats.malformed).toBe(1);
    expect(raw.take()).toEqual([]);
  });
});

describe('timers', () => {
  it('retransmission timeout with exponential backoff, then ETIMEDOUT (RFC 6298)', () => {
    const raw = new Raw({ config: { retries: 3 } });
    const { ep } = establishPassive(raw);
    const log = events(ep);
    expect(ep.info().rto).toBe(200); // srtt ~1 ms: clamped to minRto
    ep.write(new Uint8Array(100));
    const times: number[] = [];
    raw.take();
    for (let t = 0; t <= 5000; t += 50) {
      raw.advanceTo(t);
      for (const s of raw.take()) {
        expect([s.h.seq, s.data.length]).toEqual([1001, 100]);
        times.push(raw.now);
      }
    }
    expect(times).toEqual([200, 600, 1400]);
    expect(log).toEqual(['close:ETIMEDOUT']);
    expect(ep.stats.timeouts).toBe(4);
  });

  it('SYN retransmission backoff, then ETIMEDOUT', () => {
    const raw = new Raw({ config: { synRetries: 2 } });
    const { ep, log, syn } = activeOpen(raw);
    expect(syn.length).toBe(1);
    const times: number[] = [];
    for (let t = 0; t <= 10_000; t += 100) {
      raw.advanceTo(t);
      for (const s of raw.take()) {
        expect(flagsOf(s)).toBe('SYN');
        times.push(raw.now);
      }
    }
    expect(times).toEqual([1000, 3000]);
    expect(log).toEqual(['close:ETIMEDOUT']);
    expect(ep.stateName).toBe('CLOSED');
  });

  it('zero window: persist timer probes with backoff while the peer answers, sends when it opens', () => {
    const raw = new Raw({ config: { retries: 3 } });
    const { ep } = establishPassive(raw);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, window: 0 });
    ep.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(raw.take()).toEqual([]);
    const probes: number[] = [];
    for (let t = 0; t <= 8000; t += 50) {
      raw.advanceTo(t);
      for (const s of raw.take()) {
        expect([flagsOf(s), s.h.seq, s.data.length]).toEqual(['ACK', 1000, 0]);
        probes.push(raw.now);
        raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, window: 0 }); // still closed
      }
    }
    expect(probes).toEqual([200, 600, 1400, 3000, 6200]);
    expect(ep.stateName).toBe('ESTABLISHED'); // answered probes never time out
    expect(ep.stats.windowProbes).toBe(5);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, window: 4 });
    expect(raw.take().map((s) => [s.h.seq, s.data.length])).toEqual([[1001, 4]]);
  });

  it('a window that closes with data in flight is probed, not retransmitted into, and never times out while answered', () => {
    const raw = new Raw({ config: { retries: 2 } });
    const { ep } = establishPassive(raw, 5000, { mss: 1460 });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(3000));
    expect(raw.take().map((s) => s.data.length)).toEqual([1460, 1460, 80]);
    raw.send({ seq: 5001, ack: 1001 + 1460, flags: TCP_ACK, window: 0 }); // took one segment, then full
    const seen: [number, number][] = [];
    for (let t = 0; t <= 20_000; t += 100) {
      raw.advanceTo(t);
      for (const s of raw.take()) {
        seen.push([s.h.seq, s.data.length]);
        raw.send({ seq: 5001, ack: 1001 + 1460, flags: TCP_ACK, window: 0 });
      }
    }
    expect(seen.length).toBeGreaterThan(4);
    for (const x of seen) expect(x).toEqual([1001 + 1460 - 1, 0]); // probes only
    expect(ep.stateName).toBe('ESTABLISHED');
    raw.send({ seq: 5001, ack: 1001 + 1460, flags: TCP_ACK, window: 65535 });
    expect(raw.take().map((s) => [s.h.seq, s.data.length])).toEqual([
      [1001 + 1460, 1460],
      [1001 + 2920, 80],
    ]);
  });

  it('delayed ACK: one segment waits 40 ms, the second is ACKed at once', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: new Uint8Array(100) });
    expect(raw.take()).toEqual([]);
    raw.advance(39);
    expect(raw.take()).toEqual([]);
    raw.advance(1);
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5101]]);
    raw.send({ seq: 5101, ack: 1001, flags: TCP_ACK, data: new Uint8Array(100) });
    expect(raw.take()).toEqual([]);
    raw.send({ seq: 5201, ack: 1001, flags: TCP_ACK, data: new Uint8Array(100) });
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5301]]);
    expect(ep.readableLength).toBe(300);
  });

  it('keepalive probes after idle, ETIMEDOUT when unanswered', () => {
    const raw = new Raw({ config: { keepAliveIntervalMs: 100, keepAliveCount: 3 } });
    const { ep } = establishPassive(raw);
    const log = events(ep);
    ep.setKeepAlive(true, 1000);
    raw.advanceTo(1000);
    expect(raw.take().map((s) => [flagsOf(s), s.h.seq])).toEqual([['ACK', 1000]]);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK }); // answered: idle timer restarts
    raw.advanceTo(1999);
    expect(raw.take()).toEqual([]);
    const probes: number[] = [];
    for (let t = 2000; t <= 3000; t += 50) {
      raw.advanceTo(t);
      for (const _ of raw.take()) probes.push(raw.now);
    }
    expect(probes).toEqual([2000, 2100, 2200]);
    expect(log).toEqual(['close:ETIMEDOUT']);
  });
});

describe('data path details', () => {
  it('Nagle holds a second small segment until the ACK; setNoDelay sends at once', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    ep.write(new Uint8Array(10));
    ep.write(new Uint8Array(10));
    expect(raw.take().map((s) => [s.h.seq, s.data.length])).toEqual([[1001, 10]]);
    raw.send({ seq: 5001, ack: 1011, flags: TCP_ACK });
    expect(raw.take().map((s) => [s.h.seq, s.data.length])).toEqual([[1011, 10]]);
    raw.send({ seq: 5001, ack: 1021, flags: TCP_ACK });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(10));
    ep.write(new Uint8Array(10));
    expect(raw.take().map((s) => [s.h.seq, s.data.length])).toEqual([
      [1021, 10],
      [1031, 10],
    ]);
  });

  it('the receive window reflects unread data; reading opens it with a window update', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw);
    let seq = 5001;
    const windows: number[] = [];
    for (let i = 0; i < 44; i++) {
      raw.send({ seq, ack: 1001, flags: TCP_ACK, data: new Uint8Array(1460) });
      seq += 1460;
      for (const s of raw.take()) windows.push(s.h.window);
    }
    expect(ep.readableLength).toBe(44 * 1460);
    // Window shrinks as unread data piles up (right edge fixed, never moved left).
    expect(windows.length).toBe(22); // every second segment ACKed
    expect(windows[windows.length - 1]).toBe(65535 - 44 * 1460);
    for (let i = 1; i < windows.length; i++) expect(windows[i]).toBeLessThan(windows[i - 1]!);
    // Fill the rest: window 0. A zero-window probe gets an ACK with window 0.
    raw.send({ seq, ack: 1001, flags: TCP_ACK, data: new Uint8Array(65535 - 44 * 1460) });
    seq += 65535 - 44 * 1460;
    raw.advance(40);
    expect(raw.take().map((s) => s.h.window)).toEqual([0]);
    raw.send({ seq, ack: 1001, flags: TCP_ACK, data: [7] });
    expect(raw.take().map((s) => [s.h.ack, s.h.window])).toEqual([[seq, 0]]);
    expect(ep.readableLength).toBe(65535);
    // Reading a little does not reopen (silly window avoidance), reading enough does.
    ep.read(1000);
    expect(raw.take()).toEqual([]);
    ep.read(30000);
    expect(raw.take().map((s) => [flagsOf(s), s.h.window])).toEqual([['ACK', 31000]]);
  });

  it('out-of-order data is ACKed at once with SACK and delivered in order when the hole fills', () => {
    const raw = new Raw({ config: { sack: true } });
    const { ep } = establishPassive(raw, 5000, { sackPermitted: true });
    expect(ep.info().sackOk).toBe(true);
    const d = new Uint8Array(300).map((_, i) => i & 0xff);
    raw.send({ seq: 5101, ack: 1001, flags: TCP_ACK, data: d.subarray(100, 200) });
    raw.send({ seq: 5251, ack: 1001, flags: TCP_ACK, data: d.subarray(250, 300) });
    const acks = raw.take();
    expect(acks.map((s) => [s.h.ack, Array.from(s.h.sackBlocks.subarray(0, s.h.sackCount * 2))])).toEqual([
      [5001, [5101, 5201]],
      [5001, [5251, 5301, 5101, 5201]],
    ]);
    expect(ep.readableLength).toBe(0);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: d.subarray(0, 100) });
    expect(raw.take().map((s) => [s.h.ack, s.h.sackCount])).toEqual([[5201, 1]]);
    raw.send({ seq: 5201, ack: 1001, flags: TCP_ACK, data: d.subarray(200, 250) });
    expect(raw.take().map((s) => [s.h.ack, s.h.sackCount])).toEqual([[5301, 0]]);
    expect(Array.from(ep.read())).toEqual(Array.from(d));
  });

  it('D-SACK (RFC 2883): a duplicate segment is reported once as the first SACK block', () => {
    const raw = new Raw({ config: { sack: true } });
    establishPassive(raw, 5000, { sackPermitted: true });
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: new Uint8Array(100) });
    raw.send({ seq: 5201, ack: 1001, flags: TCP_ACK, data: new Uint8Array(100) }); // out of order
    raw.take();
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: new Uint8Array(100) }); // duplicate
    const [ack] = raw.take();
    expect([ack!.h.ack, Array.from(ack!.h.sackBlocks.subarray(0, ack!.h.sackCount * 2))]).toEqual([5101, [5001, 5101, 5201, 5301]]);
    raw.send({ seq: 5301, ack: 1001, flags: TCP_ACK, data: new Uint8Array(100) });
    const [next] = raw.take();
    expect(Array.from(next!.h.sackBlocks.subarray(0, next!.h.sackCount * 2))).toEqual([5201, 5401]);
  });

  it('SACK loss recovery: the hole is retransmitted on SACK evidence, before any timeout', () => {
    const raw = new Raw({ config: { sack: true, receiveBufferSize: 1 << 20, sendBufferSize: 1 << 20 } });
    const { ep } = establishPassive(raw, 5000, { sackPermitted: true, mss: 1460 });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(20 * 1460));
    const sent = raw.take();
    expect(sent.length).toBe(10); // initial window: 10 segments
    const s = (k: number) => 1001 + k * 1460;
    // Segment 0 lost; the peer SACKs 1..3.
    raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK, sack: [s(1), s(2)] });
    raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK, sack: [s(1), s(3)] });
    expect(raw.take()).toEqual([]); // 2 segments SACKed: not yet lost (RFC 6675 DupThresh)
    raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK, sack: [s(1), s(4)] });
    const out = raw.take();
    expect(out[0]!.h.seq).toBe(s(0));
    expect(out[0]!.data.length).toBe(1460);
    expect(ep.stats.fastRecoveries).toBe(1);
    expect(ep.stats.timeouts).toBe(0);
    expect(ep.info().inRecovery).toBe(true);
    // The retransmission arrives: cumulative ACK jumps past the SACKed data.
    raw.send({ seq: 5001, ack: s(4), flags: TCP_ACK });
    expect(ep.sequence.sndUna).toBe(s(4));
  });

  it('a lost retransmission is detected from SACKs of later data and sent again without waiting for the RTO', () => {
    const raw = new Raw({ config: { sack: true, receiveBufferSize: 1 << 20, sendBufferSize: 1 << 20, initialBufferSize: 1 << 20 } });
    const { ep } = establishPassive(raw, 5000, { sackPermitted: true, mss: 1460 });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(40 * 1460));
    expect(raw.take().length).toBe(10);
    const s = (k: number) => 1001 + k * 1460;
    // Segment 0 lost: SACKs for 1..k trigger recovery and its retransmission.
    const rx: number[] = [];
    for (let k = 2; k <= 9; k++) {
      raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK, sack: [s(1), s(k)] });
      for (const x of raw.take()) if (x.h.seq === s(0)) rx.push(x.h.seq);
    }
    expect(rx).toEqual([s(0)]);
    // The retransmission is lost as well; data sent after it (segments 10+) arrives and is SACKed.
    let again = 0;
    for (let k = 11; k <= 14; k++) {
      raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK, sack: [s(1), s(10), s(10), s(k)] });
      for (const x of raw.take()) if (x.h.seq === s(0)) again++;
    }
    expect(again).toBe(1);
    expect(ep.stats.lostRetransmits).toBe(1);
    expect(ep.stats.timeouts).toBe(0);
  });

  it('tail loss probe (RFC 8985): a lost tail is recovered after ~2 RTT through the probe and SACK, not the RTO', () => {
    const raw = new Raw({ config: { sack: true, minRto: 1000 } });
    const { ep } = establishPassive(raw, 5000, { sackPermitted: true, mss: 1460 });
    ep.setNoDelay(true);
    // Teach it an RTT of about 50 ms.
    for (let i = 0; i < 8; i++) {
      ep.write(new Uint8Array(100));
      raw.take();
      raw.advance(50);
      raw.send({ seq: 5001, ack: 1001 + 100 * (i + 1), flags: TCP_ACK });
    }
    expect(ep.info().srtt).toBeGreaterThan(30);
    ep.write(new Uint8Array(10 * 1460));
    const sent = raw.take();
    expect(sent.length).toBe(10);
    const s = (k: number) => 1801 + k * 1460;
    raw.advance(50);
    raw.send({ seq: 5001, ack: s(7), flags: TCP_ACK }); // 7 arrived; 7, 8 and 9 were lost
    expect(raw.take()).toEqual([]);
    const srtt = ep.info().srtt;
    const ackedAt = raw.now;
    let probe: ReturnType<typeof raw.take> = [];
    while (probe.length === 0 && raw.now < ackedAt + 1000) {
      raw.advance(1);
      probe = raw.take();
    }
    expect(raw.now - ackedAt).toBe(Math.ceil(2 * srtt)); // PTO = 2·SRTT, far below the 1 s RTO
    expect(probe.map((x) => [x.h.seq, x.data.length])).toEqual([[s(9), 1460]]);
    expect(ep.stats.tailProbes).toBe(1);
    raw.advance(50);
    raw.send({ seq: 5001, ack: s(7), flags: TCP_ACK, sack: [s(9), s(10)] });
    expect(raw.take().map((x) => x.h.seq)).toEqual([s(7), s(8)]);
    raw.send({ seq: 5001, ack: s(10), flags: TCP_ACK });
    expect(ep.stats.timeouts).toBe(0);
    expect(ep.info().inRecovery).toBe(false);
  });

  it('a spurious timeout (delay spike) is detected by timestamps and undone: no go-back-N, window restored', () => {
    const raw = new Raw({ config: { timestamps: true, receiveBufferSize: 1 << 20, sendBufferSize: 1 << 20, initialBufferSize: 1 << 20 } });
    const { ep } = establishPassive(raw, 5000, { mss: 1460, ts: [100, 0] });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(10 * 1448));
    const sent = raw.take();
    expect(sent.length).toBe(10);
    const originalTs = sent[0]!.h.tsVal;
    const cwnd = ep.info().cwnd;
    raw.advance(ep.info().rto);
    const rx = raw.take();
    expect(rx.map((x) => x.h.seq)).toEqual([1001]); // RTO: first segment again, cwnd 1
    expect(ep.info().cwnd).toBe(1448);
    // The delayed ACKs for the originals arrive (echoing the original timestamp).
    raw.send({ seq: 5001, ack: 1001 + 5 * 1448, flags: TCP_ACK, ts: [101, originalTs] });
    expect(ep.stats.spuriousTimeouts).toBe(1);
    expect(ep.info().cwnd).toBeGreaterThanOrEqual(cwnd);
    expect(raw.take().filter((x) => x.data.length > 0 && x.h.seq < 1001 + 10 * 1448)).toEqual([]); // nothing resent
    raw.send({ seq: 5001, ack: 1001 + 10 * 1448, flags: TCP_ACK, ts: [102, originalTs] });
    expect(ep.sequence.sndUna).toBe(1001 + 10 * 1448);
  });

  it('an application-limited sender does not grow its window', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw, 5000, { mss: 1460 });
    ep.setNoDelay(true);
    const cwnd = ep.info().cwnd;
    let seq = 1001;
    for (let i = 0; i < 50; i++) {
      ep.write(new Uint8Array(100)); // one small message per round trip
      raw.take();
      seq += 100;
      raw.advance(10);
      raw.send({ seq: 5001, ack: seq, flags: TCP_ACK });
    }
    expect(ep.info().cwnd).toBe(cwnd);
  });

  it('after an idle period longer than the RTO the window restarts at the initial window (RFC 5681 §4.1)', () => {
    const raw = new Raw({ config: { receiveBufferSize: 1 << 20, sendBufferSize: 1 << 20, initialBufferSize: 1 << 20 } });
    const { ep } = establishPassive(raw, 5000, { mss: 1460 });
    ep.setNoDelay(true);
    let una = 1001;
    // Grow cwnd in slow start: send and ACK a few rounds.
    for (let round = 0; round < 3; round++) {
      ep.write(new Uint8Array(ep.info().cwnd));
      for (const x of raw.take()) una = Math.max(una, x.h.seq + x.data.length);
      raw.advance(10);
      raw.send({ seq: 5001, ack: una, flags: TCP_ACK });
    }
    expect(ep.info().cwnd).toBeGreaterThan(10 * 1460);
    raw.advance(5000); // idle
    ep.write(new Uint8Array(100 * 1460));
    expect(raw.take().length).toBe(10);
  });

  it('Eifel (RFC 3522): an ACK echoing the original transmission undoes a spurious window reduction', () => {
    const raw = new Raw({ config: { sack: true, timestamps: true, receiveBufferSize: 1 << 20, sendBufferSize: 1 << 20 } });
    const { ep } = establishPassive(raw, 5000, { sackPermitted: true, mss: 1460, ts: [100, 0] });
    ep.setNoDelay(true);
    raw.advance(10);
    ep.write(new Uint8Array(10 * 1448));
    const sent = raw.take();
    const originalTs = sent[0]!.h.tsVal;
    const cwndBefore = ep.info().cwnd;
    raw.advance(5);
    const s = (k: number) => 1001 + k * 1448;
    raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK, sack: [s(1), s(4)], ts: [101, originalTs] });
    const rx = raw.take();
    expect(rx[0]!.h.seq).toBe(s(0));
    expect(rx[0]!.h.tsVal).toBeGreaterThan(originalTs);
    expect(ep.info().cwnd).toBeLessThan(cwndBefore);
    // The original segment 0 was only late: the cumulative ACK echoes its timestamp.
    raw.send({ seq: 5001, ack: s(4), flags: TCP_ACK, ts: [102, originalTs] });
    expect(ep.stats.spuriousRecoveries).toBe(1);
    expect(ep.info().cwnd).toBeGreaterThanOrEqual(cwndBefore);
  });

  it('early retransmit (RFC 5827): a two-segment flight recovers from one duplicate ACK, not the RTO', () => {
    for (const sack of [true, false]) {
      const raw = new Raw({ config: { sack } });
      const { ep } = establishPassive(raw, 5000, { sackPermitted: sack, mss: 1460 });
      ep.setNoDelay(true);
      ep.write(new Uint8Array(2 * 1460));
      expect(raw.take().length).toBe(2);
      raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, ...(sack ? { sack: [1001 + 1460, 1001 + 2920] } : {}) });
      const out = raw.take();
      expect(out.map((x) => [x.h.seq, x.data.length])).toEqual([[1001, 1460]]);
      expect(ep.stats.timeouts).toBe(0);
    }
  });

  it('NewReno without SACK: three duplicate ACKs trigger fast retransmit, partial ACKs retransmit the next hole', () => {
    const raw = new Raw({ config: { receiveBufferSize: 1 << 20, sendBufferSize: 1 << 20, congestion: 'newreno' } });
    const { ep } = establishPassive(raw, 5000, { mss: 1460 });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(10 * 1460));
    expect(raw.take().length).toBe(10);
    const s = (k: number) => 1001 + k * 1460;
    for (let i = 0; i < 2; i++) raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK });
    expect(raw.take()).toEqual([]);
    raw.send({ seq: 5001, ack: s(0), flags: TCP_ACK });
    expect(raw.take().map((x) => x.h.seq)).toEqual([s(0)]);
    expect(ep.info().cwnd).toBe(5 * 1460);
    // Partial ACK up to segment 3: segment 3 was lost too.
    raw.send({ seq: 5001, ack: s(3), flags: TCP_ACK });
    expect(raw.take()[0]!.h.seq).toBe(s(3));
    raw.send({ seq: 5001, ack: s(10), flags: TCP_ACK });
    expect(ep.info().inRecovery).toBe(false);
  });

  it('PAWS drops old timestamps; timestamps compare modulo 2^32 (RFC 7323)', () => {
    const raw = new Raw({ config: { timestamps: true } });
    const { ep, synAck } = establishPassive(raw, 5000, { ts: [0xfffffff0, 0] });
    expect(synAck.h.hasTimestamp).toBe(true);
    expect(synAck.h.tsEcr).toBe(0xfffffff0);
    expect(ep.info().timestamps).toBe(true);
    const ecr = synAck.h.tsVal;
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: [1, 2, 3], ts: [5, ecr] }); // wrapped: newer
    expect(ep.readableLength).toBe(3);
    raw.send({ seq: 5004, ack: 1001, flags: TCP_ACK, data: [4], ts: [0xfffffff8, ecr] }); // older: PAWS
    expect(ep.readableLength).toBe(3);
    expect(ep.stats.pawsDropped).toBe(1);
    const out = raw.take();
    expect(out[out.length - 1]!.h.ack).toBe(5004);
    expect(out[out.length - 1]!.h.tsEcr).toBe(5);
    raw.send({ seq: 5004, ack: 1001, flags: TCP_ACK, data: [4], ts: [6, ecr] });
    expect(ep.readableLength).toBe(4);
  });

  it('window scaling: negotiated shifts scale the windows after the SYN', () => {
    const raw = new Raw({ config: { windowScaling: true, receiveBufferSize: 1 << 20, initialBufferSize: 1 << 20 } });
    const { ep, synAck } = establishPassive(raw, 5000, { wscale: 3 });
    expect(synAck.h.wscale).toBe(5); // 1 MiB >> 5 fits 16 bits
    expect(synAck.h.window).toBe(65535); // SYN windows are never scaled
    expect(ep.info().sndShift).toBe(3);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, window: 1000 });
    expect(ep.info().sndWnd).toBe(8000);
    raw.send({ seq: 5001, ack: 1001, flags: TCP_ACK, data: [1] });
    raw.advance(40);
    expect(raw.take()[0]!.h.window).toBe(((1 << 20) - 1) >> 5);
  });

  it('MSS: what we advertise comes from the route MTU; we send no more than the peer allows', () => {
    const raw = new Raw();
    const { ep } = establishPassive(raw, 5000, { mss: 536 });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(2000));
    expect(raw.take().map((s) => s.data.length)).toEqual([536, 536, 536, 392]);
    expect(flagsOf({ h: { flags: TCP_PSH | TCP_ACK } } as never)).toBe('PSH|ACK');
  });

  it('a smaller path MTU (ICMP) shrinks segments and resends what was in flight at the new size', () => {
    const raw = new Raw({ config: { receiveBufferSize: 1 << 20, sendBufferSize: 1 << 20 } });
    const { ep } = establishPassive(raw, 5000, { mss: 1460 });
    ep.setNoDelay(true);
    ep.write(new Uint8Array(4 * 1460));
    expect(raw.take().map((s) => s.data.length)).toEqual([1460, 1460, 1460, 1460]);
    raw.stack.pathMtuChanged(LOCAL, 80, REMOTE, 40000, 1000 - 20);
    const again = raw.take();
    expect(again[0]!.h.seq).toBe(1001);
    expect(Math.max(...again.map((s) => s.data.length + s.h.headerLength))).toBe(980);
    expect(ep.info().mss).toBe(960);
  });
});
