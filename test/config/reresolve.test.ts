import { describe, expect, it } from 'vitest';
import { EndpointReresolver, HANDSHAKE_STALE_MS, RERESOLVE_INTERVAL_MS, handshakeFailing, type PeerHealth } from '../../src/config/reresolve.js';

const T0 = 1_700_000_000_000;

describe('handshakeFailing', () => {
  it('needs a stale (or no) handshake while trying', () => {
    expect(handshakeFailing({ lastHandshake: 0, trying: true }, T0)).toBe(true);
    expect(handshakeFailing({ lastHandshake: 0, trying: false }, T0)).toBe(false);
    expect(handshakeFailing({ lastHandshake: T0 - HANDSHAKE_STALE_MS, trying: true }, T0)).toBe(false);
    expect(handshakeFailing({ lastHandshake: T0 - HANDSHAKE_STALE_MS - 1, trying: true }, T0)).toBe(true);
  });
});

describe('EndpointReresolver', () => {
  const targets = EndpointReresolver.targetsOf([
    { publicKey: 'A', endpoint: { host: 'vpn.example.com', port: 51820 } },
    { publicKey: 'B', endpoint: { host: '192.0.2.1', port: 51820 } },
    { publicKey: 'C', endpoint: { host: '2001:db8::1', port: 1 } },
    { publicKey: 'D' },
    { publicKey: 'E', endpoint: { host: 'other.example', port: 4500 } },
  ]);

  it('tracks hostname endpoints only', () => {
    expect(targets).toEqual([
      { key: 'A', host: 'vpn.example.com', port: 51820 },
      { key: 'E', host: 'other.example', port: 4500 },
    ]);
  });

  it('looks a failing peer up at most once per interval, never twice at once, and only failing ones', () => {
    const r = new EndpointReresolver(targets, T0);
    const health = new Map<string, PeerHealth>([
      ['A', { lastHandshake: 0, trying: true }],
      ['E', { lastHandshake: T0 - 1000, trying: false }],
    ]);
    const h = (k: string): PeerHealth | undefined => health.get(k);
    expect(r.due(T0 + RERESOLVE_INTERVAL_MS - 1, h)).toEqual([]);
    expect(r.due(T0 + RERESOLVE_INTERVAL_MS, h).map((t) => t.key)).toEqual(['A']);
    // Pending: not again even much later, until done.
    expect(r.due(T0 + 10 * RERESOLVE_INTERVAL_MS, h)).toEqual([]);
    r.done('A');
    expect(r.due(T0 + 11 * RERESOLVE_INTERVAL_MS, h).map((t) => t.key)).toEqual(['A']);
    r.done('A');
    // The interval counts from the start of the last lookup.
    expect(r.due(T0 + 12 * RERESOLVE_INTERVAL_MS - 1, h)).toEqual([]);
    expect(r.due(T0 + 12 * RERESOLVE_INTERVAL_MS, h).map((t) => t.key)).toEqual(['A']);
    // A peer that recovered is left alone.
    r.done('A');
    health.set('A', { lastHandshake: T0 + 12 * RERESOLVE_INTERVAL_MS, trying: false });
    health.set('E', { lastHandshake: T0 - 1000, trying: true });
    expect(r.due(T0 + 20 * RERESOLVE_INTERVAL_MS, h).map((t) => t.key)).toEqual(['E']);
  });

  it('drops peers that are gone or forgotten, re-adds, ignores IP literals, is bounded', () => {
    const r = new EndpointReresolver(targets, T0);
    expect(r.size).toBe(2);
    expect(r.due(T0 + RERESOLVE_INTERVAL_MS, () => undefined)).toEqual([]);
    expect(r.size).toBe(0);
    r.add({ key: 'X', host: '10.0.0.1', port: 1 }, T0);
    expect(r.size).toBe(0);
    r.add({ key: 'X', host: 'x.example', port: 1 }, T0);
    r.add({ key: 'X', host: 'y.example', port: 2 }, T0);
    expect(r.size).toBe(1);
    expect(r.due(T0 + RERESOLVE_INTERVAL_MS, () => ({ lastHandshake: 0, trying: true }))).toEqual([{ key: 'X', host: 'y.example', port: 2 }]);
    r.forget('X');
    expect(r.size).toBe(0);
    const many = new EndpointReresolver(
      Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, host: `h${i}.example`, port: 1 })),
      T0,
    );
    expect(many.size).toBe(4096);
  });
});
