import { it, expect } from 'vitest';
import { Pair } from './harness.js';
import { bulkBothWays } from './bulk.js';
/** Opt-in (WGTS_TCP_SOAK=1): 24 option/loss/MTU combinations up to 15 % loss, 1 MB each way. ~30 s. */
it.skipIf(!process.env.WGTS_TCP_SOAK)('soak: option and loss combinations', () => {
  const res: string[] = [];
  for (let seed = 1; seed <= 24; seed++) {
    const sack = seed % 2 === 0, ts = seed % 3 !== 0, ws = seed % 4 !== 0;
    const cfg = { sack, timestamps: ts, windowScaling: ws, congestion: (seed % 5 === 0 ? 'newreno' : 'cubic') as 'newreno' | 'cubic', receiveBufferSize: seed % 7 === 0 ? 20000 : 256 * 1024 };
    const loss = [0.02, 0.05, 0.1, 0.15][seed % 4]!;
    const p = new Pair({ fault: { seed, delayMs: 1 + (seed % 9), jitterMs: seed % 4, loss, duplicate: 0.02, reorder: 0.03 }, a: { config: cfg }, b: { config: { ...cfg, receiveBufferSize: 128 * 1024 } }, mtu: seed % 6 === 0 ? 576 : 1500 });
    const r = bulkBothWays(p, 1024 * 1024, 7_200_000);
    res.push(`${seed} loss=${loss} ${JSON.stringify(cfg)} ok=${r.finished && r.aTx === r.bRx && r.bTx === r.aRx} fake=${r.fakeMs} err=${r.errors}`);
  }
  console.log(res.join('\n'));
  expect(res.every((x) => x.includes('ok=true'))).toBe(true);
}, 300_000);
