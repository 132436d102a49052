/** The embed API's read-outs (status page data, peers, stats, events) carry no private or preshared key. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import { WireGuard } from '../../src/node/endpoint-runtime.js';

const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');
const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');

function expectNoKey(text: string, key: Uint8Array): void {
  for (const form of [b64(key), hex(key)]) for (let i = 0; i + 10 <= form.length; i++) expect(text).not.toContain(form.slice(i, i + 10));
}

describe('embed API read-outs', () => {
  it('status(), peers(), stats() and handshake events never include the private or preshared key', async () => {
    const priv = nodeCrypto.generatePrivateKey();
    const psk = nodeCrypto.randomBytes(32);
    const peerPriv = nodeCrypto.generatePrivateKey();
    const wg = await WireGuard.create({
      privateKey: b64(priv),
      listenPort: 0,
      addresses: ['10.8.0.1/24'],
      bind: 'dgram',
      peers: [{ publicKey: b64(nodeCrypto.publicKey(peerPriv)), presharedKey: b64(psk), allowedIPs: ['10.8.0.2/32'], endpoint: '127.0.0.1:9' }],
    });
    try {
      const shown = JSON.stringify([wg.status(), wg.peers(), wg.stats()], (_k, v) => (typeof v === 'bigint' ? String(v) : v)) + inspect(wg.peers(), { depth: 6 });
      expect(shown).toContain(b64(nodeCrypto.publicKey(priv)).slice(0, 20)); // the read-out is real
      expectNoKey(shown, priv);
      expectNoKey(shown, psk);
    } finally {
      await wg.close();
    }
  });
});
