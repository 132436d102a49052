import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { Device } from '../../src/wireguard/device.js';

/** Counts transport opens (ad === null, non-empty) and handshake completions' DHs. */
function counting(base: CryptoProvider): { crypto: CryptoProvider; opens: () => number; dataOpens: () => number; dhs: () => number } {
  let opens = 0;
  let dataOpens = 0;
  let dhs = 0;
  const crypto: CryptoProvider = {
    ...base,
    open(key, counter, ciphertext, ad, out, outOffset) {
      const n = base.open(key, counter, ciphertext, ad, out, outOffset);
      if (ad === null && n >= 0) {
        opens++;
        if (n > 0) dataOpens++;
      }
      return n;
    },
    sharedSecret(priv, pub) {
      dhs++;
      return base.sharedSecret(priv, pub);
    },
  };
  return { crypto, opens: () => opens, dataOpens: () => dataOpens, dhs: () => dhs };
}

describe('Device.warmUp', () => {
  it('runs the requested handshakes and data packets through real Devices', () => {
    const c = counting(nodeCrypto);
    Device.warmUp(c.crypto, 4, 40);
    // 10 data packets per handshake, all decrypted by the responder.
    expect(c.dataOpens()).toBe(40);
    // Per handshake: es, ss (first only, lazily), ee, se on the initiator; es, ss (first only), ee, se on the responder.
    expect(c.dhs()).toBe(4 * 6 + 2);
  });

  it('leaves other devices alone', () => {
    const d = new Device({ crypto: nodeCrypto, io: { sendDatagram() {}, deliverPacket() {} } });
    Device.warmUp(nodeCrypto, 1, 1);
    expect(d.peerCount).toBe(0);
    expect(d.stats.txDatagrams).toBe(0);
  });
});
