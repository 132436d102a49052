/**
 * The handshake budget under load (DeviceOptions.handshakeBudget): wireguard-go
 * drops handshake messages unread when its handshake queue is full; the Device
 * caps the messages it looks at per second instead, so a flood costs a bounded
 * number of mac1 checks and cookie replies.
 */
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { mac1KeyFor } from '../../src/wireguard/cookie.js';
import { Device, DeviceError, HANDSHAKE_BUDGET, type Endpoint } from '../../src/wireguard/device.js';
import { INITIATION_SIZE } from '../../src/wireguard/messages.js';
import { T0, keyFrom, prng, randomBytesFrom } from './harness.js';

describe.each([
  ['noble', nobleCrypto],
  ['node', nodeCrypto],
] as const)('handshake budget (%s backend)', (_n, crypto) => {
  function setup(opts: { handshakeBudget?: number; underLoadThreshold?: number }) {
    const sent: Uint8Array[] = [];
    const dev = new Device({
      crypto,
      random: randomBytesFrom(prng(3)),
      ...opts,
      io: { sendDatagram: (d) => sent.push(Uint8Array.from(d)), deliverPacket: () => undefined },
    });
    dev.setPrivateKey(keyFrom(9, crypto).priv);
    const key = mac1KeyFor(crypto, dev.publicKey!);
    const rand = prng(17);
    /** A forged initiation: garbage body, valid mac1 (anyone who knows our public key can make one), or not. */
    const forged = (validMac1 = true): Uint8Array => {
      const m = new Uint8Array(INITIATION_SIZE);
      for (let j = 4; j < INITIATION_SIZE - 32; j++) m[j] = (rand() * 256) | 0;
      m[0] = 1;
      if (validMac1) m.set(crypto.mac(key, m.subarray(0, INITIATION_SIZE - 32)), INITIATION_SIZE - 32);
      else for (let j = INITIATION_SIZE - 32; j < INITIATION_SIZE - 16; j++) m[j] = (rand() * 256) | 0;
      return m;
    };
    const from: Endpoint = { address: '198.51.100.7', port: 40000 };
    return { dev, sent, forged, from };
  }

  it('under load, looks at handshakeBudget messages per second (burst a tenth of that); the rest are dropped unread and counted', () => {
    const { dev, sent, forged, from } = setup({ handshakeBudget: 1000, underLoadThreshold: 0 });
    const msgs = Array.from({ length: 8 }, () => forged());
    // The first one is looked at before the device is under load (threshold 0: it puts it
    // there, and is answered with a cookie).
    dev.receiveDatagram(msgs[0]!, from, T0);
    expect(dev.isUnderLoad(T0)).toBe(true);
    expect(dev.stats.cookieRepliesSent).toBe(1);
    for (let i = 0; i < 1000; i++) dev.receiveDatagram(msgs[i & 7]!, from, T0);
    expect(dev.stats.cookieRepliesSent).toBe(101);
    expect(sent.filter((d) => d[0] === 3)).toHaveLength(101);
    expect(dev.stats.dropped['handshake-budget']).toBe(900);
    // 50 ms refill 50 messages' worth.
    for (let i = 0; i < 100; i++) dev.receiveDatagram(msgs[i & 7]!, from, T0 + 50);
    expect(dev.stats.cookieRepliesSent).toBe(151);
    expect(dev.stats.dropped['handshake-budget']).toBe(950);
    // Time going backwards adds nothing.
    dev.receiveDatagram(msgs[0]!, from, T0 + 10);
    expect(dev.stats.dropped['handshake-budget']).toBe(951);
    // Sustained 2000/s for 2 s: about 1000/s get looked at.
    const before = dev.stats.cookieRepliesSent;
    for (let i = 0; i < 4000; i++) dev.receiveDatagram(msgs[i & 7]!, from, T0 + 50 + i / 2);
    const answered = dev.stats.cookieRepliesSent - before;
    expect(answered).toBeGreaterThanOrEqual(1990);
    expect(answered).toBeLessThanOrEqual(2000);
    expect(dev.stats.dropped.internal).toBe(0);
    // Once no longer under load, messages are looked at without the budget.
    const later = T0 + 60_000;
    expect(dev.isUnderLoad(later)).toBe(false);
    const budgetDrops = dev.stats.dropped['handshake-budget'];
    const replies = dev.stats.cookieRepliesSent;
    const d = dev.stats.dropped;
    const dhBefore = d['handshake-invalid'] + d['unknown-peer'];
    dev.receiveDatagram(msgs[1]!, from, later);
    expect(d['handshake-invalid'] + d['unknown-peer'] + dev.stats.cookieRepliesSent - replies - dhBefore).toBe(1);
    expect(dev.stats.dropped['handshake-budget']).toBe(budgetDrops);
  });

  it('never drops for the budget when not under load (bad mac1 does not count as load)', () => {
    const { dev, forged, from } = setup({ handshakeBudget: 10 });
    const bad = forged(false);
    for (let i = 0; i < 5000; i++) dev.receiveDatagram(bad, from, T0);
    expect(dev.stats.dropped.mac1).toBe(5000);
    expect(dev.stats.dropped['handshake-budget']).toBe(0);
    expect(dev.isUnderLoad(T0)).toBe(false);
  });

  it('a budget must be positive; the default is HANDSHAKE_BUDGET', () => {
    expect(() => setup({ handshakeBudget: 0 })).toThrow(DeviceError);
    expect(() => setup({ handshakeBudget: Number.NaN })).toThrow(DeviceError);
    const { dev, forged, from } = setup({ underLoadThreshold: 0 });
    const m = forged();
    for (let i = 0; i < HANDSHAKE_BUDGET; i++) dev.receiveDatagram(m, from, T0);
    // The first (it puts the device under load), then a burst of a tenth of the budget, then drops.
    expect(dev.stats.cookieRepliesSent).toBe(1 + Math.floor(HANDSHAKE_BUDGET / 10));
    expect(dev.stats.dropped['handshake-budget']).toBe(HANDSHAKE_BUDGET - 1 - Math.floor(HANDSHAKE_BUDGET / 10));
  });
});
