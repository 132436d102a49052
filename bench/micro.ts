/**
 * Micro benchmarks of the sans-I/O WireGuard core, per crypto backend:
 * - handshakes/s: initiation + response created and processed through two
 *   Devices (mac1, DH, AEAD, index table, keypair install), plus the
 *   confirming keepalive;
 * - encrypt / decrypt MB/s of 1420-byte IP packets through Device.sendPacket
 *   and Device.receiveDatagram (routing, padding, AEAD, replay, AllowedIPs);
 * - raw AEAD seal/open µs per packet size (the backend alone).
 * Standalone: node dist/bench/micro.js [seconds-per-figure] [--json]
 */
import { performance } from 'node:perf_hooks';
import { cryptoBackends, nobleCrypto, nodeCrypto } from '../src/crypto/index.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { parseCidr } from '../src/wireguard/allowedips.js';
import { Device, type Endpoint } from '../src/wireguard/device.js';
import type { Peer } from '../src/wireguard/peer.js';

const EP_A: Endpoint = { address: '192.0.2.1', port: 51820 };
const EP_B: Endpoint = { address: '192.0.2.2', port: 51820 };
const T0 = 1_764_000_000_000;

interface Rig {
  a: Device;
  b: Device;
  peerB: Peer;
  outbox: { from: Device; data: Uint8Array }[];
  delivered: number;
  keepCopies: boolean;
}

function rig(crypto: CryptoProvider): Rig {
  const r = { outbox: [], delivered: 0, keepCopies: true } as unknown as Rig;
  const io = (self: () => Device) => ({
    sendDatagram: (data: Uint8Array) => {
      if (r.keepCopies) r.outbox.push({ from: self(), data: Uint8Array.from(data) });
    },
    deliverPacket: () => {
      r.delivered++;
    },
  });
  r.a = new Device({ crypto, io: io(() => r.a) });
  r.b = new Device({ crypto, io: io(() => r.b) });
  r.a.setPrivateKey(crypto.generatePrivateKey());
  r.b.setPrivateKey(crypto.generatePrivateKey());
  r.peerB = r.a.addPeer(r.b.publicKey!);
  const peerA = r.b.addPeer(r.a.publicKey!);
  r.peerB.setEndpoint(EP_B);
  const c4 = (s: string) => parseCidr(s);
  r.a.allowedIPs.insert(c4('10.0.0.2/32').ip, 32, r.peerB);
  r.b.allowedIPs.insert(c4('10.0.0.1/32').ip, 32, peerA);
  return r;
}

/** Delivers queued datagrams until quiet. */
function pump(r: Rig, now: number): void {
  while (r.outbox.length > 0) {
    const d = r.outbox.shift()!;
    if (d.from === r.a) r.b.receiveDatagram(d.data, EP_A, now);
    else r.a.receiveDatagram(d.data, EP_B, now);
  }
}

/** Complete handshakes (both sides' work, one process) per second. */
export function handshakesPerSecond(crypto: CryptoProvider, seconds: number): number {
  const r = rig(crypto);
  let now = T0;
  let n = 0;
  const start = performance.now();
  const before = r.a.stats.handshakesCompleted;
  while (performance.now() - start < seconds * 1000) {
    // Every keypair is past REJECT_AFTER_TIME 200 s later: the keepalive needs a new handshake.
    now += 200_000;
    r.a.sendKeepalive(r.peerB, now);
    pump(r, now);
    n++;
  }
  const elapsed = (performance.now() - start) / 1000;
  if (r.a.stats.handshakesCompleted - before !== n || r.b.stats.handshakesCompleted !== n) throw new Error('handshake bench: not every handshake completed');
  return n / elapsed;
}

export function ipv4Packet(len: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set([10, 0, 0, 1], 12);
  p.set([10, 0, 0, 2], 16);
  for (let i = 20; i < len; i++) p[i] = i & 0xff;
  return p;
}

