/** Shared builders for netstack tests. */
import { expect } from 'vitest';
import { parseAddress } from '../../src/netstack/addr.js';
import { ChannelEndpoint } from '../../src/netstack/link/channel.js';
import { Stack, type StackOptions } from '../../src/netstack/stack.js';
import { buildIpv4, validateIpv4 } from '../../src/netstack/header/ipv4.js';
import { buildIpv6, validateIpv6 } from '../../src/netstack/header/ipv6.js';
import { buildIcmpv4 } from '../../src/netstack/header/icmpv4.js';
import { buildIcmpv6, icmpv6Checksum } from '../../src/netstack/header/icmpv6.js';
import { buildUdp } from '../../src/netstack/header/udp.js';
import { checksum } from '../../src/netstack/header/checksum.js';
import type { IpFamily } from '../../src/netstack/transport/protocol.js';

export const LOCAL4 = parseAddress('10.0.0.1');
export const REMOTE4 = parseAddress('10.0.0.2');
export const TEMP4 = parseAddress('10.9.9.9');
export const LOCAL6 = parseAddress('fd00::1');
export const REMOTE6 = parseAddress('fd00::2');
export const TEMP6 = parseAddress('fd00:9::9');

export function addrs(family: IpFamily) {
  return family === 4 ? { local: LOCAL4, remote: REMOTE4, temp: TEMP4 } : { local: LOCAL6, remote: REMOTE6, temp: TEMP6 };
}

export function setup(opts: StackOptions & { mtu?: number; queueSize?: number } = {}) {
  const link = new ChannelEndpoint({ mtu: opts.mtu ?? 1500, queueSize: opts.queueSize ?? 16 });
  const stack = new Stack({ seed: 1, ...opts });
  stack.createNic(1, link);
  stack.addAddress(1, '10.0.0.1/24');
  stack.addAddress(1, 'fd00::1/64');
  stack.addRoute('0.0.0.0/0', 1);
  stack.addRoute('::/0', 1);
  return { stack, link };
}

export const PAYLOAD = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7]);
/** A record-route-like option with the copy bit clear plus a NOP/EOL pad: 8 bytes. */
export const IPV4_OPTIONS = Uint8Array.from([0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00]);

export interface EchoSpec {
  family: IpFamily;
  src: Uint8Array;
  dst: Uint8Array;
  ident?: number;
  seq?: number;
  payload?: Uint8Array;
  type?: number;
  /** IPv4 TOS / IPv6 traffic class. */
  tos?: number;
  options?: Uint8Array;
}

export function echoPacket(s: EchoSpec): Uint8Array {
  const rest = (((s.ident ?? 0x4242) << 16) | (s.seq ?? 7)) >>> 0;
  const payload = s.payload ?? PAYLOAD;
  if (s.family === 4) {
    return buildIpv4(
      { ttl: 64, protocol: 1, src: s.src, dst: s.dst, tos: s.tos ?? 0, id: 0x1234, options: s.options },
      buildIcmpv4(s.type ?? 8, 0, rest, payload),
    );
  }
  return buildIpv6(
    { nextHeader: 58, hopLimit: 64, trafficClass: s.tos ?? 0, src: s.src, dst: s.dst },
    buildIcmpv6(s.src, s.dst, s.type ?? 128, 0, rest, payload),
  );
}

export function udpPacket(family: IpFamily, src: Uint8Array, dst: Uint8Array, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const u = buildUdp(src, dst, sport, dport, payload);
  return family === 4
    ? buildIpv4({ ttl: 64, protocol: 17, src, dst, id: 0x4321 }, u)
    : buildIpv6({ nextHeader: 17, hopLimit: 64, src, dst }, u);
}

/** Asserts that `reply` is exactly the Echo Reply to `request`, byte by byte. */
export function expectEchoReply(reply: Uint8Array, request: Uint8Array, family: IpFamily): void {
  if (family === 4) {
    const rhl = (request[0]! & 0x0f) * 4;
    expect(validateIpv4(reply)).toBe(rhl); // same header length: options kept; header checksum valid
    expect(reply.length).toBe(request.length);
    expect(reply[1]).toBe(request[1]); // TOS
    expect(reply[9]).toBe(1);
    expect(Array.from(reply.subarray(12, 16))).toEqual(Array.from(request.subarray(16, 20)));
    expect(Array.from(reply.subarray(16, 20))).toEqual(Array.from(request.subarray(12, 16)));
    expect(Array.from(reply.subarray(20, rhl))).toEqual(Array.from(request.subarray(20, rhl)));
    const exp = request.slice(rhl);
    exp[0] = 0;
    exp[2] = 0;
    exp[3] = 0;
    const c = checksum(exp);
    exp[2] = c >> 8;
    exp[3] = c & 0xff;
    expect(Array.from(reply.subarray(rhl))).toEqual(Array.from(exp));
    expect(checksum(reply.subarray(rhl))).toBe(0);
  } else {
    expect(validateIpv6(reply)).toBe(reply.length);
    expect(reply.length).toBe(request.length);
    expect(reply[0]! & 0x0f).toBe(request[0]! & 0x0f); // traffic class high nibble
    expect(reply[1]! >> 4).toBe(request[1]! >> 4); // traffic class low nibble
    expect(reply[6]).toBe(58);
    expect(Array.from(reply.subarray(8, 24))).toEqual(Array.from(request.subarray(24, 40)));
    expect(Array.from(reply.subarray(24, 40))).toEqual(Array.from(request.subarray(8, 24)));
    const exp = request.slice(40);
    exp[0] = 129;
    exp[2] = 0;
    exp[3] = 0;
    const c = icmpv6Checksum(reply.subarray(8, 24), reply.subarray(24, 40), exp);
    exp[2] = c >> 8;
    exp[3] = c & 0xff;
    expect(Array.from(reply.subarray(40))).toEqual(Array.from(exp));
    expect(icmpv6Checksum(reply.subarray(8, 24), reply.subarray(24, 40), reply.subarray(40))).toBe(0);
  }
}
