import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSocket, getDevice, listInterfaces, setDevice, socketDirs, uapiRequest, userSocketDir, pidFileFor, UapiError, InterfaceNotFoundError } from '../../src/node/uapi-client.js';

let dir: string;
const servers: Server[] = [];

function serve(name: string, onRequest: (req: string, c: Socket) => void): Promise<void> {
  const srv = createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n\n');
      if (i !== -1) onRequest(buf.slice(0, i + 2), c);
    });
    c.on('error', () => {});
  });
  servers.push(srv);
  return new Promise((r) => srv.listen(join(dir, `${name}.sock`), () => r()));
}

const env = (): NodeJS.ProcessEnv => ({ WGTS_UAPI_DIR: dir });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgts-uapi-'));
  // Replies one byte at a time: framing must not depend on read boundaries.
  await serve('slow', (req, c) => {
    const reply = req.startsWith('get') ? 'listen_port=7\npublic_key=' + 'ab'.repeat(32) + '\nallowed_ip=10.0.0.0/8\nerrno=0\n\n' : 'errno=0\n\n';
    let i = 0;
    const tick = (): void => {
      if (i < reply.length) {
        c.write(reply[i++]!);
        setImmediate(tick);
      }
    };
    tick();
  });
  await serve('refuse', (_req, c) => void c.write('errno=-22\n\n'));
  await serve('hangup', (_req, c) => c.end('listen_port=1\n'));
  await serve('silent', () => {});
  await serve('flood', (_req, c) => void c.write('x'.repeat(4096)));
  writeFileSync(join(dir, 'notasocket.sock'), '');
  writeFileSync(join(dir, 'bad name!.sock'), '');
});

afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('socket locations', () => {
  it('system dir first, then the per-user dir; WGTS_UAPI_DIR overrides', () => {
    expect(socketDirs({ XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual(['/var/run/wireguard', '/run/user/1000/wgts']);
    expect(userSocketDir({})).toMatch(/^\/tmp\/wgts-[0-9]+$/);
    expect(socketDirs({ WGTS_UAPI_DIR: '/a:/b:' })).toEqual(['/a', '/b']);
    expect(pidFileFor('/run/x/wg0.sock')).toBe('/run/x/wg0.pid');
  });

  it('finds live sockets only, lists them sorted', async () => {
    expect(findSocket('slow', env())).toBe(join(dir, 'slow.sock'));
    expect(findSocket('notasocket', env())).toBeNull();
    expect(findSocket('../slow', env())).toBeNull();
    expect(await listInterfaces(env())).toEqual(['flood', 'hangup', 'refuse', 'silent', 'slow']);
  });
});

describe('requests', () => {
  it('get and set, whatever the read boundaries', async () => {
    const dev = await getDevice('slow', { env: env() });
    expect(dev.listenPort).toBe(7);
    expect(dev.peers).toHaveLength(1);
    await setDevice('slow', 'set=1\nlisten_port=1\n\n', { env: env() });
  });

  it('errors are typed and bounded', async () => {
    await expect(setDevice('refuse', 'set=1\n\n', { env: env() })).rejects.toThrow(expect.objectContaining({ name: 'UapiError', errno: 22 }));
    await expect(getDevice('refuse', { env: env() })).rejects.toThrow(expect.objectContaining({ errno: 22 }));
    await expect(getDevice('hangup', { env: env() })).rejects.toThrow('closed before a complete reply');
    await expect(getDevice('silent', { env: env(), timeoutMs: 200 })).rejects.toThrow('no complete reply');
    await expect(uapiRequest(join(dir, 'flood.sock'), 'get=1\n\n', { maxReplyBytes: 1000 })).rejects.toThrow(UapiError);
    await expect(getDevice('absent', { env: env() })).rejects.toThrow(InterfaceNotFoundError);
  });
});
