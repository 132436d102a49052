import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { nodeCrypto } from '../../src/crypto/index.js';
import { createQuickstartConfig } from '../../src/endpoint/quickstart.js';
import { runDemo } from '../../src/endpoint/demo.js';

describe('quickstart', () => {
  it('produces a matching server/client pair that parses', () => {
    const q = createQuickstartConfig({ endpointHost: 'vpn.example.org', listenPort: 51999 });
    const s = parseConfig(q.serverConfig, 'server.conf');
    const c = parseConfig(q.clientConfig, 'client.conf');
    expect(Buffer.from(nodeCrypto.publicKey(s.interface.privateKey!)).toString('base64')).toBe(q.serverPublicKey);
    expect(Buffer.from(c.peers[0]!.publicKey).toString('base64')).toBe(q.serverPublicKey);
    expect(Buffer.from(s.peers[0]!.publicKey).toString('base64')).toBe(Buffer.from(nodeCrypto.publicKey(c.interface.privateKey!)).toString('base64'));
    expect(s.interface.listenPort).toBe(51999);
    expect(c.peers[0]!.endpoint).toEqual({ host: 'vpn.example.org', port: 51999 });
    expect(s.netstack.status).toEqual({ host: '10.77.0.1', port: 80 });
    expect(s.netstack.icmp).toBe('reachable');
  });

  it('rejects a bad subnet', () => {
    expect(() => createQuickstartConfig({ subnet: '10.0' })).toThrow(TypeError);
  });
});

describe('demo', () => {
  it('runs end to end on loopback', async () => {
    const lines: string[] = [];
    const r = await runDemo({ log: (l) => (process.env.WGTS_DEMO_DEBUG ? console.log(l) : lines.push(l)) });
    expect(r.httpStatus).toBe(200);
    expect(r.httpBody).toContain('hello from 10.99.0.1');
    expect(r.unreachableAnswered).toBe(false);
    expect(r.icmp['icmp.echo.replied{reason=local}']).toBe(1);
    expect(r.icmp['icmp.echo.suppressed{reason=no-route}']).toBe(1);
    if (!process.env.WGTS_DEMO_DEBUG) expect(lines.some((l) => l.includes('no reply'))).toBe(true);
  }, 20_000);
});
