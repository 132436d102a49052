import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UapiServer, EINVAL_RESPONSE, uapiSocketPath } from '../../src/node/uapi-server.js';

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
  servers.push(await UapiServer.listen(h, { path }));
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

describe('UapiServer', () => {
  it('creates the directory and a root-only socket, removes it on close', async () => {
    const path = tempSocket();
    const srv = await UapiServer.listen(handler, { path });
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
    servers.push(await UapiServer.listen(handler, { path, maxRequestBytes: 1000 }));
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
    await expect(UapiServer.listen(handler, { path })).rejects.toMatchObject({ code: 'EADDRINUSE' });
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
    const srv = await UapiServer.listen(handler, { path: stalePath });
    servers.push(srv);
    expect(await talk(stalePath, ['get=1\n\n'], (x) => x.endsWith('\n\n'))).toBe('listen_port=51820\nerrno=0\n\n');
  });
});
