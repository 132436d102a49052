/**
 * Measures the native AEAD prototype (bench/native-proto, built by hand with
 * node-gyp) against the node:crypto and noble backends: µs per packet for a
 * single call and for a batch per call, after checking that it produces the
 * same bytes as the node backend. Evidence for a batched-AEAD proposal to the
 * native addon; not part of `npm run bench`.
 *   cd bench/native-proto && node-gyp rebuild --nodedir=/usr ; node dist/bench/aead-proto.js
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nobleCrypto, nodeCrypto } from '../src/crypto/index.js';
import { ROOT } from './lib.js';
import { bestRate } from './micro.js';

interface Proto {
  seal1(key: Uint8Array, counter: number, buf: Uint8Array, offset: number, length: number): number;
  open1(key: Uint8Array, counter: number, buf: Uint8Array, offset: number, length: number): number;
  sealBatch(keys: Uint8Array, buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, counters: Float64Array, n: number): void;
  openBatch(keys: Uint8Array, buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, counters: Float64Array, n: number): void;
}

const proto = createRequire(import.meta.url)(join(ROOT, 'bench', 'native-proto', 'build', 'Release', 'aead_batch.node')) as Proto;

const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
const SECONDS = 0.6;

function check(size: number): void {
  const pt = new Uint8Array(size).map((_, i) => i & 0xff);
  const ref = new Uint8Array(size + 16);
  nodeCrypto.seal(key, 12345, pt, null, ref);
  const buf = new Uint8Array(size + 16);
  buf.set(pt);
  if (proto.seal1(key, 12345, buf, 0, size) !== size + 16 || Buffer.compare(buf, ref) !== 0) throw new Error(`seal mismatch at ${size}`);
  if (proto.open1(key, 12345, buf, 0, size + 16) !== size || Buffer.compare(buf.subarray(0, size), pt) !== 0) throw new Error(`open mismatch at ${size}`);
  buf[3]! ^= 1;
  buf.set(ref);
  buf[0]! ^= 1;
  if (proto.open1(key, 12345, buf, 0, size + 16) !== -1) throw new Error('tampered packet accepted');
}

function measure(size: number, batch: number): Record<string, number> {
  const pt = new Uint8Array(size).fill(1);
  const out = new Uint8Array(size + 16);
  const stride = size + 32;
  const buf = new Uint8Array(stride * batch);
  const offsets = new Int32Array(batch).map((_, i) => i * stride);
  const lengths = new Int32Array(batch);
  const counters = new Float64Array(batch).map((_, i) => i);
  const keys = new Uint8Array(32 * batch);
  for (let i = 0; i < batch; i++) keys.set(key, 32 * i);
  const us = (f: () => number): number => 1e6 / bestRate(SECONDS, () => {
    const t = performance.now();
    const units = f();
    return { units, ms: performance.now() - t };
  });
  const sealed = new Uint8Array(size + 16);
  nodeCrypto.seal(key, 0, pt, null, sealed);
  return {
    nodeSeal: us(() => {
      for (let i = 0; i < batch; i++) nodeCrypto.seal(key, i, pt, null, out);
      return batch;
    }),
    nobleSeal: us(() => {
      for (let i = 0; i < batch; i++) nobleCrypto.seal(key, i, pt, null, out);
      return batch;
    }),
    nativeSeal1: us(() => {
      for (let i = 0; i < batch; i++) {
        buf.set(pt, offsets[i]!);
        proto.seal1(key, i, buf, offsets[i]!, size);
      }
      return batch;
    }),
    nativeSealBatch: us(() => {
      for (let i = 0; i < batch; i++) {
        buf.set(pt, offsets[i]!);
        lengths[i] = size;
      }
      proto.sealBatch(keys, buf, offsets, lengths, counters, batch);
      return batch;
    }),
    nodeOpen: us(() => {
      for (let i = 0; i < batch; i++) nodeCrypto.open(key, 0, sealed, null, out);
      return batch;
    }),
    nativeOpenBatch: us(() => {
      for (let i = 0; i < batch; i++) {
        buf.set(sealed, offsets[i]!);
        lengths[i] = size + 16;
        counters[i] = 0;
      }
      proto.openBatch(keys, buf, offsets, lengths, counters, batch);
      if (lengths[0] !== size) throw new Error('open failed');
      return batch;
    }),
  };
}

for (const size of [64, 512, 1420]) check(size);
console.log('native prototype: same bytes as the node backend (64, 512, 1420 B); tampering refused');
for (const size of [64, 512, 1420]) {
  const m = measure(size, 64);
  console.log(`${String(size).padStart(4)} B  µs/packet: ` + Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('  '));
}
