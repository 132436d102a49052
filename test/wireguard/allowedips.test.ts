import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AllowedIPs, CidrError, formatCidr, formatIP, parseCidr, parseIP } from '../../src/wireguard/allowedips.js';

function ins<T>(t: AllowedIPs<T>, cidr: string, v: T): void {
  const { ip, bits } = parseCidr(cidr);
  t.insert(ip, bits, v);
}
function look<T>(t: AllowedIPs<T>, addr: string): T | undefined {
  const ip = parseIP(addr)!;
  return t.lookup(ip.length === 4 ? 4 : 6, ip, 0);
}
function entries<T>(t: AllowedIPs<T>, v: T): string[] {
  return t.entriesFor(v).map((e) => formatCidr(e.ip, e.bits));
}

describe('parseIP / formatIP', () => {
  it('parses and formats IPv4', () => {
    expect(Array.from(parseIP('10.1.2.3')!)).toEqual([10, 1, 2, 3]);
    expect(formatIP(parseIP('255.255.255.255')!)).toBe('255.255.255.255');
    expect(formatIP(parseIP('0.0.0.0')!)).toBe('0.0.0.0');
  });
  it('rejects bad IPv4', () => {
    for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1..2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4/8', '1234.1.1.1', '-1.2.3.4']) {
      expect(parseIP(s), s).toBeNull();
    }
  });
  it('formats IPv6 like Go netip', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0001:0000:0000:0000:0001', '2001:db8:0:1::1'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['FE80::ABCD', 'fe80::abcd'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::ffff:0102:0304', '::ffff:1.2.3.4'],
      ['::1.2.3.4', '::102:304'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
    ];
    for (const [inp, out] of cases) expect(formatIP(parseIP(inp)!), inp).toBe(out);
  });
  it('rejects bad IPv6', () => {
    for (const s of [':', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '1::2::3', '12345::', 'g::', '1:2', ':1::', '1::2:', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', '::1.2.3', '[::1]']) {
      expect(parseIP(s), s).toBeNull();
    }
  });
  it('parseCidr', () => {
    expect(parseCidr('10.0.0.1/24')).toEqual({ ip: new Uint8Array([10, 0, 0, 1]), bits: 24 });
    expect(parseCidr('10.0.0.1').bits).toBe(32);
    expect(parseCidr('fd00::').bits).toBe(128);
    expect(parseCidr('::/0').bits).toBe(0);
    for (const s of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/024', '10.0.0.0/+4', '/8', 'x/8', '10.0.0.0/8/8', '10.0.0.0/ 8']) {
      expect(() => parseCidr(s), s).toThrow(CidrError);
    }
  });
});

