/** close() releases every handle (own file: no other endpoint's timers in this process). */
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { makePair } from './pair.js';

describe('close()', () => {
  it('leaves no handles behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    const p = await makePair();
    await p.b.ping('10.7.0.1', { timeout: 3000 });
    const srv = p.a.createServer((c) => c.pipe(c));
    await new Promise<void>((r) => srv.listen(9, r));
    const s = await p.b.connect({ host: '10.7.0.1', port: 9 });
    s.write('x');
    await once(s, 'data');
    const u = p.b.createSocket('udp4');
    u.bind(1234);
    // Leave the socket, the server and the UDP socket open: close() must release them.
    await p.close();
    // dgram handles finish closing a few loop turns later (longer on a loaded
    // machine); the test runner's own timers come and go, so compare counts
    // per resource type: nothing may be left above what existed before.
    const counts = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {});
    const leaked = () => {
      const b = counts(before);
      const a = counts(process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap'));
      return Object.entries(a).filter(([k, n]) => n > (b[k] ?? 0));
    };
    for (let i = 0; i < 50 && leaked().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(leaked()).toEqual([]);
    expect(s.destroyed).toBe(true);
  });
});

describe('close() with a connection still sending', () => {
  it('resets the connection at the peer and closes the local socket once, without error', async () => {
    const p = await makePair();
    try {
      await p.b.ping('10.7.0.1', { timeout: 3000 });
      let serverSide: import('node:net').Socket | null = null;
      const accepted = new Promise<void>((resolve) => {
        const srv = p.a.createServer((c) => {
          serverSide = c as unknown as import('node:net').Socket;
          c.pause(); // never reads: the client's data stays queued on its side
          resolve();
        });
        srv.listen(10);
      });
      const s = await p.b.connect({ host: '10.7.0.1', port: 10 });
      s.write(Buffer.alloc(4 << 20, 7));
      await accepted;
      const closes: unknown[] = [];
      s.on('close', (hadError: unknown) => closes.push(hadError));
      s.on('error', () => closes.push('error'));
      const peerError = new Promise<string>((resolve) => {
        serverSide!.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        setTimeout(() => resolve('no error within 3 s'), 3000).unref();
      });
      await p.b.close();
      expect(await peerError).toBe('ECONNRESET');
      await new Promise((r) => setTimeout(r, 50));
      expect(closes).toEqual([false]);
    } finally {
      await p.close();
    }
  });
});
