import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DNS_TYPE_A, DNS_TYPE_AAAA, DnsError, buildQuery, parseResponse } from '../../src/endpoint/dns.js';

describe('dns messages', () => {
  it('builds an exact A query', () => {
    expect([...buildQuery(0x1234, 'ab.c', DNS_TYPE_A)]).toEqual([
      0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 97, 98, 1, 99, 0, 0, 1, 0, 1,
    ]);
    expect(() => buildQuery(1, 'a..b', DNS_TYPE_A)).toThrow(DnsError);
    expect(() => buildQuery(1, 'x'.repeat(64), DNS_TYPE_A)).toThrow(DnsError);
  });

  it('parses answers with compression, skipping CNAMEs and other ids', () => {
    const q = buildQuery(7, 'www.example', DNS_TYPE_AAAA);
    const cname = [0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 0xc0, 12];
    const aaaa = [0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 1, 0, 16, 0xfd, 0, ...new Array(13).fill(0), 9];
    const r = Uint8Array.from([...q, ...cname, ...aaaa]);
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 2;
    const got = parseResponse(r, 7, DNS_TYPE_AAAA)!;
    expect(got.rcode).toBe(0);
    expect(got.addresses.length).toBe(1);
    expect(got.addresses[0]![0]).toBe(0xfd);
    expect(got.addresses[0]![15]).toBe(9);
    expect(parseResponse(r, 8, DNS_TYPE_AAAA)).toBe(null);
    // a query (QR=0) is not an answer
    expect(parseResponse(q, 7, DNS_TYPE_AAAA)).toBe(null);
  });

  it('arbitrary bytes raise only DnsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        if (b.length >= 3) b[2]! |= 0x80;
        try {
          parseResponse(b, b.length >= 2 ? (b[0]! << 8) | b[1]! : 0, DNS_TYPE_A);
        } catch (e) {
          if (!(e instanceof DnsError)) throw e;
        }
      }),
      { seed: 42, numRuns: 3000 },
    );
  });
});