describe('AllowedIPs', () => {
  it('longest prefix wins, host bits masked', () => {
    const t = new AllowedIPs<string>();
    ins(t, '10.0.0.0/8', 'a');
    ins(t, '10.1.2.3/16', 'b'); // masked to 10.1.0.0/16
    ins(t, '10.1.2.3/32', 'c');
    expect(look(t, '10.9.9.9')).toBe('a');
    expect(look(t, '10.1.200.1')).toBe('b');
    expect(look(t, '10.1.2.3')).toBe('c');
    expect(look(t, '11.0.0.0')).toBeUndefined();
    expect(entries(t, 'b')).toEqual(['10.1.0.0/16']);
    expect(t.size).toBe(3);
  });
  it('/0 matches everything of its family only', () => {
    const t = new AllowedIPs<string>();
    ins(t, '0.0.0.0/0', 'v4');
    expect(look(t, '1.2.3.4')).toBe('v4');
    expect(look(t, '255.255.255.255')).toBe('v4');
    expect(look(t, '::1')).toBeUndefined();
    ins(t, '::/0', 'v6');
    ins(t, 'fd00::/64', 'x');
    expect(look(t, '::1')).toBe('v6');
    expect(look(t, 'fd00::5')).toBe('x');
    expect(look(t, 'fd00:0:0:1::5')).toBe('v6');
    ins(t, 'fd00::5/128', 'y');
    expect(look(t, 'fd00::5')).toBe('y');
    expect(look(t, 'fd00::6')).toBe('x');
  });
  it('lookup reads at an offset inside a packet buffer', () => {
    const t = new AllowedIPs<number>();
    ins(t, '192.168.0.0/16', 1);
    ins(t, '2001:db8::/32', 2);
    const buf = new Uint8Array(40);
    buf.set([192, 168, 7, 7], 16);
    expect(t.lookup(4, buf, 16)).toBe(1);
    buf.set(parseIP('2001:db8::99')!, 24);
    expect(t.lookup(6, buf, 24)).toBe(2);
  });
  it('re-insert moves a prefix to the new value', () => {
    const t = new AllowedIPs<string>();
    ins(t, '10.0.0.0/24', 'a');
    ins(t, '10.0.1.0/24', 'a');
    ins(t, '10.0.0.0/24', 'b');
    expect(look(t, '10.0.0.1')).toBe('b');
    expect(entries(t, 'a')).toEqual(['10.0.1.0/24']);
    expect(entries(t, 'b')).toEqual(['10.0.0.0/24']);
    expect(t.size).toBe(2);
    ins(t, '10.0.1.0/24', 'a'); // same value: moves to the end of the list, size unchanged
    expect(t.size).toBe(2);
  });
  it('remove and removeByValue', () => {
    const t = new AllowedIPs<string>();
    ins(t, '10.0.0.0/8', 'a');
    ins(t, '10.0.0.0/16', 'b');
    ins(t, '10.0.0.0/24', 'a');
    ins(t, 'fd00::/8', 'a');
    ins(t, '10.128.0.0/9', 'b');
    expect(entries(t, 'a')).toEqual(['10.0.0.0/8', '10.0.0.0/24', 'fd00::/8']);
    expect(t.remove(parseIP('10.0.0.0')!, 16)).toBe(true);
    expect(t.remove(parseIP('10.0.0.0')!, 16)).toBe(false);
    expect(t.remove(parseIP('10.0.0.0')!, 12)).toBe(false);
    expect(look(t, '10.0.1.1')).toBe('a');
    expect(t.remove(parseIP('10.0.0.0')!, 24, 'b')).toBe(false);
    t.removeByValue('a');
    expect(t.size).toBe(1);
    expect(look(t, '10.0.0.1')).toBeUndefined();
    expect(look(t, '10.200.0.1')).toBe('b');
    expect(look(t, 'fd00::1')).toBeUndefined();
    expect(entries(t, 'a')).toEqual([]);
    t.clear();
    expect(t.size).toBe(0);
    expect(look(t, '10.200.0.1')).toBeUndefined();
  });
  it('/32 and /128 hosts next to each other', () => {
    const t = new AllowedIPs<number>();
    for (let i = 0; i < 256; i++) ins(t, `10.0.0.${i}/32`, i);
    for (let i = 0; i < 256; i++) ins(t, `fd00::${i.toString(16)}/128`, 1000 + i);
    for (let i = 0; i < 256; i++) {
      expect(look(t, `10.0.0.${i}`)).toBe(i);
      expect(look(t, `fd00::${i.toString(16)}`)).toBe(1000 + i);
    }
    for (let i = 0; i < 256; i += 2) t.remove(parseIP(`10.0.0.${i}`)!, 32);
    for (let i = 0; i < 256; i++) expect(look(t, `10.0.0.${i}`)).toBe(i % 2 ? i : undefined);
    expect(t.size).toBe(384);
  });
  it('rejects impossible prefixes with CidrError', () => {
    const t = new AllowedIPs<number>();
    expect(() => t.insert(new Uint8Array(5), 8, 1)).toThrow(CidrError);
    expect(() => t.insert(new Uint8Array(4), 33, 1)).toThrow(CidrError);
    expect(() => t.insert(new Uint8Array(16), -1, 1)).toThrow(CidrError);
  });
  it('holds 200k prefixes', () => {
    const t = new AllowedIPs<number>();
    const ip = new Uint8Array(4);
    for (let i = 0; i < 200_000; i++) {
      ip[0] = 10; ip[1] = (i >>> 16) & 0xff; ip[2] = (i >>> 8) & 0xff; ip[3] = i & 0xff;
      t.insert(ip, 32, i & 7);
    }
    expect(t.size).toBe(200_000);
    ip[1] = 1; ip[2] = 2; ip[3] = 3;
    expect(t.lookup(4, ip, 0)).toBe(((1 << 16) | (2 << 8) | 3) & 7);
    expect(t.countFor(3)).toBe(25_000);
    t.removeByValue(3);
    expect(t.size).toBe(175_000);
  });
});

