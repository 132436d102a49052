/**
 * Memory bounds under floods, in process: 100k forged or garbage inputs into
 * a Device and a Stack keep every table within its limit. Without global.gc,
 * table sizes are the bound; the peak of each is printed for the report.
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import { MAX_STAGED_PACKETS } from '../../src/wireguard/constants.js';
import { mac1KeyFor } from '../../src/wireguard/cookie.js';
import { RateLimiter } from '../../src/wireguard/ratelimiter.js';
import { INITIATION_SIZE } from '../../src/wireguard/messages.js';
import { buildIpv4 } from '../../src/netstack/header/ipv4.js';
import { buildIpv6 } from '../../src/netstack/header/ipv6.js';
import { buildUdp } from '../../src/netstack/header/udp.js';
import { newTcpHeader, setTcpChecksum, writeTcpHeader, TCP_SYN } from '../../src/netstack/header/tcp.js';
import { ChannelEndpoint } from '../../src/netstack/link/channel.js';
import { Stack } from '../../src/netstack/stack.js';
import { UdpForwarder } from '../../src/netstack/transport/udp.js';
import { TcpForwarder, TcpProtocol } from '../../src/netstack/transport/tcp/protocol.js';
import { ipv4Packet, makePair, prng } from '../wireguard/harness.js';

const N = 100_000;
const FLOWS = 30_000;

function rateLimiterOf(d: object): RateLimiter {
  return (d as { rateLimiter: RateLimiter }).rateLimiter;
}

describe('Device under a flood', () => {
  it('100k forged initiations from 100k sources (10% with a valid mac1) leave no state behind', () => {
    const p = makePair(nodeCrypto, { underLoadThreshold: 128 });
    const dev = p.b.device;
    const key = mac1KeyFor(nodeCrypto, dev.publicKey!);
    const rand = prng(99);
    const msg = new Uint8Array(INITIATION_SIZE);
    let peakIndex = 0;
    let peakLimiter = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 4; j < INITIATION_SIZE - 32; j++) msg[j] = (rand() * 256) | 0;
      msg[0] = 1;
      // An attacker who knows our public key can make mac1 valid; cookie replies answer those.
      if (i % 10 === 0) msg.set(nodeCrypto.mac(key, msg.subarray(0, INITIATION_SIZE - 32)), INITIATION_SIZE - 32);
      else for (let j = INITIATION_SIZE - 32; j < INITIATION_SIZE - 16; j++) msg[j] = (rand() * 256) | 0;
      msg.fill(0, INITIATION_SIZE - 16);
      // 100k packets over 20 s of fake time from 100k addresses.
      dev.receiveDatagram(msg, { address: `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60000) }, p.sim.now + i / 5);
      if ((i & 1023) === 0) {
        peakIndex = Math.max(peakIndex, dev.indexCount);
        peakLimiter = Math.max(peakLimiter, rateLimiterOf(dev).size);
      }
    }
    const d = dev.stats.dropped;
    console.log(`forged initiations: mac1 drops ${d.mac1}, cookie replies ${dev.stats.cookieRepliesSent}, DH attempts ${d['handshake-invalid'] + d['unknown-peer']}, index table peak ${peakIndex}, rate limiter peak ${peakLimiter}`);
    expect(d.internal).toBe(0);
    expect(dev.indexCount).toBe(0);
    expect(peakIndex).toBe(0);
    expect(dev.stats.handshakesCompleted).toBe(0);
    // The expensive path (DH) only runs while not under load: at most ~128 per second of the 20 s.
    expect(d['handshake-invalid'] + d['unknown-peer']).toBeLessThanOrEqual(21 * 129);
    expect(d.mac1).toBe(N - N / 10);
    expect(d['cookie-sent']).toBeGreaterThan(N / 10 - 200);
  });

  it('100k garbage datagrams and transport messages for random indices: counted drops, no state', () => {
    const p = makePair(nodeCrypto);
    p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), p.sim.now);
    p.sim.advance(50);
    const dev = p.b.device;
    const before = dev.indexCount;
    const rand = prng(5);
    const buf = new Uint8Array(1500);
    for (let i = 0; i < N; i++) {
      const len = i & 1 ? 32 + ((rand() * 1400) | 0) : (rand() * 200) | 0;
      for (let j = 0; j < Math.min(len, 64); j++) buf[j] = (rand() * 256) | 0;
      if (i & 1) buf.set([4, 0, 0, 0]);
      dev.receiveDatagram(buf.subarray(0, len), { address: '203.0.113.9', port: i & 0xffff }, p.sim.now);
    }
    const d = dev.stats.dropped;
    expect(d.internal).toBe(0);
    expect(d.malformed + d['no-keypair'] + d.mac1).toBe(N);
    expect(dev.indexCount).toBe(before);
    expect(p.peerA.endpoint?.address).toBe('192.0.2.1'); // nothing unauthenticated moved the endpoint
  });

  it('the handshake rate limiter tracks at most maxEntries sources under 100k (IPv4 and IPv6 /64) and forgets idle ones', () => {
    const rl = new RateLimiter();
    const ip6 = new Uint8Array(16);
    let peak = 0;
    for (let i = 0; i < N; i++) {
      if (i & 1) rl.allow(Uint8Array.of(100, (i >> 16) & 255, (i >> 8) & 255, i & 255), i / 100);
      else {
        ip6.set([0x20, 0x01, 0x0d, 0xb8, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
        rl.allow(ip6, i / 100);
      }
      if ((i & 1023) === 0) peak = Math.max(peak, rl.size);
    }
    expect(rl.size).toBeLessThanOrEqual(65536);
    expect(peak).toBeLessThanOrEqual(65536);
    rl.allow(Uint8Array.of(1, 2, 3, 4), N / 100 + 5000);
    expect(rl.size).toBe(1);
  });

  it('100k packets for a peer without a session stay within the staged queue', () => {
    const p = makePair(nodeCrypto);
    p.sim.filter = () => false; // the handshake never completes
    for (let i = 0; i < N; i++) p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 16), p.sim.now + i / 100);
    expect(p.peerB.stagedCount).toBe(MAX_STAGED_PACKETS);
    expect(p.peerB.stagedDropped).toBe(N - MAX_STAGED_PACKETS);
    expect(p.a.device.stats.initiationsSent).toBeLessThanOrEqual(1 + N / 100 / 5000 + 1);
    expect(p.a.device.indexCount).toBeLessThanOrEqual(1);
  });
});

describe('Stack under a flood', () => {
  const LIMITS = { reassemblyMaxBytes: 64 * 1024, reassemblyMaxDatagrams: 64, reassemblyMaxFragments: 16, maxUdpEndpoints: 256 };
  function stackWith(tcpOpts: { maxHalfOpen: number; maxConnections: number }) {
    const link = new ChannelEndpoint({ mtu: 1420, queueSize: 64 });
    const stack = new Stack({ seed: 1, ...LIMITS });
    stack.createNic(1, link);
    stack.addAddress(1, '10.0.0.1/24');
    stack.addAddress(1, 'fd00::1/64');
    stack.addRoute('0.0.0.0/0', 1);
    stack.addRoute('::/0', 1);
    stack.setPromiscuous(1, true);
    stack.setTransportProtocolHandler(17, new UdpForwarder(stack.udp, (r) => (r.createEndpoint().send(r.payload), true)).handlePacket);
    const tcp = new TcpProtocol({ isnSecret: new Uint8Array(16), ...tcpOpts });
    stack.registerTransportProtocol(6, tcp);
    tcp.listen(80);
    stack.setTransportProtocolHandler(6, new TcpForwarder(tcp, (req) => void req.accept()).handlePacket);
    return { stack, link, tcp };
  }
  const src4 = (i: number) => Uint8Array.of(10, 0, 0, 2 + (i % 250));
  const L4 = Uint8Array.of(10, 0, 0, 1);

  it('100k IPv4 and IPv6 fragments of never-completed datagrams stay within the reassembly limits', () => {
    const { stack, link } = stackWith({ maxHalfOpen: 64, maxConnections: 256 });
    const body = new Uint8Array(200).fill(0xab);
    const src6 = Uint8Array.from([0xfd, 0, ...new Array(13).fill(0), 2]);
    const dst6 = Uint8Array.from([0xfd, 0, ...new Array(13).fill(0), 1]);
    const frag6 = new Uint8Array(8 + 200);
    let peakBytes = 0;
    let peakDatagrams = 0;
    for (let i = 0; i < N; i++) {
      let pkt: Uint8Array;
      if (i & 1) {
        pkt = buildIpv4({ ttl: 64, protocol: 17, src: src4(i), dst: L4, id: i & 0xffff, moreFragments: true, fragmentOffset: (i % 7) * 208 }, body);
      } else {
        frag6.set([17, 0, (((i % 7) * 26) << 3) >> 8, ((((i % 7) * 26) << 3) & 0xf8) | 1, 0, 0, (i >> 8) & 0xff, i & 0xff]);
        pkt = buildIpv6({ nextHeader: 44, hopLimit: 64, src: src6, dst: dst6 }, frag6);
      }
      link.injectInbound(pkt, i);
      if ((i & 255) === 0) {
        link.drain();
        peakBytes = Math.max(peakBytes, stack.reassembler4.bytesInUse, stack.reassembler6.bytesInUse);
        peakDatagrams = Math.max(peakDatagrams, stack.reassembler4.inProgress, stack.reassembler6.inProgress);
      }
    }
    console.log(`fragments: reassembly peak ${peakBytes} bytes, ${peakDatagrams} datagrams (limits ${LIMITS.reassemblyMaxBytes}, ${LIMITS.reassemblyMaxDatagrams})`);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThanOrEqual(LIMITS.reassemblyMaxBytes);
    expect(peakDatagrams).toBeLessThanOrEqual(LIMITS.reassemblyMaxDatagrams);
    expect(link.queued).toBeLessThanOrEqual(64);
  });

  it('30k UDP flows and TCP SYNs from distinct ports stay within endpoint and half-open limits', () => {
    const { stack, link, tcp } = stackWith({ maxHalfOpen: 128, maxConnections: 512 });
    const seg = new Uint8Array(24);
    const h = newTcpHeader();
    let peakUdp = 0;
    let peakConn = 0;
    let peakHalf = 0;
    let peakTimers = 0;
    for (let i = 0; i < FLOWS; i++) {
      const src = src4(i);
      const dst = Uint8Array.of(10, 0, 0, 1 + (i % 3) * 50); // own address and promiscuous ones
      let pkt: Uint8Array;
      if (i & 1) {
        pkt = buildIpv4({ ttl: 64, protocol: 17, src, dst, id: i & 0xffff }, buildUdp(src, dst, 1024 + (i % 60000), 53, Uint8Array.of(1, 2, 3)));
      } else {
        h.srcPort = 1024 + (i % 60000);
        h.dstPort = 80 + (i % 5);
        h.seq = (i * 2654435761) >>> 0;
        h.flags = TCP_SYN;
        h.window = 65535;
        h.mss = 1380;
        const n = writeTcpHeader(seg, 0, h);
        setTcpChecksum(seg.subarray(0, n), src, dst);
        pkt = buildIpv4({ ttl: 64, protocol: 6, src, dst, id: i & 0xffff }, seg.subarray(0, n));
      }
      link.injectInbound(pkt, i / 10);
      if ((i & 255) === 0) {
        link.drain();
        stack.tick(i / 10);
        peakUdp = Math.max(peakUdp, stack.udp.endpointCount);
        peakConn = Math.max(peakConn, tcp.core.connectionCount);
        peakHalf = Math.max(peakHalf, tcp.core.halfOpenCount);
        peakTimers = Math.max(peakTimers, tcp.core.timerEntries);
      }
    }
    console.log(`flows: UDP endpoints peak ${peakUdp} (limit ${LIMITS.maxUdpEndpoints}), TCP connections peak ${peakConn} (limit 512), half-open peak ${peakHalf} (limit 128), timer entries peak ${peakTimers}`);
    expect(peakUdp).toBeGreaterThan(0);
    expect(peakUdp).toBeLessThanOrEqual(LIMITS.maxUdpEndpoints);
    expect(peakHalf).toBeGreaterThan(0);
    expect(peakHalf).toBeLessThanOrEqual(128);
    expect(peakConn).toBeLessThanOrEqual(512);
    expect(peakTimers).toBeLessThanOrEqual(4 * 512 + 64);
    expect(link.queued).toBeLessThanOrEqual(64);
  });
});
