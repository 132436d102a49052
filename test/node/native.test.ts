import { afterEach, describe, expect, it, vi } from 'vitest';
import { Worker } from 'node:worker_threads';
import { loadNative, nativeOrWarn, resetNativeForTests } from '../../src/node/native.js';
import { createBind } from '../../src/node/bind.js';

afterEach(() => {
  vi.unstubAllEnvs();
  resetNativeForTests();
});

describe('native loader', () => {
  it('falls back and says once what is unavailable when the addon is missing', () => {
    vi.stubEnv('WGTS_NATIVE_PATH', '/nonexistent/wgts_native.node');
    resetNativeForTests();
    const r = loadNative();
    expect(r.ok).toBe(false);
    const lines: string[] = [];
    expect(nativeOrWarn((l) => lines.push(l))).toBeUndefined();
    expect(nativeOrWarn((l) => lines.push(l))).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/native addon unavailable .*kernel TUN mode is off and UDP uses node:dgram/);
    expect(createBind('auto').kind).toBe('dgram');
  });

  it('WGTS_NATIVE=0 disables it', () => {
    vi.stubEnv('WGTS_NATIVE', '0');
    resetNativeForTests();
    const r = loadNative();
    expect(r).toEqual({ ok: false, reason: 'disabled by WGTS_NATIVE=0' });
  });

  it('loads the built addon when present, and a closed handle is a JS error', () => {
    resetNativeForTests();
    const r = loadNative();
    if (!r.ok) {
      // Not built on this machine: the fallback path above is what matters.
      expect(r.reason).toMatch(/not found|failed to load/);
      return;
    }
    expect(r.addon.version).toBe(1);
    const Udp = r.addon.Udp!;
    const s = new Udp(Buffer.alloc(4096), 2048, new Int32Array(16), Buffer.alloc(4096), new Int32Array(16));
    expect(s.bind(0)).toBeGreaterThan(0);
    s.close();
    expect(() => s.localPort()).toThrow(/closed/);
    expect(() => s.sendBatch(0)).toThrow(/closed/);
    s.close(); // idempotent
    expect(() => new Udp(Buffer.alloc(10), 2048, new Int32Array(16), Buffer.alloc(4096), new Int32Array(16))).toThrow();
  });

  it('a worker that exits with a socket still polling tears down cleanly (no crash, port released)', async () => {
    resetNativeForTests();
    const r = loadNative();
    if (!r.ok) return;
    const code = `
      const { createRequire } = require('node:module');
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData);
      const u = new addon.Udp(Buffer.alloc(4096), 2048, new Int32Array(32), Buffer.alloc(4096), new Int32Array(32));
      const port = u.bind(0);
      u.start(() => {}, () => {});
      parentPort.postMessage(port);`;
    const w = new Worker(code, { eval: true, workerData: r.path });
    const port = await new Promise<number>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(port).toBeGreaterThan(0);
    await w.terminate();
    // The socket was closed at teardown: the port can be bound again.
    const Udp = r.addon.Udp!;
    const again = new Udp(Buffer.alloc(4096), 2048, new Int32Array(32), Buffer.alloc(4096), new Int32Array(32));
    expect(again.bind(port, 0)).toBe(port);
    again.close();
  });
});
