import { describe, expect, it } from 'vitest';
import { A_ADDR, B_ADDR, Pair } from './harness.js';
import type { TcpEndpoint } from '../../../src/netstack/transport/tcp/endpoint.js';

describe('smoke', () => {
  it('connects, transfers, closes', () => {
    const p = new Pair();
    const l = p.b.listen(80);
    let server: TcpEndpoint | null = null;
    const got: number[] = [];
    l.onConnection = (ep) => {
      server = ep;
      ep.onReadable = () => {
        for (const b of ep.read()) got.push(b);
      };
      ep.onEnd = () => ep.close();
    };
    const c = p.a.connect({ localAddress: A_ADDR, remoteAddress: B_ADDR, remotePort: 80 });
    let connected = false;
    let closed = false;
    c.onConnect = () => {
      connected = true;
      c.write(new Uint8Array([1, 2, 3, 4, 5]));
      c.close();
    };
    c.onClose = () => (closed = true);
    p.runUntil(() => closed && server !== null && (server as TcpEndpoint).stateName === 'CLOSED', 10_000);
    expect(connected).toBe(true);
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(c.stateName).toBe('TIME_WAIT');
  });
});
