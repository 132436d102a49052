/**
 * Two Devices wired back to back in one process (fake clock, seeded
 * randomness), with an established session: the device fuzz target and the
 * seed generator both use it. Datagrams queue and are delivered by `pump()`,
 * never re-entrantly.
 */
import type { CryptoProvider } from '../src/crypto/provider.js';
import { defaultCrypto } from '../src/crypto/index.js';
import { parseCidr } from '../src/wireguard/allowedips.js';
import { Device, type Endpoint, type Peer } from '../src/wireguard/device.js';
import { prng } from './mutate.js';

export const T0 = 1_764_000_000_000;
export const EP_A: Endpoint = { address: '192.0.2.1', port: 51820 };
export const EP_B: Endpoint = { address: '192.0.2.2', port: 51820 };

function randomFrom(seed: number): (n: number) => Uint8Array {
  const r = prng(seed);
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
    return out;
  };
}

export function keyFromSeed(seed: number, crypto: CryptoProvider): { priv: Uint8Array; pub: Uint8Array } {
  const priv = randomFrom(seed)(32);
  priv[0]! &= 248;
  priv[31] = (priv[31]! & 127) | 64;
  return { priv, pub: crypto.publicKey(priv) };
}

export interface Wire {
  from: 'A' | 'B';
  data: Uint8Array;
}

export class DevicePair {
  now = T0;
  readonly a: Device;
  readonly b: Device;
  peerB: Peer; // A's view of B
  peerA: Peer; // B's view of A
  readonly keyA: { priv: Uint8Array; pub: Uint8Array };
  readonly keyB: { priv: Uint8Array; pub: Uint8Array };
  /** Every datagram sent, copied (the seed capture). */
  readonly captured: Wire[] = [];
  readonly deliveredToB: Uint8Array[] = [];
  /** Set false to stop recording deliveries (fuzzing: no growth). */
  recordDeliveries = true;
  capture = true;
  /** The first delivered packet that broke an invariant (see checkDelivered). */
  violation: string | null = null;
  private readonly queue: { to: 'A' | 'B'; from: Endpoint; data: Uint8Array }[] = [];

  constructor(crypto: CryptoProvider = defaultCrypto(), opts: { psk?: Uint8Array; underLoadThreshold?: number } = {}) {
    const mk = (name: 'A' | 'B', seed: number): Device =>
      new Device({
        crypto,
        random: randomFrom(seed),
        underLoadThreshold: opts.underLoadThreshold,
        io: {
          sendDatagram: (data) => {
            const copy = Uint8Array.from(data);
            if (this.capture) this.captured.push({ from: name, data: copy });
            if (this.queue.length < 256) this.queue.push({ to: name === 'A' ? 'B' : 'A', from: name === 'A' ? EP_A : EP_B, data: copy });
          },
          deliverPacket: (packet, peer) => {
            this.checkDelivered(name === 'A' ? this.a : this.b, packet, peer);
            if (name === 'B' && this.recordDeliveries) this.deliveredToB.push(Uint8Array.from(packet));
          },
        },
      });
    this.a = mk('A', 101);
    this.b = mk('B', 202);
    const ka = (this.keyA = keyFromSeed(11, crypto));
    const kb = (this.keyB = keyFromSeed(22, crypto));
    this.a.setPrivateKey(ka.priv);
    this.b.setPrivateKey(kb.priv);
    this.peerB = this.a.addPeer(kb.pub);
    this.peerA = this.b.addPeer(ka.pub);
    if (opts.psk) {
      this.peerA.setPresharedKey(opts.psk);
      this.peerB.setPresharedKey(opts.psk);
    }
    this.peerB.setEndpoint(EP_B);
    this.peerA.setEndpoint(EP_A);
    this.routes();
  }

  private routes(): void {
    const c = parseCidr;
    this.a.allowedIPs.insert(c('10.0.0.2/32').ip, 32, this.peerB);
    this.a.allowedIPs.insert(c('fd00::2/128').ip, 128, this.peerB);
    this.b.allowedIPs.insert(c('10.0.0.1/32').ip, 32, this.peerA);
    this.b.allowedIPs.insert(c('fd00::/64').ip, 64, this.peerA);
  }

  /** Puts the original configuration back (keys, peers, routes, endpoints; no PSK). */
  restoreConfig(): void {
    this.a.setPrivateKey(this.keyA.priv);
    this.b.setPrivateKey(this.keyB.priv);
    this.peerB = this.a.addPeer(this.keyB.pub);
    this.peerA = this.b.addPeer(this.keyA.pub);
    for (const p of [this.peerA, this.peerB]) p.setPresharedKey(null);
    this.peerB.setEndpoint(EP_B);
    this.peerA.setEndpoint(EP_A);
    this.routes();
  }

  /** Cryptokey routing as delivered: trimmed to the IP length, source within the sending peer's AllowedIPs. */
  private checkDelivered(dev: Device, packet: Uint8Array, peer: Peer): void {
    const v = packet[0]! >> 4;
    const ok =
      v === 4
        ? packet.length >= 20 && ((packet[2]! << 8) | packet[3]!) === packet.length && dev.allowedIPs.lookup(4, packet, 12) === peer
        : v === 6 && packet.length >= 40 && 40 + ((packet[4]! << 8) | packet[5]!) === packet.length && dev.allowedIPs.lookup(6, packet, 8) === peer;
    // Recorded, not thrown: the Device would catch a throw from its IO and count it as internal.
    if (!ok) this.violation ??= `delivered a packet that breaks cryptokey routing or its IP length (${packet.length} bytes)`;
  }

  /** Delivers queued datagrams (and what they cause) until quiet; bounded. */
  pump(max = 64): void {
    for (let i = 0; i < max && this.queue.length > 0; i++) {
      const d = this.queue.shift()!;
      (d.to === 'A' ? this.a : this.b).receiveDatagram(d.data, d.from, this.now);
    }
    this.queue.length = 0;
  }

  /** Runs timers at their exact deadlines (jitter matters: lockstep ticks can livelock two initiators). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      const next = Math.min(this.a.nextDeadline(), this.b.nextDeadline());
      if (next > end) break;
      this.now = Math.max(this.now, next);
      this.a.tick(this.now);
      this.b.tick(this.now);
      this.pump();
    }
    this.now = end;
    this.a.tick(this.now);
    this.b.tick(this.now);
    this.pump();
  }

  /** Handshake plus one packet each way: both sides hold a confirmed current keypair. */
  establish(): this {
    this.a.sendPacket(ipv4('10.0.0.1', '10.0.0.2', 17, new Uint8Array(12)), this.now);
    this.pump();
    this.b.sendPacket(ipv4('10.0.0.2', '10.0.0.1', 17, new Uint8Array(12)), this.now);
    this.pump();
    return this;
  }
}

export function ipv4(src: string, dst: string, proto: number, body: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + body.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = proto;
  p.set(parseCidr(src).ip, 12);
  p.set(parseCidr(dst).ip, 16);
  p.set(body, 20);
  return p;
}
