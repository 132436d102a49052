/** The netstack runtime re-resolves a hostname endpoint while handshakes fail. */
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import { parseConfig } from '../../src/config/index.js';
import { WireGuard, clockNow, type EndpointChangeEvent } from '../../src/node/endpoint-runtime.js';

const b64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');

describe('endpoint hostname re-resolution (netstack runtime)', () => {
  it('looks the name up again only while handshakes fail, and moves the endpoint when the answer changes', async () => {
    const peerKey = b64(nodeCrypto.publicKey(nodeCrypto.generatePrivateKey()));
    const cfg = parseConfig(
      `[Interface]\nPrivateKey = ${b64(nodeCrypto.generatePrivateKey())}\nAddress = 10.77.0.1/24\n[Peer]\nPublicKey = ${peerKey}\nAllowedIPs = 10.77.0.2/32\nEndpoint = peer.invalid:51999\n`,
      'rr.conf',
    );
    const answers = ['127.0.0.1', '127.0.0.1', '127.0.0.2'];
    const asked: string[] = [];
    const wg = await WireGuard.fromParsedConfig(cfg, {
      bind: 'dgram',
      resolveHost: async (h) => {
        asked.push(h);
        const a = answers.shift();
        if (!a) throw new Error('no answer');
        return a;
      },
    });
    try {
      const changes: EndpointChangeEvent[] = [];
      wg.on('endpoint-change', (e: EndpointChangeEvent) => changes.push(e));
      expect(asked).toEqual(['peer.invalid']);
      expect(wg.peers()[0]!.endpoint).toBe('127.0.0.1:51999');
      const peer = wg.endpoint.device.getPeer(Buffer.from(peerKey, 'base64'))!;
      const t = clockNow();
      // Not failing (no initiation sent lately): no lookup.
      peer.handshake.lastSentHandshake = -Infinity;
      wg.checkEndpointNames(t + 60_000);
      expect(asked).toHaveLength(1);
      // An initiation sent lately and no handshake: failing. Same answer → endpoint unchanged, no event.
      peer.handshake.lastSentHandshake = t + 59_000;
      wg.checkEndpointNames(t + 60_000);
      await new Promise((r) => setImmediate(r));
      expect(asked).toHaveLength(2);
      expect(changes).toEqual([]);
      // Within the interval: no lookup.
      wg.checkEndpointNames(t + 61_000);
      expect(asked).toHaveLength(2);
      let at = clockNow() + 120_000;
      peer.handshake.lastSentHandshake = at - 1000;
      wg.checkEndpointNames(at);
      await new Promise((r) => setImmediate(r));
      expect(asked).toHaveLength(3);
      expect(changes).toEqual([{ publicKey: peerKey, host: 'peer.invalid', from: '127.0.0.1:51999', to: '127.0.0.2:51999' }]);
      expect(wg.peers()[0]!.endpoint).toBe('127.0.0.2:51999');
      // A failed lookup keeps the address and reports it.
      const errors: string[] = [];
      wg.on('resolve-error', (e: { error: Error }) => errors.push(e.error.message));
      at = clockNow() + 240_000;
      peer.handshake.lastSentHandshake = at - 1000;
      wg.checkEndpointNames(at);
      await new Promise((r) => setImmediate(r));
      expect(errors).toEqual(['no answer']);
      expect(wg.peers()[0]!.endpoint).toBe('127.0.0.2:51999');
      // An endpoint set over UAPI ends the re-resolution of that peer.
      expect(wg.uapi(`set=1\npublic_key=${Buffer.from(peerKey, 'base64').toString('hex')}\nendpoint=127.0.0.9:51999\n\n`)).toBe('errno=0\n\n');
      answers.push('127.0.0.3');
      at = clockNow() + 480_000;
      peer.handshake.lastSentHandshake = at - 1000;
      wg.checkEndpointNames(at);
      await new Promise((r) => setImmediate(r));
      expect(asked).toHaveLength(4);
      expect(wg.peers()[0]!.endpoint).toBe('127.0.0.9:51999');
    } finally {
      await wg.close();
    }
  });
});
