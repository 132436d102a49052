import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UapiServer, EINVAL_RESPONSE, uapiSocketPath } from '../../src/node/uapi-server.js';
import { loadNative } from '../../src/node/native.js';

const servers: UapiServer[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempSocket(): string {
  const d = mkdtempSync(join(tmpdir(), 'wgts-uapi-'));
  dirs.push(d);
  return join(d, 'sub', 'wgtest0.sock');
}

/** A fake device: answers get with a fixed config, set with errno=0 unless it has a bad key. */
const requests: string[] = [];
function handler(req: string): string {
  requests.push(req);
  if (req === 'get=1\n\n') return 'listen_port=51820\nerrno=0\n\n';
  if (req.startsWith('set=1\n')) return req.includes('bogus=') ? EINVAL_RESPONSE : 'errno=0\n\n';
  return EINVAL_RESPONSE;
}

async function start(h = handler): Promise<string> {
  const path = tempSocket();
  servers.push(await UapiServer.listen(h, { path, implementation: impl }));
  return path;
}

/** Sends chunks (with a pause between them) and collects everything until the server closes or `until` matches. */
function talk(path: string, chunks: string[], until: (s: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    let got = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(got)}`));
    }, 5000);
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      got += d;
      if (until(got)) {
        clearTimeout(timer);
        c.destroy();
        resolve(got);
      }
    });
    c.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    c.on('error', reject);
    c.on('connect', async () => {
      for (const ch of chunks) {
        c.write(ch);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  });
}

const count = (s: string, sub: string): number => s.split(sub).length - 1;

const nativeOk = (() => {
  const r = loadNative();
  return r.ok && r.addon.UapiListener !== undefined;
})();
// Both implementations must behave the same; the native one needs the built addon (CI builds it).
const impls: Array<'native' | 'net'> = nativeOk ? ['native', 'net'] : ['net'];
let impl: 'native' | 'net' = 'net';

describe.each(impls)('UapiServer (%s)', (which) => {
  beforeEach(() => {
    impl = which;
  });

  it('uses the implementation asked for', async () => {
    const path = tempSocket();
    const srv = await UapiServer.listen(handler, { path, implementation: impl });
    servers.push(srv);
    expect(srv.implementation).toBe(impl);
  });

  it('creates the directory and a root-only socket, removes it on close', async () => {
    const path = tempSocket();
    const srv = await UapiServer.listen(handler, { path, implementation: impl });
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o700);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o755);
    await srv.close();
    expect(existsSync(path)).toBe(false);
  });

  it('default path is /var/run/wireguard/IFACE.sock', () => {
    expect(uapiSocketPath('wg0')).toBe('/var/run/wireguard/wg0.sock');
  });

  it('answers get and set, several requests per connection', async () => {
    const path = await start();
    const got = await talk(path, ['get=1\n\nset=1\nlisten_port=1\n\nget=1\n\n'], (s) => count(s, '\n\n') === 3);
    expect(got).toBe('listen_port=51820\nerrno=0\n\nerrno=0\n\nlisten_port=51820\nerrno=0\n\n');
  });

  it('reassembles requests split across reads, even mid-terminator', async () => {
    requests.length = 0;
    const path = await start();
    const got = await talk(path, ['se', 't=1\nlisten_', 'port=9\n', '\n', 'get=1', '\n', '\n'], (s) => count(s, '\n\n') === 2);
    expect(got).toBe('errno=0\n\nlisten_port=51820\nerrno=0\n\n');
    expect(requests).toEqual(['set=1\nlisten_port=9\n\n', 'get=1\n\n']);
  });

  it('answers garbage with errno=-22 and closes only that client', async () => {
    const path = await start();
    const other = net.connect(path);
    await new Promise((r) => other.once('connect', r));
    const bad = await talk(path, ['\x00\xff garbage\n\nget=1\n\n'], () => false);
    expect(bad).toBe(EINVAL_RESPONSE);
    const bad2 = await talk(path, ['\n'], () => false);
    expect(bad2).toBe(EINVAL_RESPONSE);
    // The other client still gets answers.
    other.setEncoding('utf8');
    const reply = new Promise<string>((r) => other.once('data', r));
    other.write('get=1\n\n');
    expect(await reply).toBe('listen_port=51820\nerrno=0\n\n');
    other.destroy();
  });

  it('a set the handler rejects gets errno=-22 and the connection stays usable', async () => {
    const path = await start();
    const got = await talk(path, ['set=1\nbogus=1\n\nget=1\n\n'], (s) => count(s, '\n\n') === 2);
    expect(got).toBe('errno=-22\n\nlisten_port=51820\nerrno=0\n\n');
  });

  it('a throwing handler answers errno=-22', async () => {
    const path = await start(() => {
      throw new Error('boom');
    });
    expect(await talk(path, ['get=1\n\n'], (s) => s.endsWith('\n\n'))).toBe(EINVAL_RESPONSE);
  });

  it('serves many clients at once', async () => {
    const path = await start(async (req) => {
      await new Promise((r) => setTimeout(r, 2));
      return handler(req);
    });
    const all = await Promise.all(Array.from({ length: 20 }, () => talk(path, ['get=1\n\n'], (s) => s.endsWith('\n\n'))));
    expect(all).toEqual(Array(20).fill('listen_port=51820\nerrno=0\n\n'));
  });

  it('bounds the request size', async () => {
    const path = tempSocket();
    servers.push(await UapiServer.listen(handler, { path, maxRequestBytes: 1000, implementation: impl }));
    const got = await talk(path, ['set=1\n' + 'allowed_ip=10.0.0.0/8\n'.repeat(100)], () => false);
    expect(got).toBe(EINVAL_RESPONSE);
  });

  it('takes a large request split in many chunks', async () => {
    requests.length = 0;
    const path = await start();
    const body = 'set=1\n' + 'allowed_ip=10.0.0.0/32\n'.repeat(20000) + '\n';
    const chunks: string[] = [];
    for (let i = 0; i < body.length; i += 4096) chunks.push(body.slice(i, i + 4096));
    const got = await talk(path, [chunks.join('')], (s) => s.endsWith('\n\n'));
    expect(got).toBe('errno=0\n\n');
    expect(requests).toEqual([body]);
  });

  it('refuses to take over a live socket, replaces a stale one', async () => {
    const path = await start();
    await expect(UapiServer.listen(handler, { path, implementation: impl })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // Stale: a socket file nobody listens on.
    const stalePath = tempSocket();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(stalePath, '..'), { recursive: true });
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(stalePath, r));
    // Close without unlinking: simulate a crashed daemon by re-creating a dead socket file.
    await new Promise<void>((r) => s.close(() => r()));
    const { execFileSync } = await import('node:child_process');
    execFileSync('python3', ['-c', `import socket;s=socket.socket(socket.AF_UNIX);s.bind(${JSON.stringify(stalePath)})`]);
    const srv = await UapiServer.listen(handler, { path: stalePath, implementation: impl });
    servers.push(srv);
    expect(await talk(stalePath, ['get=1\n\n'], (x) => x.endsWith('\n\n'))).toBe('listen_port=51820\nerrno=0\n\n');
  });

  it('takes a request one byte at a time', async () => {
    requests.length = 0;
    const path = await start();
    const got = await talk(path, 'set=1\nlisten_port=7\n\n'.split(''), (x) => x.endsWith('\n\n'));
    expect(got).toBe('errno=0\n\n');
    expect(requests).toEqual(['set=1\nlisten_port=7\n\n']);
  });

  it('answers a second request on the same connection after the first answer', async () => {
    const path = await start();
    const c = net.connect(path);
    c.setEncoding('utf8');
    await new Promise((r) => c.once('connect', r));
    const read = (): Promise<string> => new Promise((r) => c.once('data', r));
    let reply = read();
    c.write('get=1\n\n');
    expect(await reply).toBe('listen_port=51820\nerrno=0\n\n');
    reply = read();
    c.write('set=1\nlisten_port=2\n\n');
    expect(await reply).toBe('errno=0\n\n');
    c.destroy();
  });

  it('keeps answers in order when the handler answers later', async () => {
    const path = await start(async (req) => {
      if (req.startsWith('set=1')) await new Promise((r) => setTimeout(r, 20));
      return handler(req);
    });
    const got = await talk(path, ['set=1\nlisten_port=3\n\nget=1\n\nset=1\nbogus=1\n\n'], (x) => count(x, '\n\n') === 3);
    expect(got).toBe('errno=0\n\nlisten_port=51820\nerrno=0\n\nerrno=-22\n\n');
  });

  it('an answer sent early reaches the client before the handler returns; the next request waits for the return', async () => {
    const events: string[] = [];
    const path = await start((req, answerNow) => {
      events.push(`start ${req.slice(0, 5)}`);
      if (req.startsWith('set=1\nlisten_port=4')) {
        answerNow('errno=0\n\n');
        answerNow('errno=-1\n\n'); // a second early answer is ignored
        // Still busy (this event loop blocked): a client in another process reads the answer meanwhile.
        const until = Date.now() + 400;
        while (Date.now() < until) {
          /* the handler's remaining work */
        }
        events.push('end set');
        return 'errno=-99\n\n'; // ignored: the early answer stands
      }
      return handler(req);
    });
    // Pipelined set + get from a child process, which stamps when each answer arrived.
    const client = `
      const c = require('net').connect(process.argv[1]);
      const t0 = Date.now(); let got = ''; const at = [];
      c.setEncoding('utf8');
      c.on('connect', () => c.write('set=1\\nlisten_port=4\\n\\nget=1\\n\\n'));
      c.on('data', (d) => { for (const ch of d.split('\\n\\n').slice(0, -1)) at.push(Date.now() - t0); got += d; if (at.length >= 2) { console.log(JSON.stringify({ got, at })); process.exit(0); } });
      setTimeout(() => { console.log(JSON.stringify({ got, at })); process.exit(0); }, 5000);`;
    const child = spawn(process.execPath, ['-e', client, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((r) => child.on('close', r));
    const r = JSON.parse(out) as { got: string; at: number[] };
    expect(r.got).toBe('errno=0\n\nlisten_port=51820\nerrno=0\n\n');
    // The set's answer came while the handler was still busy, the get's only after it returned.
    expect(r.at[1]! - r.at[0]!).toBeGreaterThanOrEqual(250);
    expect(events).toEqual(['start set=1', 'end set', 'start get=1']);
  });

  it('an early answer followed by a throw stays the only answer', async () => {
    const path = await start((req, answerNow) => {
      if (req.startsWith('set=1')) {
        answerNow('errno=0\n\n');
        throw new Error('after the answer');
      }
      return handler(req);
    });
    const got = await talk(path, ['set=1\nlisten_port=5\n\nget=1\n\n'], (x) => count(x, '\n\n') === 2);
    expect(got).toBe('errno=0\n\nlisten_port=51820\nerrno=0\n\n');
  });

  it('a client that hangs up mid-request is dropped and never reaches the handler', async () => {
    requests.length = 0;
    const path = tempSocket();
    const srv = await UapiServer.listen(handler, { path, implementation: impl });
    servers.push(srv);
    const c = net.connect(path);
    await new Promise((r) => c.once('connect', r));
    c.write('set=1\nlisten_port=');
    await new Promise((r) => setTimeout(r, 20));
    c.destroy();
    for (let i = 0; i < 100 && srv.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(srv.connectionCount).toBe(0);
    expect(requests).toEqual([]);
    expect(await talk(path, ['get=1\n\n'], (x) => x.endsWith('\n\n'))).toBe('listen_port=51820\nerrno=0\n\n');
  });

  it('an incomplete request at half-close is not answered, complete ones before it are', async () => {
    const path = await start();
    const got = await new Promise<string>((resolve, reject) => {
      const c = net.connect(path);
      let out = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => (out += d));
      c.on('close', () => resolve(out));
      c.on('error', reject);
      c.on('connect', () => c.end('get=1\n\nset=1\nlisten_port=4\n'));
    });
    expect(got).toBe('listen_port=51820\nerrno=0\n\n');
  });

  it('survives a flood of garbage connections; a good client still gets its answer', async () => {
    const path = tempSocket();
    const srv = await UapiServer.listen(handler, { path, implementation: impl, maxConnections: 16 });
    servers.push(srv);
    const garbage = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        talk(path, [i % 3 === 0 ? '\n' : i % 3 === 1 ? 'GET / HTTP/1.1\r\n\r\n\n\n' : '\xff'.repeat(100) + '\n\n'], () => false).catch(() => 'reset'),
      ),
    );
    for (const g of garbage) expect(['', 'reset', EINVAL_RESPONSE]).toContain(g);
    expect(garbage.filter((g) => g === EINVAL_RESPONSE).length).toBeGreaterThan(0);
    expect(await talk(path, ['get=1\n\n'], (x) => x.endsWith('\n\n'))).toBe('listen_port=51820\nerrno=0\n\n');
    for (let i = 0; i < 100 && srv.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(srv.connectionCount).toBe(0);
  });

  it('an oversize request sent in many chunks gets errno=-22; other clients are unaffected', async () => {
    const path = tempSocket();
    const srv = await UapiServer.listen(handler, { path, maxRequestBytes: 4096, implementation: impl });
    servers.push(srv);
    const other = net.connect(path);
    await new Promise((r) => other.once('connect', r));
    const chunks = Array.from({ length: 20 }, () => 'allowed_ip=10.0.0.0/32\n'.repeat(20));
    chunks.unshift('set=1\n');
    expect(await talk(path, chunks, () => false)).toBe(EINVAL_RESPONSE);
    if (impl === 'native') expect(srv.oversizeCount).toBe(1);
    other.setEncoding('utf8');
    const reply = new Promise<string>((r) => other.once('data', r));
    other.write('get=1\n\n');
    expect(await reply).toBe('listen_port=51820\nerrno=0\n\n');
    other.destroy();
  });

  it('close() drops connected clients and a second close() is harmless', async () => {
    const path = tempSocket();
    const srv = await UapiServer.listen(handler, { path, implementation: impl });
    const c = net.connect(path);
    await new Promise((r) => c.once('connect', r));
    const closed = new Promise((r) => c.once('close', r));
    c.on('error', () => {});
    await srv.close();
    await closed;
    await srv.close();
    expect(existsSync(path)).toBe(false);
  });
});
