/** runNetstackEndpoint, peer events, IPv6 sockets, socket timeouts. */
import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCrypto } from '../../src/crypto/index.js';
import { parseConfig } from '../../src/config/index.js';
import { runNetstackEndpoint, defaultUapiPath } from '../../src/node/endpoint-runtime.js';
import { makePair } from './pair.js';

const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

describe('runNetstackEndpoint', () => {
  it('serves UAPI, writes a pid file, stops cleanly with exit code 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgts-h7run-'));
    try {
      const cfg = parseConfig(`[Interface]\nPrivateKey = ${b64(nodeCrypto.generatePrivateKey())}\nAddress = 10.9.0.1/24\n`, 't.conf');
      const lines: string[] = [];
      let stop!: () => void;
      const stopped = new Promise<void>((r) => (stop = r));
      const sock = join(dir, 'h7run.sock');
      const run = runNetstackEndpoint(cfg, { interfaceName: 'h7run', log: (l) => lines.push(l), uapiPath: sock, stop: stopped, bind: 'dgram' });
      for (let i = 0; i < 100 && !existsSync(join(dir, 'h7run.pid')); i++) await new Promise((r) => setTimeout(r, 20));
      expect(readFileSync(join(dir, 'h7run.pid'), 'utf8')).toBe(`${process.pid}\n`);
      const c = net.connect(sock);
      c.write('get=1\n\n');
      const [reply] = (await once(c, 'data')) as [Buffer];
      expect(reply.toString()).toMatch(/^private_key=[0-9a-f]{64}\nlisten_port=\d+\n/);
      c.destroy();
      stop();
      expect(await run).toBe(0);
      expect(existsSync(join(dir, 'h7run.pid'))).toBe(false);
      expect(existsSync(sock)).toBe(false);
      expect(lines[0]).toMatch(/^wgts: h7run up \(netstack\)/);
      expect(lines.at(-1)).toBe('wgts: h7run down');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a start failure with exit code 1', async () => {
    const cfg = parseConfig(`[Interface]\nAddress = 10.9.0.1/24\n`, 't.conf');
    const lines: string[] = [];
    expect(await runNetstackEndpoint(cfg, { interfaceName: 'h7bad', log: (l) => lines.push(l), uapi: false })).toBe(1);
    expect(lines[0]).toContain('PrivateKey');
  });

  it('default UAPI paths follow design.md', () => {
    const uid = process.getuid!();
    if (uid === 0) expect(defaultUapiPath('wg0')).toBe('/var/run/wireguard/wg0.sock');
    else {
      expect(defaultUapiPath('wg0', { XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/run/user/7/wgts/wg0.sock');
      expect(defaultUapiPath('wg0', {})).toBe(`/tmp/wgts-${uid}/wg0.sock`);
    }
  });
});

describe('events and IPv6', () => {
  it('peer-up on the first handshake, peer-down when the peer is removed', async () => {
    const p = await makePair();
    try {
      const up = once(p.b, 'peer-up');
      await p.b.ping('10.7.0.1', { timeout: 3000 });
      const [ev] = (await up) as [{ publicKey: string; endpoint: string }];
      expect(ev.publicKey).toBe(p.a.publicKey);
      expect(ev.endpoint).toBe(`127.0.0.1:${p.a.listenPort}`);
      const down = once(p.b, 'peer-down');
      expect(p.b.removePeer(p.a.publicKey)).toBe(true);
      const [d] = (await down) as [{ publicKey: string }];
      expect(d.publicKey).toBe(p.a.publicKey);
      expect(p.b.peers()).toEqual([]);
    } finally {
      await p.close();
    }
  }, 10_000);

  it("an exception in a socket 'data' handler surfaces as 'error' on the endpoint", async () => {
    const p = await makePair();
    try {
      const srv = p.a.createServer((c) => {
        c.on('data', () => {
          throw new Error('boom in handler');
        });
      });
      await new Promise<void>((r) => srv.listen(4444, r));
      const err = once(p.a, 'error');
      const s = await p.b.connect({ host: '10.7.0.1', port: 4444 });
      s.write('x');
      const [e] = (await err) as [Error];
      expect(e.message).toBe('boom in handler');
      s.destroy();
    } finally {
      await p.close();
    }
  }, 10_000);

  it('TCP and UDP over IPv6, socket idle timeout', async () => {
    const p = await makePair();
    try {
      const srv = p.a.createServer((c) => c.pipe(c));
      await new Promise<void>((r) => srv.listen(22, 'fd07::1', r));
      expect(srv.address()).toMatchObject({ address: 'fd07::1', port: 22 });
      const s = await p.b.connect({ host: 'fd07::1', port: 22 });
      expect(s.remoteFamily).toBe('IPv6');
      expect(s.localAddress).toBe('fd07::2');
      s.write('six');
      const [d] = (await once(s, 'data')) as [Buffer];
      expect(d.toString()).toBe('six');
      const t0 = Date.now();
      s.setTimeout(150);
      await once(s, 'timeout');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      expect(s.destroyed).toBe(false);
      s.end();
      await once(s, 'close');

      const u = p.a.createSocket('udp6');
      u.on('message', (m, r) => u.send(m, r.port, r.address));
      await new Promise<void>((r) => u.bind(53, r));
      const c = p.b.createSocket('udp6');
      const got = once(c, 'message');
      c.send('v6', 53, 'fd07::1');
      const [m, rinfo] = (await got) as [Buffer, { address: string; family: string }];
      expect(m.toString()).toBe('v6');
      expect(rinfo).toMatchObject({ address: 'fd07::1', family: 'IPv6' });
      c.close();
      u.close();
      srv.close();
    } finally {
      await p.close();
    }
  }, 10_000);
});