/** MB/s (10^6 bytes of inner packet per second) through Device.sendPacket and Device.receiveDatagram. */
export function dataPath(crypto: CryptoProvider, seconds: number, size = 1420): { encrypt: number; decrypt: number } {
  const r = rig(crypto);
  const now = T0;
  const pkt = ipv4Packet(size);
  r.a.sendPacket(pkt, now);
  pump(r, now);
  // encrypt: datagrams are not copied (the IO sink drops them)
  r.keepCopies = false;
  let n = 0;
  let start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 256; i++) r.a.sendPacket(pkt, now);
    n += 256;
  }
  const encrypt = (n * pkt.length) / ((performance.now() - start) / 1000) / 1e6;
  // decrypt: pre-encrypted distinct datagrams (the replay window refuses repeats)
  r.keepCopies = true;
  const batch = 4096;
  const dgrams: Uint8Array[] = [];
  let m = 0;
  let spent = 0;
  const rx0 = r.b.stats.rxPackets;
  while (spent < seconds * 1000) {
    r.outbox.length = 0;
    for (let i = 0; i < batch; i++) r.a.sendPacket(pkt, now);
    dgrams.length = 0;
    for (const d of r.outbox) dgrams.push(d.data);
    r.outbox.length = 0;
    const t = performance.now();
    for (const d of dgrams) r.b.receiveDatagram(d, EP_A, now);
    spent += performance.now() - t;
    m += dgrams.length;
  }
  const decrypt = (m * pkt.length) / (spent / 1000) / 1e6;
  if (r.b.stats.rxPackets - rx0 !== m) throw new Error(`decrypt bench: ${r.b.stats.rxPackets - rx0} of ${m} delivered`);
  return { encrypt, decrypt };
}

/** µs per seal and per open of `size` plaintext bytes with the backend alone. */
export function aeadMicros(crypto: CryptoProvider, size: number, seconds: number): { seal: number; open: number } {
  const key = new Uint8Array(32).fill(7);
  const pt = new Uint8Array(size).fill(1);
  const out = new Uint8Array(size + 16);
  const N = 512;
  const sealed: Uint8Array[] = [];
  for (let i = 0; i < N; i++) {
    const o = new Uint8Array(size + 16);
    crypto.seal(key, i, pt, null, o);
    sealed.push(o);
  }
  let n = 0;
  let t = performance.now();
  while (performance.now() - t < seconds * 500) {
    for (let i = 0; i < N; i++) crypto.seal(key, i, pt, null, out);
    n += N;
  }
  const seal = ((performance.now() - t) * 1000) / n;
  n = 0;
  t = performance.now();
  while (performance.now() - t < seconds * 500) {
    for (let i = 0; i < N; i++) if (crypto.open(key, i, sealed[i]!, null, out) !== size) throw new Error('open failed');
    n += N;
  }
  const open = ((performance.now() - t) * 1000) / n;
  return { seal, open };
}

export interface MicroResult {
  backend: string;
  handshakesPerSecond: number;
  encryptMBps: number;
  decryptMBps: number;
  aead: { size: number; sealUs: number; openUs: number }[];
}

export const AEAD_SIZES = [64, 512, 1420];

export function runMicro(crypto: CryptoProvider, seconds: number): MicroResult {
  const hs = handshakesPerSecond(crypto, crypto.name === 'noble' ? Math.min(seconds, 1) : seconds);
  const d = dataPath(crypto, seconds);
  const aead = AEAD_SIZES.map((size) => {
    const a = aeadMicros(crypto, size, seconds / 2);
    return { size, sealUs: a.seal, openUs: a.open };
  });
  return { backend: crypto.name, handshakesPerSecond: hs, encryptMBps: d.encrypt, decryptMBps: d.decrypt, aead };
}

const isMain = process.argv[1]?.endsWith('/micro.js') ?? false;
if (isMain) {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const seconds = Number(args.find((a) => !a.startsWith('--')) ?? '1.5');
  const only = process.env.BENCH_BACKEND;
  const backends = only ? [cryptoBackends[only]!] : [nodeCrypto, nobleCrypto];
  const results = backends.map((c) => runMicro(c, seconds));
  if (json) {
    console.log(JSON.stringify(results));
  } else {
    for (const r of results) {
      console.log(`handshakes/s      ${r.backend.padEnd(6)} ${r.handshakesPerSecond.toFixed(0)}`);
      console.log(`encrypt MB/s      ${r.backend.padEnd(6)} ${r.encryptMBps.toFixed(1)}  (1420-byte packets, Device.sendPacket)`);
      console.log(`decrypt MB/s      ${r.backend.padEnd(6)} ${r.decryptMBps.toFixed(1)}  (1420-byte packets, Device.receiveDatagram)`);
      for (const a of r.aead) console.log(`aead ${String(a.size).padStart(4)} B        ${r.backend.padEnd(6)} seal ${a.sealUs.toFixed(2)} µs  open ${a.openUs.toFixed(2)} µs`);
    }
  }
}