// ---- property test against a brute-force reference ----

interface RefEntry { ip: Uint8Array; bits: number; v: number }
function maskedEq(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3, sh = 7 - (i & 7);
    if (((a[byte]! >> sh) & 1) !== ((b[byte]! >> sh) & 1)) return false;
  }
  return true;
}
function mask(ip: Uint8Array, bits: number): Uint8Array {
  const o = new Uint8Array(ip.length);
  for (let i = 0; i < ip.length * 8 && i < bits; i++) {
    const byte = i >> 3, sh = 7 - (i & 7);
    o[byte]! |= ip[byte]! & (1 << sh);
  }
  return o;
}
function refLookup(ref: RefEntry[], addr: Uint8Array): number | undefined {
  let best: RefEntry | undefined;
  for (const e of ref) if (e.ip.length === addr.length && maskedEq(e.ip, addr, e.bits) && (!best || e.bits > best.bits)) best = e;
  return best?.v;
}

// Addresses from a tiny alphabet so prefixes overlap a lot.
const byteArb = fc.constantFrom(0, 1, 0x80, 0xc0, 0xff, 0x0f);
const addr4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).chain((r) => fc.array(byteArb, { minLength: 4, maxLength: 4 }).map((b) => (r[0]! & 1 ? new Uint8Array(b) : r)));
const addr6 = fc.array(byteArb, { minLength: 16, maxLength: 16 }).map((b) => new Uint8Array(b));
const prefixArb = fc.oneof(
  fc.tuple(addr4, fc.integer({ min: 0, max: 32 })),
  fc.tuple(addr6, fc.integer({ min: 0, max: 128 })),
);
const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('ins' as const), p: prefixArb, v: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rm' as const), p: prefixArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rmv' as const), v: fc.integer({ min: 0, max: 4 }) }) },
);

describe('AllowedIPs property', () => {
  it('agrees with a brute-force longest-prefix reference', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(fc.oneof(addr4, addr6), { minLength: 20, maxLength: 20 }), (ops, probes) => {
        const t = new AllowedIPs<number>();
        let ref: RefEntry[] = [];
        const check = (): void => {
          for (const a of probes) expect(t.lookupIP(a)).toBe(refLookup(ref, a));
          // also probe each stored prefix's own address
          for (const e of ref) expect(t.lookupIP(e.ip)).toBe(refLookup(ref, e.ip));
          expect(t.size).toBe(ref.length);
          // fork nodes are spliced out when no longer needed
          expect(t.nodeCount).toBeLessThanOrEqual(Math.max(0, 2 * t.size));
          if (t.size === 0) expect(t.nodeCount).toBe(0);
        };
        for (const op of ops) {
          if (op.kind === 'ins') {
            const [ip, bits] = op.p;
            const m = mask(ip, bits);
            ref = ref.filter((e) => !(e.ip.length === m.length && e.bits === bits && maskedEq(e.ip, m, 128)));
            ref.push({ ip: m, bits, v: op.v });
            t.insert(ip, bits, op.v);
          } else if (op.kind === 'rm') {
            const [ip, bits] = op.p;
            const m = mask(ip, bits);
            const before = ref.length;
            ref = ref.filter((e) => !(e.ip.length === m.length && e.bits === bits && maskedEq(e.ip, m, 128)));
            expect(t.remove(ip, bits)).toBe(ref.length !== before);
          } else {
            ref = ref.filter((e) => e.v !== op.v);
            t.removeByValue(op.v);
          }
          check();
        }
        for (let v = 0; v <= 4; v++) {
          const want = ref.filter((e) => e.v === v).map((e) => formatCidr(e.ip, e.bits));
          expect(t.entriesFor(v).map((e) => formatCidr(e.ip, e.bits))).toEqual(want);
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });
  it('formatIP ∘ parseIP is canonical and round-trips bytes', () => {
    fc.assert(
      fc.property(fc.oneof(addr4, addr6, fc.uint8Array({ minLength: 16, maxLength: 16 })), (ip) => {
        const s = formatIP(ip);
        const back = parseIP(s)!;
        expect(Array.from(back)).toEqual(Array.from(ip));
        expect(formatIP(back)).toBe(s);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
  it('parseIP never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:./%x '.split('')), maxLength: 50 }), (s) => {
        const r = parseIP(s);
        if (r !== null) expect(parseIP(formatIP(r))).toEqual(r);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});
