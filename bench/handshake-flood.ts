/**
 * A handshake-initiation flood through the sans-I/O Device, per crypto backend
 * (issue 10): forged initiations with a valid mac1 (anyone who knows the public
 * key can make them) from 64 source ports, the device under load, in process.
 * - cookie: µs per initiation answered with a cookie reply (mac1 check, mac2
 *   check, cookie, XChaCha20-Poly1305 seal), offered below the handshake budget;
 * - flood: µs per initiation at 100 000/s offered (the budget drops most unread);
 * - mac / xseal: the backend's keyed BLAKE2s over 116 bytes and a cookie seal.
 * Every figure is the best of short rounds. The interop counterpart (TCP kept
 * during a flood, vs wireguard-go) is interop/reliability.ts (FLOOD_PPS).
 * Standalone: node dist/bench/handshake-flood.js [seconds-per-figure]
 */
import { performance } from 'node:perf_hooks';
import { cryptoBackends } from '../src/crypto/index.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { mac1KeyFor } from '../src/wireguard/cookie.js';
import { Device, type Endpoint } from '../src/wireguard/device.js';
import { INITIATION_SIZE } from '../src/wireguard/messages.js';
import { nativeCrypto } from '../src/node/native-crypto.js';

const T0 = 1_764_000_000_000;
const seconds = Number(process.argv[2] ?? 0.5);

/** Best µs per call of `round(n)` (which runs n calls) over rounds of ~`seconds`/5. */
function bestMicros(round: (n: number) => void): number {
  let n = 256;
  for (;;) {
    const t = performance.now();
    round(n);
    if (performance.now() - t > 20) break;
    n *= 2;
  }
  let best = Infinity;
  const until = performance.now() + seconds * 1000;
  do {
    const t = performance.now();
    round(n);
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  } while (performance.now() < until);
  return best;
}

function rig(crypto: CryptoProvider): { dev: Device; msgs: Uint8Array[]; eps: Endpoint[]; replies: () => number } {
  let replies = 0;
  const dev = new Device({ crypto, io: { sendDatagram: (d) => void (d[0] === 3 && replies++), deliverPacket: () => undefined } });
  dev.setPrivateKey(crypto.generatePrivateKey());
  const key = mac1KeyFor(crypto, dev.publicKey!);
  const msgs = Array.from({ length: 64 }, () => {
    const m = crypto.randomBytes(INITIATION_SIZE);
    m[0] = 1;
    m[1] = m[2] = m[3] = 0;
    m.set(crypto.mac(key, m.subarray(0, INITIATION_SIZE - 32)), INITIATION_SIZE - 32);
    m.fill(0, INITIATION_SIZE - 16);
    return m;
  });
  const eps = Array.from({ length: 64 }, (_, i): Endpoint => Object.freeze({ address: '198.51.100.7', port: 40000 + i }));
  return { dev, msgs, eps, replies: () => replies };
}

const backends: CryptoProvider[] = [...Object.values(cryptoBackends)];
const native = nativeCrypto();
if (native) backends.unshift(native);

for (const crypto of backends) {
  // Below the budget (15 000/s offered): all answered.
  const a = rig(crypto);
  let now = T0;
  let i = 0;
  const cookie = bestMicros((n) => {
    for (let k = 0; k < n; k++, i++) a.dev.receiveDatagram(a.msgs[i & 63]!, a.eps[i & 63]!, (now += 1 / 15));
  });
  const answered = a.replies() / Math.max(1, i);
  // 100 000/s offered: most dropped before mac1 by the handshake budget.
  const b = rig(crypto);
  let now2 = T0;
  let j = 0;
  const flood = bestMicros((n) => {
    for (let k = 0; k < n; k++, j++) b.dev.receiveDatagram(b.msgs[j & 63]!, b.eps[j & 63]!, (now2 += 0.01));
  });
  const key = new Uint8Array(32).fill(1);
  const nonce = new Uint8Array(24).fill(2);
  const ck = new Uint8Array(16).fill(3);
  const msg = a.msgs[0]!.subarray(0, INITIATION_SIZE - 32);
  const mac = bestMicros((n) => {
    for (let k = 0; k < n; k++) crypto.mac(key, msg);
  });
  const xseal = bestMicros((n) => {
    for (let k = 0; k < n; k++) crypto.xseal(key, nonce, ck, msg.subarray(0, 16));
  });
  console.log(
    `${crypto.name.padEnd(7)} cookie ${cookie.toFixed(2)} µs/initiation (${(100 * answered).toFixed(0)} % answered)  ` +
      `flood@100k/s ${flood.toFixed(2)} µs/initiation (${((100 * b.replies()) / Math.max(1, j)).toFixed(0)} % answered)  mac ${mac.toFixed(2)} µs  xseal ${xseal.toFixed(2)} µs`,
  );
}
