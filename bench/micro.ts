/**
 * Micro benchmark of the sans-I/O WireGuard core, per crypto backend:
 * - handshakes/s: initiation + response created and processed through two
 *   Devices (mac1, DH, AEAD, index table, keypair install), plus the
 *   confirming keepalive;
 * - encrypt / decrypt MB/s of 1420-byte IP packets through Device.sendPacket
 *   and Device.receiveDatagram (routing, padding, AEAD, replay, AllowedIPs).
 * Build: npx tsc -p . ; run: node dist/bench/micro.js [seconds-per-figure]
 */
import { nobleCrypto, nodeCrypto } from '../src/crypto/index.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { parseCidr } from '../src/wireguard/allowedips.js';
import { Device, type Endpoint } from '../src/wireguard/device.js';
import type { Peer } from '../src/wireguard/peer.js';

const seconds = Number(process.argv[2] ?? '1.5');
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

function handshakesPerSecond(crypto: CryptoProvider): number {
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

function ipv4(len: number): Uint8Array {
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

function dataPath(crypto: CryptoProvider): { encrypt: number; decrypt: number } {
  const r = rig(crypto);
  const now = T0;
  const pkt = ipv4(1420);
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
  start = performance.now();
  let spent = 0;
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
  if (r.b.stats.rxPackets < m) throw new Error(`decrypt bench: ${r.b.stats.rxPackets} < ${m} delivered`);
  return { encrypt, decrypt };
}

for (const crypto of [nodeCrypto, nobleCrypto]) {
  const hs = handshakesPerSecond(crypto);
  console.log(`handshakes/s      ${crypto.name.padEnd(6)} ${hs.toFixed(0)}`);
  const d = dataPath(crypto);
  console.log(`encrypt MB/s      ${crypto.name.padEnd(6)} ${d.encrypt.toFixed(1)}  (1420-byte packets, Device.sendPacket)`);
  console.log(`decrypt MB/s      ${crypto.name.padEnd(6)} ${d.decrypt.toFixed(1)}  (1420-byte packets, Device.receiveDatagram)`);
}
