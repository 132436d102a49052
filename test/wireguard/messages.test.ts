import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  COOKIE_REPLY_SIZE,
  INITIATION,
  INITIATION_SIZE,
  MessageError,
  RESPONSE,
  RESPONSE_SIZE,
  messageType,
  parseCookieReply,
  parseInitiation,
  parseMessage,
  parseResponse,
  parseTransport,
  serializeMessage,
  writeU64Number,
  readU32,
} from '../../src/wireguard/messages.js';

const bytes = (n: number, f = (i: number) => i & 0xff) => Uint8Array.from({ length: n }, (_, i) => f(i));

describe('message layout', () => {
  it('has wireguard-go sizes and offsets', () => {
    expect(INITIATION_SIZE).toBe(148);
    expect(RESPONSE_SIZE).toBe(92);
    expect(COOKIE_REPLY_SIZE).toBe(64);
    expect(INITIATION.mac1).toBe(116);
    expect(INITIATION.mac2).toBe(132);
    expect(RESPONSE.mac1).toBe(60);
    expect(RESPONSE.mac2).toBe(76);
  });

  it('serializes an initiation field by field', () => {
    const m = {
      type: 1 as const,
      sender: 0x04030201,
      ephemeral: bytes(32, () => 0xee),
      encryptedStatic: bytes(48, () => 0x55),
      encryptedTimestamp: bytes(28, () => 0x77),
      mac1: bytes(16, () => 0x11),
      mac2: bytes(16, () => 0x22),
    };
    const b = serializeMessage(m);
    const hex = Buffer.from(b).toString('hex');
    expect(hex).toBe('01000000' + '01020304' + 'ee'.repeat(32) + '55'.repeat(48) + '77'.repeat(28) + '11'.repeat(16) + '22'.repeat(16));
    expect(parseInitiation(b)).toEqual(m);
  });

  it('parses a transport counter as an exact 64-bit value', () => {
    const b = new Uint8Array(32);
    b[0] = 4;
    b.set([0xfe, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 8);
    expect(parseTransport(b).counter).toBe((1n << 64n) - (1n << 13n) - 2n);
    const w = new Uint8Array(8);
    writeU64Number(w, 0, 2 ** 53 - 1);
    expect(Buffer.from(w).toString('hex')).toBe('ffffffffffff1f00');
    expect(readU32(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0)).toBe(0xffffffff);
  });

  it('rejects wrong sizes, types and reserved bytes with MessageError', () => {
    const init = new Uint8Array(148);
    init[0] = 1;
    expect(() => parseInitiation(init.subarray(0, 147))).toThrow(MessageError);
    const r = new Uint8Array(92);
    r[0] = 2;
    r[2] = 1;
    expect(() => parseResponse(r)).toThrow(MessageError);
    expect(() => parseCookieReply(new Uint8Array(64))).toThrow(MessageError);
    expect(() => parseMessage(new Uint8Array([9, 0, 0, 0]))).toThrow(MessageError);
    const t = new Uint8Array(31);
    t[0] = 4;
    expect(() => parseTransport(t)).toThrow(MessageError);
    expect(messageType(t)).toBe(0);
    expect(messageType(init)).toBe(1);
    expect(messageType(new Uint8Array([4, 0, 0, 0, ...new Uint8Array(28)]))).toBe(4);
    expect(() => serializeMessage({ type: 3, receiver: 2 ** 32, nonce: new Uint8Array(24), encryptedCookie: new Uint8Array(32) })).toThrow(MessageError);
  });

  it('parse never throws anything but MessageError, and serialize∘parse is identity', () => {
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom(148, 92, 64, 32, 33, 100, 1500)).chain(([t, n]) =>
        fc.uint8Array({ minLength: n, maxLength: n }).map((b) => {
          b[0] = t;
          b[1] = b[2] = b[3] = 0;
          return b;
        }),
      ),
    );
    fc.assert(
      fc.property(arb, (b) => {
        let m;
        try {
          m = parseMessage(b);
        } catch (e) {
          expect(e).toBeInstanceOf(MessageError);
          expect(messageType(b)).toBe(0);
          return;
        }
        expect(messageType(b)).toBe(m.type);
        expect(Buffer.from(serializeMessage(m)).equals(Buffer.from(b))).toBe(true);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});
