/**
 * Two Devices under a fake clock over a simulated channel (harness.ts):
 * the protocol behaviours of protocol.md, checked on the bytes and times of
 * what goes over the wire.
 */
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import {
  KEEPALIVE_TIMEOUT,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
  SEND_COUNTER_LIMIT,
  ZERO_KEY_MATERIAL_AFTER,
} from '../../src/wireguard/constants.js';
import { readU32, writeU32 } from '../../src/wireguard/messages.js';
import { Device, type Peer } from '../../src/wireguard/device.js';
import { T0, ipv4Packet, ipv6Packet, keyFrom, makePair, prng, randomBytesFrom, type Pair } from './harness.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const A_IP = '10.0.0.1';
const B_IP = '10.0.0.2';

/** Handshake A→B by sending one packet, and deliver it. */
function establish(p: Pair, payload = 8): Uint8Array {
  const pkt = ipv4Packet(A_IP, B_IP, payload);
  p.a.device.sendPacket(pkt, p.sim.now);
  p.sim.advance(50);
  return pkt;
}

/** Sends one packet A→B now and captures its transport datagram instead of delivering it. */
function sendHeld(p: Pair): Uint8Array {
  let held: Uint8Array | null = null;
  p.sim.filter = (d) => {
    if (d.from === 'A' && d.data[0] === 4 && !held) {
      held = d.data;
      return false;
    }
    return true;
  };
  p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
  p.sim.filter = null;
  expect(held).not.toBeNull();
  return held!;
}

