/**
 * Table-size micro benchmarks, meant to run as child processes (clean heap
 * and RSS; `--expose-gc`):
 *   node dist/bench/tables.js allowedips   → lookups/s with 100 000 prefixes
 *   node dist/bench/tables.js peers [N]    → a Device with N (10 000) peers: configure time, RSS, heap
 * The last stdout line is JSON.
 */
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../src/crypto/index.js';
import { AllowedIPs } from '../src/wireguard/allowedips.js';
import { Device } from '../src/wireguard/device.js';

/** xorshift32: fixed seed, so every run builds the same table. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function memory(): { rssMiB: number; heapMiB: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rssMiB: m.rss / 2 ** 20, heapMiB: (m.heapUsed + m.external + m.arrayBuffers) / 2 ** 20 };
}

export interface AllowedIpsResult {
  prefixes: number;
  insertMs: number;
  lookupsPerSecond: number;
  hitRate: number;
  heapMiB: number;
}

/** 100 000 IPv4 prefixes (/16../32, 75 %) and IPv6 prefixes (/32../128, 25 %) over 1 000 values; lookups of random addresses inside them. */
export function allowedIpsBench(prefixes = 100_000, seconds = 1.5): AllowedIpsResult {
  const next = rng(42);
  const table = new AllowedIPs<number>();
  const v4: Uint8Array[] = [];
  const v6: Uint8Array[] = [];
  const before = memory();
  const t0 = performance.now();
  for (let i = 0; i < prefixes; i++) {
    if (i % 4 !== 3) {
      const ip = new Uint8Array(4);
      new DataView(ip.buffer).setUint32(0, next());
      ip[0] = 10 + (ip[0]! % 100);
      table.insert(ip, 16 + (next() % 17), i % 1000);
      v4.push(ip);
    } else {
      const ip = new Uint8Array(16);
      const dv = new DataView(ip.buffer);
      for (let w = 0; w < 4; w++) dv.setUint32(w * 4, next());
      ip[0] = 0xfd;
      table.insert(ip, 32 + (next() % 97), i % 1000);
      v6.push(ip);
    }
  }
  const insertMs = performance.now() - t0;
  const heapMiB = memory().heapMiB - before.heapMiB;
  // Queries: IPv4 packets (destination at offset 16) and IPv6 (offset 24), addresses near inserted prefixes.
  const Q = 8192;
  const q4 = new Uint8Array(Q * 20);
  const q6 = new Uint8Array(Q * 40);
  for (let i = 0; i < Q; i++) {
    const a = v4[next() % v4.length]!;
    q4.set(a, i * 20 + 16);
    q4[i * 20 + 19] = next() & 0xff;
    const b = v6[next() % v6.length]!;
    q6.set(b, i * 40 + 24);
    q6[i * 40 + 39] = next() & 0xff;
  }
  let hits = 0;
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < Q; i++) {
      if (table.lookup(4, q4, i * 20 + 16) !== undefined) hits++;
      if ((i & 3) === 3 && table.lookup(6, q6, i * 40 + 24) !== undefined) hits++;
    }
    n += Q + Q / 4;
  }
  const lookupsPerSecond = n / ((performance.now() - start) / 1000);
  return { prefixes, insertMs, lookupsPerSecond, hitRate: hits / n, heapMiB };
}

export interface PeersResult {
  peers: number;
  configureMs: number;
  rssMiB: number;
  rssBaseMiB: number;
  heapMiB: number;
}

/** A Device (node:crypto) with `count` peers, each with an endpoint and two allowed IPs (/32, /128). */
export function peersBench(count = 10_000): PeersResult {
  const crypto = nodeCrypto;
  const keys: Uint8Array[] = [];
  for (let i = 0; i < count; i++) keys.push(crypto.publicKey(crypto.generatePrivateKey()));
  const dev = new Device({ crypto, io: { sendDatagram() {}, deliverPacket() {} } });
  dev.setPrivateKey(crypto.generatePrivateKey());
  const base = memory();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const p = dev.addPeer(keys[i]!);
    p.setEndpoint({ address: `192.0.${(i >> 8) & 0xff}.${i & 0xff}`, port: 51820 });
    const v4 = new Uint8Array([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff]);
    dev.allowedIPs.insert(v4, 32, p);
    const v6 = new Uint8Array(16);
    v6[0] = 0xfd;
    v6[14] = (i >> 8) & 0xff;
    v6[15] = i & 0xff;
    dev.allowedIPs.insert(v6, 128, p);
  }
  const configureMs = performance.now() - t0;
  keys.length = 0;
  const after = memory();
  if (dev.peerCount !== count) throw new Error(`peers bench: ${dev.peerCount} peers`);
  return { peers: count, configureMs, rssMiB: after.rssMiB, rssBaseMiB: base.rssMiB, heapMiB: after.heapMiB - base.heapMiB };
}

const isMain = process.argv[1]?.endsWith('/tables.js') ?? false;
if (isMain) {
  const what = process.argv[2];
  if (what === 'allowedips') console.log(JSON.stringify(allowedIpsBench()));
  else if (what === 'peers') console.log(JSON.stringify(peersBench(Number(process.argv[3] ?? 10_000))));
  else {
    console.error('usage: tables.js allowedips | peers [N]');
    process.exit(2);
  }
}
