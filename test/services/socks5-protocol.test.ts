import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CMD_CONNECT,
  CMD_UDP_ASSOCIATE,
  METHOD_NO_AUTH,
  METHOD_NONE_ACCEPTABLE,
  METHOD_USER_PASS,
  REP_ADDRESS_TYPE_NOT_SUPPORTED,
  REP_COMMAND_NOT_SUPPORTED,
  Socks5Error,
  buildReply,
  buildRequest,
  buildUdpDatagram,
  chooseMethod,
  parseGreeting,
  parseReply,
  parseRequest,
  parseUdpDatagram,
  parseUserPass,
} from '../../src/services/socks5-protocol.js';

const bytes = (...xs: number[]) => Uint8Array.from(xs);

describe('socks5 protocol', () => {
  it('parses greetings incrementally and picks a method', () => {
    expect(parseGreeting(bytes())).toBe(null);
    expect(parseGreeting(bytes(5))).toBe(null);
    expect(parseGreeting(bytes(5, 2, 0))).toBe(null);
    const g = parseGreeting(bytes(5, 2, 0, 2, 99))!;
    expect(g.length).toBe(4);
    expect(g.value.methods).toEqual([0, 2]);
    expect(chooseMethod(g.value, false)).toBe(METHOD_NO_AUTH);
    expect(chooseMethod(g.value, true)).toBe(METHOD_USER_PASS);
    expect(chooseMethod({ methods: [0] }, true)).toBe(METHOD_NONE_ACCEPTABLE);
    expect(() => parseGreeting(bytes(4, 1, 0))).toThrow(Socks5Error);
    expect(() => parseGreeting(bytes(5, 0))).toThrow(Socks5Error);
  });

  it('parses username/password', () => {
    const b = bytes(1, 3, 0x62, 0x6f, 0x62, 2, 0x70, 0x77, 7);
    expect(parseUserPass(b.subarray(0, 7))).toBe(null);
    const p = parseUserPass(b)!;
    expect(p.value).toEqual({ username: 'bob', password: 'pw' });
    expect(p.length).toBe(8);
    expect(() => parseUserPass(bytes(5, 0, 0))).toThrow(Socks5Error);
  });

  it('parses CONNECT requests for IPv4, IPv6 and domains', () => {
    const r4 = parseRequest(bytes(5, 1, 0, 1, 10, 0, 0, 2, 0, 80))!;
    expect(r4.length).toBe(10);
    expect(r4.value.command).toBe(CMD_CONNECT);
    expect(r4.value.destination).toEqual({ type: 'ipv4', addr: bytes(10, 0, 0, 2), port: 80 });
    const six = new Uint8Array(16);
    six[0] = 0xfd;
    six[15] = 1;
    const r6 = parseRequest(bytes(5, 3, 0, 4, ...six, 0x1f, 0x90))!;
    expect(r6.value.command).toBe(CMD_UDP_ASSOCIATE);
    expect(r6.value.destination).toEqual({ type: 'ipv6', addr: six, port: 8080 });
    const name = [...new TextEncoder().encode('example.org')];
    const full = bytes(5, 1, 0, 3, name.length, ...name, 1, 187);
    for (let i = 0; i < full.length; i++) expect(parseRequest(full.subarray(0, i))).toBe(null);
    expect(parseRequest(full)!.value.destination).toEqual({ type: 'domain', host: 'example.org', port: 443 });
  });

  it('rejects bad commands and address types with the right reply codes', () => {
    try {
      parseRequest(bytes(5, 9, 0, 1, 1, 2, 3, 4, 0, 1));
      expect.unreachable();
    } catch (e) {
      expect((e as Socks5Error).reply).toBe(REP_COMMAND_NOT_SUPPORTED);
    }
    try {
      parseRequest(bytes(5, 1, 0, 7, 1, 2, 3, 4, 0, 1));
      expect.unreachable();
    } catch (e) {
      expect((e as Socks5Error).reply).toBe(REP_ADDRESS_TYPE_NOT_SUPPORTED);
    }
  });

  it('builds exact replies and requests', () => {
    expect([...buildReply(0, { type: 'ipv4', addr: bytes(127, 0, 0, 1), port: 1080 })]).toEqual([5, 0, 0, 1, 127, 0, 0, 1, 4, 56]);
    expect([...buildReply(5)]).toEqual([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect([...buildRequest(1, { type: 'domain', host: 'a.b', port: 22 })]).toEqual([5, 1, 0, 3, 3, 97, 46, 98, 0, 22]);
    const rep = parseReply(buildReply(0, { type: 'ipv4', addr: bytes(1, 2, 3, 4), port: 5 }))!;
    expect(rep.value).toEqual({ reply: 0, bound: { type: 'ipv4', addr: bytes(1, 2, 3, 4), port: 5 } });
  });

  it('round-trips UDP datagrams', () => {
    const d = buildUdpDatagram({ type: 'ipv4', addr: bytes(10, 0, 0, 2), port: 53 }, bytes(1, 2, 3));
    expect([...d]).toEqual([0, 0, 0, 1, 10, 0, 0, 2, 0, 53, 1, 2, 3]);
    const p = parseUdpDatagram(d);
    expect(p.fragment).toBe(0);
    expect(p.destination).toEqual({ type: 'ipv4', addr: bytes(10, 0, 0, 2), port: 53 });
    expect([...p.data]).toEqual([1, 2, 3]);
    expect(() => parseUdpDatagram(bytes(0, 1, 0, 1))).toThrow(Socks5Error);
    expect(() => parseUdpDatagram(bytes(0, 0, 0, 1, 1))).toThrow(Socks5Error);
  });

  it('arbitrary bytes raise only Socks5Error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const f of [parseGreeting, parseRequest, parseUserPass, parseReply, parseUdpDatagram] as ((x: Uint8Array) => unknown)[]) {
          try {
            f(b);
          } catch (e) {
            if (!(e instanceof Socks5Error)) throw e;
          }
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('request build∘parse is identity', () => {
    const addr = fc.oneof(
      fc.record({ type: fc.constant('ipv4' as const), addr: fc.uint8Array({ minLength: 4, maxLength: 4 }), port: fc.integer({ min: 0, max: 65535 }) }),
      fc.record({ type: fc.constant('ipv6' as const), addr: fc.uint8Array({ minLength: 16, maxLength: 16 }), port: fc.integer({ min: 0, max: 65535 }) }),
      fc.record({ type: fc.constant('domain' as const), host: fc.stringMatching(/^[a-z0-9.-]{1,60}$/), port: fc.integer({ min: 0, max: 65535 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3), addr, (cmd, dst) => {
        const b = buildRequest(cmd, dst);
        const p = parseRequest(b)!;
        expect(p.length).toBe(b.length);
        expect(p.value).toEqual({ command: cmd, destination: dst });
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