describe.each([
  ['node', nodeCrypto],
  ['noble', nobleCrypto],
] as const)('Device pair (%s backend)', (_name, crypto) => {
  it('handshakes on demand and carries data both ways, padded, with exact bytes', () => {
    const p = makePair(crypto);
    const pkt = establish(p, 21);
    expect(p.a.sentOfType(1)).toHaveLength(1);
    expect(p.b.sentOfType(2)).toHaveLength(1);
    expect(p.a.sentOfType(1)[0]!.data.length).toBe(148);
    expect(p.b.sentOfType(2)[0]!.data.length).toBe(92);
    // the staged packet went out after the response: 16 + pad16(41)=48 + 16
    const data = p.a.sentOfType(4);
    expect(data).toHaveLength(1);
    expect(data[0]!.data.length).toBe(16 + 48 + 16);
    expect(p.b.delivered).toHaveLength(1);
    expect(toHex(p.b.delivered[0]!.packet)).toBe(toHex(pkt));
    expect(p.b.delivered[0]!.peer).toBe(p.peerA);
    // both sides saw the handshake complete (B on key confirmation)
    expect(p.a.handshakes).toHaveLength(1);
    expect(p.b.handshakes).toHaveLength(1);
    expect(p.peerB.lastHandshakeTime).toBeGreaterThan(T0);
    // B learned A's endpoint from the handshake and answers (IPv6 this time)
    const back = ipv6Packet('fd00::2', 'fd00::1', 100);
    p.b.device.sendPacket(back, p.sim.now);
    p.sim.advance(10);
    expect(p.a.delivered).toHaveLength(1);
    expect(toHex(p.a.delivered[0]!.packet)).toBe(toHex(back));
    expect(p.b.device.stats.txPackets).toBe(1);
    expect(p.peerB.txBytes).toBe(148 + 80);
    expect(p.peerA.rxBytes).toBe(148 + 80);
    expect(p.peerB.hasLiveSession(p.sim.now)).toBe(true);
    expect(p.peerA.hasLiveSession(p.sim.now)).toBe(true);
    expect(Object.values(p.a.device.stats.dropped).reduce((x, y) => x + y, 0)).toBe(0);
    expect(Object.values(p.b.device.stats.dropped).reduce((x, y) => x + y, 0)).toBe(0);
  });

  it('pads to a multiple of 16 but not past the MTU, and trims the inner packet to its IP length', () => {
    const p = makePair(crypto, { mtu: 1420 });
    establish(p);
    const before = p.a.sentOfType(4).length;
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP, 1418 - 20), p.sim.now); // 1418 bytes → 1420 (capped at MTU)
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP, 1420 - 20), p.sim.now); // exactly MTU
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP, 0), p.sim.now); // 20 → 32
    p.sim.advance(10);
    const sizes = p.a.sentOfType(4).slice(before).map((s) => s.data.length);
    expect(sizes).toEqual([1420 + 32, 1420 + 32, 32 + 32]);
    expect(p.b.delivered.slice(1).map((d) => d.packet.length)).toEqual([1418, 1420, 20]);
  });

  it('delivers through a lossy, duplicating, reordering channel and drops the duplicates as replays', () => {
    const p = makePair(crypto, { channel: { delay: 5, jitter: 10, loss: 0.1, duplicate: 0.3, reorder: 0.3 }, seed: 3 });
    for (let i = 0; i < 200; i++) {
      p.a.device.sendPacket(ipv4Packet(A_IP, B_IP, new Uint8Array([i >> 8, i & 0xff, 1, 2])), p.sim.now);
      p.sim.advance(20);
    }
    p.sim.advance(30_000);
    const got = p.b.delivered.map((d) => (d.packet[20]! << 8) | d.packet[21]!);
    // no packet delivered twice, most arrive (10 % loss, handshake retries queue the rest)
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBeGreaterThan(150);
    expect(p.b.device.stats.dropped.replay).toBeGreaterThan(0);
    expect(p.b.device.stats.dropped['decrypt-failed']).toBe(0);
  });

  it('rekeys after 120 s on send, by the initiator only', () => {
    const p = makePair(crypto);
    establish(p);
    const hs0 = p.a.sentOfType(1).length;
    // traffic both ways every 5 s for 119 s: no new handshake
    for (let t = 5_000; t < REKEY_AFTER_TIME; t += 5_000) {
      p.sim.advance(5_000);
      p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
      p.b.device.sendPacket(ipv4Packet(B_IP, A_IP), p.sim.now);
    }
    p.sim.advance(10);
    expect(p.a.sentOfType(1)).toHaveLength(hs0);
    expect(p.b.sentOfType(1)).toHaveLength(0);
    // B (responder) sending past 120 s does not rekey
    p.sim.advance(REKEY_AFTER_TIME - (p.sim.now - p.a.handshakes[0]!.at) + 1_000);
    p.b.device.sendPacket(ipv4Packet(B_IP, A_IP), p.sim.now);
    p.sim.advance(10);
    expect(p.b.sentOfType(1)).toHaveLength(0);
    expect(p.a.sentOfType(1)).toHaveLength(hs0);
    // A sending past 120 s does
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(50);
    expect(p.a.sentOfType(1)).toHaveLength(hs0 + 1);
    expect(p.b.sentOfType(1)).toHaveLength(0);
    expect(p.a.handshakes).toHaveLength(2);
    // the old session stays usable as previous: the packet sent with it arrived
    expect(p.b.delivered.length).toBe(1 + 23 + 1);
  });

  it('stops using a keypair after 180 s (send: re-handshake; receive: drop)', () => {
    const p = makePair(crypto);
    establish(p);
    const created = p.a.handshakes[0]!.at;
    // hold back one A→B transport datagram made now
    const held = sendHeld(p);
    p.sim.runUntil(created + REJECT_AFTER_TIME + 1);
    expect(p.peerA.hasLiveSession(p.sim.now)).toBe(false);
    p.sim.inject(held, p.a.endpoint, p.b.endpoint);
    p.sim.advance(1);
    expect(p.b.device.stats.dropped['expired-keypair']).toBe(1);
    // sending on the expired keypair starts a handshake instead
    const inits = p.a.sentOfType(1).length;
    const data = p.a.sentOfType(4).length;
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    expect(p.a.sentOfType(1)).toHaveLength(inits + 1);
    expect(p.a.sentOfType(4)).toHaveLength(data);
    p.sim.advance(50);
    expect(p.a.sentOfType(4).length).toBe(data + 1); // the staged packet, on the new keypair
    expect(p.b.delivered).toHaveLength(2);
  });

  it('initiator re-handshakes once when it receives on a keypair older than 165 s', () => {
    const p = makePair(crypto);
    establish(p);
    const created = p.a.handshakes[0]!.at;
    p.sim.runUntil(created + 164_000);
    p.b.device.sendPacket(ipv4Packet(B_IP, A_IP), p.sim.now);
    p.sim.advance(5);
    const inits = p.a.sentOfType(1).length;
    expect(inits).toBe(1);
    p.sim.runUntil(created + 165_001);
    p.b.device.sendPacket(ipv4Packet(B_IP, A_IP), p.sim.now);
    p.sim.advance(1);
    const sent = p.a.sentOfType(1);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.at).toBe(created + 165_001 + 1);
    p.sim.advance(50);
    expect(p.a.handshakes).toHaveLength(2);
    expect(p.b.sentOfType(1)).toHaveLength(0);
  });

  it('counts an initiation from an unknown key, a bad mac1, and garbage, without answering', () => {
    const p = makePair(crypto);
    const c = p.sim.addNode('C', { address: '192.0.2.3', port: 51820 }, 303);
    c.device.setPrivateKey(crypto.generatePrivateKey());
    const toB = c.device.addPeer(p.b.device.publicKey!);
    toB.setEndpoint(p.b.endpoint);
    c.device.allowedIPs.insert(Uint8Array.of(10, 0, 0, 2), 32, toB);
    c.device.sendPacket(ipv4Packet('10.0.0.3', B_IP), p.sim.now);
    p.sim.advance(5);
    expect(p.b.device.stats.dropped['unknown-peer']).toBe(1);
    const init = Uint8Array.from(c.sentOfType(1)[0]!.data);
    init[120]! ^= 1;
    p.sim.inject(init, c.endpoint, p.b.endpoint);
    p.sim.inject(new Uint8Array([1, 0, 0, 0, 5]), c.endpoint, p.b.endpoint);
    p.sim.advance(5);
    expect(p.b.device.stats.dropped.mac1).toBe(1);
    expect(p.b.device.stats.dropped.malformed).toBe(1);
    expect(p.b.sent).toHaveLength(0);
  });

  it('converges when both sides initiate at the same moment', () => {
    const p = makePair(crypto, { bKnowsA: true, channel: { delay: 10 } });
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP, 1), p.sim.now);
    p.b.device.sendPacket(ipv4Packet(B_IP, A_IP, 2), p.sim.now);
    p.sim.advance(20_000);
    expect(p.a.delivered).toHaveLength(1);
    expect(p.b.delivered).toHaveLength(1);
    expect(p.peerA.hasLiveSession(p.sim.now)).toBe(true);
    expect(p.peerB.hasLiveSession(p.sim.now)).toBe(true);
    expect(p.a.device.stats.dropped.internal + p.b.device.stats.dropped.internal).toBe(0);
  });

  it('draws randomness in pooled chunks, not per handshake message, and gives out distinct indices and ephemerals', () => {
    let now = T0;
    const draws: number[] = [];
    const src = randomBytesFrom(prng(9));
    const recording = (n: number): Uint8Array => {
      draws.push(n);
      return src(n);
    };
    const epA = { address: '192.0.2.1', port: 1 };
    const epB = { address: '192.0.2.2', port: 2 };
    const initiations: Uint8Array[] = [];
    // eslint-disable-next-line prefer-const
    let a: Device, b: Device;
    a = new Device({
      crypto,
      random: recording,
      io: {
        sendDatagram: (d) => {
          if (d[0] === 1) initiations.push(Uint8Array.from(d));
          b.receiveDatagram(d, epA, now);
        },
        deliverPacket: () => undefined,
      },
    });
    b = new Device({ crypto, random: randomBytesFrom(prng(10)), io: { sendDatagram: (d) => a.receiveDatagram(d, epB, now), deliverPacket: () => undefined } });
    const ka = keyFrom(11, crypto);
    const kb = keyFrom(22, crypto);
    a.setPrivateKey(ka.priv);
    b.setPrivateKey(kb.priv);
    const pb: Peer = a.addPeer(kb.pub);
    b.addPeer(ka.pub);
    pb.setEndpoint(epB);
    a.allowedIPs.insert(Uint8Array.of(10, 0, 0, 2), 32, pb);
    for (let i = 0; i < 20; i++) {
      now += REJECT_AFTER_TIME + 1000; // every session expired: each packet needs a new handshake
      a.sendPacket(ipv4Packet(A_IP, B_IP, new Uint8Array([i])), now);
    }
    expect(initiations).toHaveLength(20);
    expect(a.stats.handshakesCompleted).toBe(20);
    // 20 initiations need 20 × (4-byte index + 32-byte ephemeral): a few pooled draws, no small ones.
    expect(draws.filter((n) => n < 32)).toEqual([]);
    expect(draws.length).toBeLessThanOrEqual(6);
    const senders = new Set(initiations.map((m) => readU32(m, 4)));
    const ephemerals = new Set(initiations.map((m) => Buffer.from(m.subarray(8, 40)).toString('hex')));
    expect(senders.size).toBe(20);
    expect(ephemerals.size).toBe(20);
  });

  it('works when the IO answers synchronously (two devices wired directly, echoing from deliverPacket)', () => {
    let now = T0;
    const epA = { address: '192.0.2.1', port: 1 };
    const epB = { address: '192.0.2.2', port: 2 };
    const echoed: number[] = [];
    const sentA: number[] = [];
    // eslint-disable-next-line prefer-const
    let a: Device, b: Device;
    a = new Device({
      crypto,
      random: randomBytesFrom(prng(1)),
      io: {
        sendDatagram: (d) => {
          sentA.push(d[0]!);
          b.receiveDatagram(d, epA, now);
        },
        deliverPacket: (pkt) => echoed.push(pkt[20]!),
      },
    });
    b = new Device({
      crypto,
      random: randomBytesFrom(prng(2)),
      io: {
        sendDatagram: (d) => a.receiveDatagram(d, epB, now),
        deliverPacket: (pkt) => {
          // echo: swap addresses and send back from inside the callback
          const r = Uint8Array.from(pkt);
          r.set(pkt.subarray(16, 20), 12);
          r.set(pkt.subarray(12, 16), 16);
          b.sendPacket(r, now);
        },
      },
    });
    const ka = keyFrom(11, crypto);
    const kb = keyFrom(22, crypto);
    a.setPrivateKey(ka.priv);
    b.setPrivateKey(kb.priv);
    const pb: Peer = a.addPeer(kb.pub);
    const pa: Peer = b.addPeer(ka.pub);
    pb.setEndpoint(epB);
    a.allowedIPs.insert(Uint8Array.of(10, 0, 0, 2), 32, pb);
    b.allowedIPs.insert(Uint8Array.of(10, 0, 0, 1), 32, pa);
    for (let i = 0; i < 5; i++) a.sendPacket(ipv4Packet(A_IP, B_IP, new Uint8Array([i])), now);
    expect(echoed).toEqual([0, 1, 2, 3, 4]);
    // no retransmission is pending after the synchronous handshake
    for (; now < T0 + 30_000; now += 100) {
      a.tick(now);
      b.tick(now);
    }
    expect(sentA.filter((t) => t === 1)).toHaveLength(1);
  });

  it('uses the preshared key: equal keys handshake, different keys fail at the initiator', () => {
    const psk = new Uint8Array(32).fill(9);
    const ok = makePair(crypto, { psk });
    establish(ok);
    expect(ok.b.delivered).toHaveLength(1);
    expect(ok.peerB.presharedKey).toEqual(psk);
    const bad = makePair(crypto, { psk });
    bad.peerA.setPresharedKey(new Uint8Array(32).fill(8));
    establish(bad);
    expect(bad.b.sentOfType(2)).toHaveLength(1); // the responder cannot tell
    expect(bad.a.device.stats.dropped['handshake-invalid']).toBe(1);
    expect(bad.b.delivered).toHaveLength(0);
    bad.peerA.setPresharedKey(null);
    expect(bad.peerA.presharedKey).toBeNull();
  });

  it('carries jumbo packets (MTU 34000)', () => {
    const p = makePair(crypto, { mtu: 34000 });
    const big = ipv4Packet(A_IP, B_IP, 33000 - 20);
    p.a.device.sendPacket(big, p.sim.now);
    p.sim.advance(50);
    expect(p.a.sentOfType(4)[0]!.data.length).toBe(16 + 33008 + 16);
    expect(p.b.delivered).toHaveLength(1);
    expect(Buffer.from(p.b.delivered[0]!.packet).equals(Buffer.from(big))).toBe(true);
  });

  it('retries an unanswered initiation every 5 s + ≤333 ms jitter and gives up after 20 tries', () => {
    const p = makePair(crypto);
    p.sim.filter = (d) => d.from !== 'A'; // B never hears A
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(200_000);
    const times = p.a.sentOfType(1).map((s) => s.at);
    // wireguard-go: 1 initiation + MaxTimerHandshakes+1 retries = 20
    expect(times).toHaveLength(20);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      expect(gap).toBeGreaterThanOrEqual(REKEY_TIMEOUT);
      expect(gap).toBeLessThan(REKEY_TIMEOUT + 334);
    }
    // each retry used a fresh ephemeral and index
    expect(new Set(p.a.sentOfType(1).map((s) => toHex(s.data.subarray(8, 40)))).size).toBe(20);
    expect(p.peerB.stagedCount).toBe(0); // flushed on give-up
    expect(p.a.device.indexCount).toBe(1);
    // key material residue wiped 540 s after giving up
    p.sim.advance(ZERO_KEY_MATERIAL_AFTER);
    expect(p.a.device.indexCount).toBe(0);
    // new data starts a new attempt
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    expect(p.a.sentOfType(1)).toHaveLength(21);
  });

  it('sends a passive keepalive 10 s after receiving data when it had nothing to send', () => {
    const p = makePair(crypto);
    establish(p);
    const t = p.b.delivered[0]!.at;
    p.sim.advance(30_000);
    const ka = p.b.keepalivesSent();
    expect(ka).toHaveLength(1);
    expect(ka[0]!.at).toBe(t + KEEPALIVE_TIMEOUT);
    expect(p.a.device.stats.rxKeepalives).toBe(1);
    // A sent a keepalive? No: it received only a keepalive, not data
    expect(p.a.keepalivesSent()).toHaveLength(0);
  });

  it('persistent keepalive: starts a handshake when enabled, then keeps the path alive every N s of silence', () => {
    const p = makePair(crypto);
    p.peerB.setPersistentKeepalive(25, p.sim.now);
    expect(p.a.sentOfType(1)).toHaveLength(1); // no session yet: handshake
    p.sim.advance(100_000);
    const ka = p.a.keepalivesSent().map((s) => s.at - T0);
    // first keepalive right after the handshake (confirms it), then every 25 s
    expect(ka.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < ka.length; i++) expect(ka[i]! - ka[i - 1]!).toBe(25_000);
    expect(p.b.handshakes).toHaveLength(1);
    // with a session, enabling it again (0 → N) sends a keepalive at once
    p.peerB.setPersistentKeepalive(0, p.sim.now);
    const n = p.a.keepalivesSent().length;
    p.peerB.setPersistentKeepalive(7, p.sim.now);
    expect(p.a.keepalivesSent()).toHaveLength(n + 1);
  });

  it('starts a new handshake 15 s (+jitter) after data went unanswered', () => {
    const p = makePair(crypto);
    establish(p);
    // the first data armed the timer too; B's passive keepalive (at 10 s) disarms it
    p.sim.advance(11_000);
    expect(p.b.keepalivesSent()).toHaveLength(1);
    p.sim.filter = (d) => d.from !== 'B';
    const inits = p.a.sentOfType(1).length;
    const t = p.sim.now;
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), t);
    p.sim.advance(20_000);
    const next = p.a.sentOfType(1).slice(inits);
    expect(next.length).toBeGreaterThanOrEqual(1);
    expect(next[0]!.at - t).toBeGreaterThanOrEqual(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
    expect(next[0]!.at - t).toBeLessThan(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 334);
  });

  it('wipes all key material 540 s after the last handshake', () => {
    const p = makePair(crypto);
    establish(p);
    const created = p.a.handshakes[0]!.at;
    p.sim.runUntil(created + ZERO_KEY_MATERIAL_AFTER - 1);
    expect(p.peerB.keypairs.current).not.toBeNull();
    const kp = p.peerB.keypairs.current!;
    p.sim.runUntil(created + ZERO_KEY_MATERIAL_AFTER);
    expect(p.peerB.keypairs.current).toBeNull();
    expect(kp.wiped).toBe(true);
    expect(toHex(kp.sendKey)).toBe('00'.repeat(32));
    expect(p.a.device.indexCount).toBe(0);
    expect(p.b.device.indexCount).toBe(0);
    expect(p.peerA.keypairs.current).toBeNull();
  });

  it('roams: the endpoint follows the latest authenticated packet', () => {
    const p = makePair(crypto);
    establish(p);
    expect(p.peerA.endpoint).toEqual({ address: '192.0.2.1', port: 51820 });
    p.a.endpoint = { address: '2001:db8::7', port: 40000 };
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(10);
    expect(p.peerA.endpoint).toEqual({ address: '2001:db8::7', port: 40000 });
    p.b.device.sendPacket(ipv4Packet(B_IP, A_IP), p.sim.now);
    p.sim.advance(10);
    expect(p.b.sent.at(-1)!.to).toEqual({ address: '2001:db8::7', port: 40000 });
    expect(p.a.delivered).toHaveLength(1);
    // an unauthenticated packet from elsewhere does not move it
    const forged = Uint8Array.from(p.a.sentOfType(4).at(-1)!.data);
    forged[40]! ^= 0xff;
    p.sim.inject(forged, { address: '198.51.100.9', port: 1 }, p.b.endpoint);
    p.sim.advance(1);
    expect(p.peerA.endpoint).toEqual({ address: '2001:db8::7', port: 40000 });
    expect(p.b.device.stats.dropped['decrypt-failed']).toBe(1);
  });

  it('keeps the local address a peer reached (sticky source) and forgets it when a handshake is retried', () => {
    const p = makePair(crypto);
    establish(p);
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    const dgram = p.a.sentOfType(4).at(-1)!.data;
    p.b.device.receiveDatagram(dgram, { address: '192.0.2.1', port: 51820, localAddress: '192.0.2.2' }, p.sim.now);
    expect(p.peerA.endpoint).toEqual({ address: '192.0.2.1', port: 51820, localAddress: '192.0.2.2' });
    p.b.device.sendPacket(ipv4Packet(B_IP, A_IP), p.sim.now);
    expect(p.b.sent.at(-1)!.to.localAddress).toBe('192.0.2.2');
    // B's data goes unanswered: the new-handshake timer clears the pinned source
    p.sim.filter = (d) => d.from !== 'A';
    p.sim.advance(16_000);
    const retry = p.b.sentOfType(1).at(-1)!;
    expect(retry.to).toEqual({ address: '192.0.2.1', port: 51820 });
  });

  it('under load answers an initiation without mac2 with a cookie; the retry with mac2 succeeds', () => {
    const p = makePair(crypto, { underLoadThreshold: 0 });
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(50);
    expect(p.b.device.stats.cookieRepliesSent).toBe(1);
    expect(p.b.sentOfType(3)).toHaveLength(1);
    expect(p.b.sentOfType(3)[0]!.data.length).toBe(64);
    expect(p.a.device.stats.cookieRepliesReceived).toBe(1);
    expect(p.b.sentOfType(2)).toHaveLength(0);
    const first = p.a.sentOfType(1)[0]!.data;
    expect(toHex(first.subarray(132))).toBe('00'.repeat(16));
    // still under load at the retry (keep it so): mac2 now set, handshake proceeds
    p.sim.advance(REKEY_TIMEOUT + 400);
    const second = p.a.sentOfType(1)[1]!.data;
    expect(toHex(second.subarray(132))).not.toBe('00'.repeat(16));
    expect(p.b.sentOfType(2)).toHaveLength(1);
    expect(p.b.delivered).toHaveLength(1);
    // a cookie reply for an index we do not have, or tampered, is dropped
    const reply = Uint8Array.from(p.b.sentOfType(3)[0]!.data);
    reply[40]! ^= 1;
    p.sim.inject(reply, p.b.endpoint, p.a.endpoint);
    p.sim.advance(1);
    expect(p.a.device.stats.dropped['unknown-index'] + p.a.device.stats.dropped['cookie-invalid']).toBe(1);
  });

  it('under load with a valid mac2, rate-limits handshakes per source', () => {
    const p = makePair(crypto, { underLoadThreshold: 0 });
    establish(p);
    p.sim.advance(REKEY_TIMEOUT + 400); // cookie dance done, session up
    expect(p.b.delivered).toHaveLength(1);
    // replay A's last (mac2-valid) initiation many times from the same source
    const init = p.a.sentOfType(1).at(-1)!.data;
    for (let i = 0; i < 30; i++) p.sim.inject(init, p.a.endpoint, p.b.endpoint, p.sim.now);
    p.sim.advance(1);
    expect(p.b.device.stats.dropped['rate-limited']).toBeGreaterThan(20);
  });

  it('drops replayed and out-of-window transport messages', () => {
    const p = makePair(crypto);
    establish(p);
    const first = p.a.sentOfType(4)[0]!.data;
    p.sim.inject(first, p.a.endpoint, p.b.endpoint);
    p.sim.advance(1);
    expect(p.b.device.stats.dropped.replay).toBe(1);
    expect(p.b.delivered).toHaveLength(1);
    // make a message with counter 1 but hold it; jump the counter past the window
    const held = sendHeld(p);
    p.peerB.keypairs.current!.sendCounter = 20_000;
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(1);
    expect(p.b.delivered).toHaveLength(2);
    p.sim.inject(held, p.a.endpoint, p.b.endpoint);
    p.sim.advance(1);
    expect(p.b.delivered).toHaveLength(2);
    expect(p.b.device.stats.dropped.replay).toBe(2);
    // within the window, out of order is fine
    p.peerB.keypairs.current!.sendCounter = 19_990;
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(1);
    expect(p.b.delivered).toHaveLength(3);
  });

  it('drops a packet whose inner source is outside the peer’s AllowedIPs, and one that routes nowhere', () => {
    const p = makePair(crypto);
    establish(p);
    p.b.device.sendPacket(ipv4Packet('10.0.0.99', A_IP), p.sim.now);
    p.b.device.sendPacket(ipv6Packet('fd00::99', 'fd00::1'), p.sim.now);
    p.sim.advance(5);
    expect(p.a.delivered).toHaveLength(0);
    expect(p.a.device.stats.dropped['allowedips-src']).toBe(2);
    p.a.device.sendPacket(ipv4Packet(A_IP, '10.9.9.9'), p.sim.now);
    p.a.device.sendPacket(new Uint8Array([0x45, 1, 2]), p.sim.now);
    expect(p.a.device.stats.dropped['no-route']).toBe(1);
    expect(p.a.device.stats.dropped.malformed).toBe(1);
    // a decrypted inner packet whose IP length exceeds what arrived is invalid
    const bad = ipv4Packet(B_IP, A_IP, 10);
    bad[3] = 200;
    p.b.device.sendPacket(bad, p.sim.now);
    p.sim.advance(5);
    expect(p.a.device.stats.dropped['invalid-inner']).toBe(1);
  });

  it('exhausts the send counter near the limit and rejects wire counters ≥ 2^53', () => {
    const p = makePair(crypto);
    establish(p);
    p.sim.advance(REKEY_TIMEOUT + 1); // initiations are rate-limited to one per 5 s
    const kp = p.peerB.keypairs.current!;
    kp.sendCounter = SEND_COUNTER_LIMIT - 2;
    const inits = p.a.sentOfType(1).length;
    for (let i = 0; i < 3; i++) p.a.device.sendPacket(ipv4Packet(A_IP, B_IP, new Uint8Array([i])), p.sim.now);
    const sent = p.a.sentOfType(4).slice(-2);
    // the last two counters that may be used, then a new handshake with the third packet staged
    const ctr = (d: Uint8Array) => readU32(d, 8) + readU32(d, 12) * 2 ** 32;
    expect(sent.map((s) => ctr(s.data))).toEqual([SEND_COUNTER_LIMIT - 2, SEND_COUNTER_LIMIT - 1]);
    expect(p.a.sentOfType(1)).toHaveLength(inits + 1);
    expect(p.peerB.stagedCount).toBe(1);
    p.sim.advance(50);
    expect(p.b.delivered.slice(-3).map((d) => d.packet[20])).toEqual([0, 1, 2]);
    expect(p.b.delivered).toHaveLength(4);
    // receive side: counters at/above 2^53 are refused before decryption,
    // including one just under REJECT_AFTER_MESSAGES (2^64 - 2^13 - 1)
    const rk = p.peerB.keypairs.current!;
    const forge = (lo: number, hi: number) => {
      const pt = ipv4Packet(A_IP, B_IP, 12);
      const out = new Uint8Array(16 + pt.length + 16);
      out[0] = 4;
      writeU32(out, 4, rk.remoteIndex);
      writeU32(out, 8, lo);
      writeU32(out, 12, hi);
      crypto.seal(rk.sendKey, (BigInt(hi) << 32n) | BigInt(lo), pt, null, out, 16);
      return out;
    };
    p.sim.inject(forge(0xffffdffe, 0xffffffff), p.a.endpoint, p.b.endpoint);
    p.sim.inject(forge(0, 0x200000), p.a.endpoint, p.b.endpoint);
    p.sim.advance(1);
    expect(p.b.device.stats.dropped['counter-limit']).toBe(2);
    const n = p.b.delivered.length;
    p.sim.inject(forge(0xffffffff, 0x1fffff), p.a.endpoint, p.b.endpoint); // 2^53 - 1: accepted
    p.sim.advance(1);
    expect(p.b.delivered).toHaveLength(n + 1);
  });

  it('rejects a replayed initiation timestamp, and initiations closer than 20 ms', () => {
    const p = makePair(crypto);
    p.sim.filter = (d) => d.from !== 'A'; // capture A's initiations, deliver by hand
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(REKEY_TIMEOUT + 400); // a retry with a newer timestamp
    p.sim.filter = null;
    const [i1, i2] = p.a.sentOfType(1).map((s) => s.data);
    p.sim.inject(i1!, p.a.endpoint, p.b.endpoint);
    p.sim.advance(100);
    expect(p.b.sentOfType(2)).toHaveLength(1);
    p.sim.inject(i1!, p.a.endpoint, p.b.endpoint); // same timestamp again
    p.sim.advance(1);
    expect(p.b.device.stats.dropped['timestamp-replay']).toBe(1);
    expect(p.b.sentOfType(2)).toHaveLength(1);
    // i2 is newer, but arrives 10 ms after the last accepted initiation
    const b2 = makePair(crypto);
    b2.sim.now = p.sim.now;
    b2.sim.inject(i1!, p.a.endpoint, b2.b.endpoint);
    b2.sim.advance(0);
    b2.sim.inject(i2!, p.a.endpoint, b2.b.endpoint, b2.sim.now + 10);
    b2.sim.advance(15);
    expect(b2.b.device.stats.dropped['initiation-flood']).toBe(1);
    b2.sim.inject(i2!, p.a.endpoint, b2.b.endpoint, b2.sim.now + 20);
    b2.sim.advance(25);
    expect(b2.b.sentOfType(2)).toHaveLength(2);
  });

  it('bounds the staged queue at 1024 packets, dropping the oldest', () => {
    const p = makePair(crypto);
    p.sim.filter = () => false;
    for (let i = 0; i < 1100; i++) p.a.device.sendPacket(ipv4Packet(A_IP, B_IP, new Uint8Array([i >> 8, i & 0xff])), p.sim.now);
    expect(p.peerB.stagedCount).toBe(1024);
    expect(p.peerB.stagedDropped).toBe(76);
    p.sim.filter = null;
    p.sim.advance(REKEY_TIMEOUT + 400);
    expect(p.b.delivered).toHaveLength(1024);
    expect((p.b.delivered[0]!.packet[20]! << 8) | p.b.delivered[0]!.packet[21]!).toBe(76);
  });

  it('setPrivateKey recomputes, expires sessions and removes a peer with our own key', () => {
    const p = makePair(crypto);
    establish(p);
    const inits = p.a.sentOfType(1).length;
    // same key again: nothing happens
    p.a.device.setPrivateKey(Uint8Array.from(p.a.device.privateKey!));
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    expect(p.a.sentOfType(1)).toHaveLength(inits);
    // B's key as A's: peer B (now "ourselves") is removed
    const bKey = p.b.device.privateKey!;
    p.a.device.setPrivateKey(bKey);
    expect(p.a.device.getPeer(p.peerB.publicKey)).toBeUndefined();
    expect(p.a.device.allowedIPs.size).toBe(0);
    expect(p.a.device.indexCount).toBe(0);
    const dummy = p.a.device.addPeer(p.b.device.publicKey!);
    expect(dummy.dummy).toBe(true);
    expect(p.a.device.peerCount).toBe(0);
  });
});
