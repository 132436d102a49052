/** Forward = true through real UDP on loopback: two clients reach each other through a netstack hub. */
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { nodeCrypto } from '../../src/crypto/index.js';
import { WireGuard } from '../../src/node/endpoint-runtime.js';

const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');
const key = () => {
  const priv = nodeCrypto.generatePrivateKey();
  return { priv, pub: b64(nodeCrypto.publicKey(priv)) };
};

describe('hub (Forward = true)', () => {
  it('relays ping and TCP between two clients; the hub answers only for itself', async () => {
    const h = key();
    const x = key();
    const y = key();
    const hub = await WireGuard.create({
      privateKey: h.priv,
      addresses: ['10.5.0.1/24'],
      forward: true,
      bind: 'dgram',
      peers: [
        { publicKey: x.pub, allowedIPs: ['10.5.0.2/32'] },
        { publicKey: y.pub, allowedIPs: ['10.5.0.3/32'] },
      ],
    });
    const peerOfHub = { publicKey: h.pub, allowedIPs: ['10.5.0.0/24'], endpoint: `127.0.0.1:${hub.listenPort}`, persistentKeepalive: 25 };
    const cx = await WireGuard.create({ privateKey: x.priv, addresses: ['10.5.0.2/24'], bind: 'dgram', peers: [peerOfHub] });
    const cy = await WireGuard.create({ privateKey: y.priv, addresses: ['10.5.0.3/24'], bind: 'dgram', peers: [peerOfHub] });
    try {
      // Both clients have sessions with the hub (persistent keepalive started them).
      await cx.ping('10.5.0.1', { timeout: 3000 });
      await cy.ping('10.5.0.1', { timeout: 3000 });
      expect(await cx.ping('10.5.0.3', { timeout: 3000 })).toBeGreaterThan(0);
      await expect(cx.ping('10.5.0.9', { timeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      const srv = cy.createServer((c) => c.pipe(c));
      await new Promise<void>((r) => srv.listen(7, r));
      const s = await cx.connect({ host: '10.5.0.3', port: 7 });
      expect(s.remoteAddress).toBe('10.5.0.3');
      s.write('through the hub');
      const [d] = (await once(s, 'data')) as [Buffer];
      expect(d.toString()).toBe('through the hub');
      s.destroy();
      const hs = hub.stats() as { endpoint: { forwarded: number }; icmp: Record<string, number> };
      expect(hs.endpoint.forwarded).toBeGreaterThanOrEqual(6);
      expect(hs.icmp['icmp.echo.replied{reason=local}']).toBe(2);
      expect(hs.icmp['icmp.echo.replied{reason=peer}']).toBe(0);
      expect(hs.icmp['icmp.echo.suppressed{reason=no-route}']).toBe(1);
      const ys = cy.stats() as { icmp: Record<string, number> };
      expect(ys.icmp['icmp.echo.replied{reason=local}']).toBe(1);
    } finally {
      await cx.close();
      await cy.close();
      await hub.close();
    }
  }, 15_000);
});
