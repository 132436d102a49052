import { describe, expect, it } from 'vitest';
import { TCP_ACK } from '../../../src/netstack/header/tcp.js';
import { Raw, establishPassive, flagsOf } from './raw.js';

const seg = (seq: number, len = 100) => ({ seq, ack: 1001, flags: TCP_ACK, data: new Uint8Array(len) });

describe('receive batches (beginBatch/endBatch)', () => {
  it('in-order data in one batch gets one ACK at the end, not one per two segments', () => {
    const raw = new Raw();
    establishPassive(raw);
    raw.stack.beginBatch();
    for (let i = 0; i < 6; i++) raw.send(seg(5001 + i * 100));
    expect(raw.take()).toEqual([]);
    raw.stack.endBatch();
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5601]]);
    // Outside a batch: the usual every-second-segment ACK.
    raw.send(seg(5601));
    expect(raw.take()).toEqual([]);
    raw.send(seg(5701));
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5801]]);
  });

  it('a long batch still ACKs every 16 segments', () => {
    const raw = new Raw();
    establishPassive(raw);
    raw.stack.beginBatch();
    const acks: number[] = [];
    for (let i = 0; i < 40; i++) {
      raw.send(seg(5001 + i * 100));
      for (const s of raw.take()) acks.push(s.h.ack);
    }
    raw.stack.endBatch();
    for (const s of raw.take()) acks.push(s.h.ack);
    expect(acks).toEqual([5001 + 16 * 100, 5001 + 32 * 100, 5001 + 40 * 100]);
  });

  it('out-of-order data is ACKed at once inside a batch', () => {
    const raw = new Raw();
    establishPassive(raw);
    raw.stack.beginBatch();
    raw.send(seg(5101)); // hole at 5001
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5001]]);
    raw.stack.endBatch();
    expect(raw.take()).toEqual([]);
  });

  it('without endBatch the delayed-ACK timer sends the deferred ACK (40 ms)', () => {
    const raw = new Raw();
    establishPassive(raw);
    raw.stack.beginBatch();
    raw.send(seg(5001));
    raw.send(seg(5101));
    expect(raw.take()).toEqual([]);
    raw.advance(39);
    expect(raw.take()).toEqual([]);
    raw.advance(1);
    expect(raw.take().map((s) => [flagsOf(s), s.h.ack])).toEqual([['ACK', 5201]]);
    raw.stack.endBatch(); // nothing owed any more
    expect(raw.take()).toEqual([]);
  });
});
