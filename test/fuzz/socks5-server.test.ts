/**
 * The SOCKS5 server's stream handling under arbitrary client bytes, split
 * into arbitrary chunks (fake host network and tunnel, no sockets): nothing
 * throws, and every client connection is closed and forgotten afterwards.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startSocks5 } from '../../src/services/socks5.js';
import type { NetLike, UdpSocketLike } from '../../src/services/net-like.js';

function fakeUdp(): UdpSocketLike {
  return {
    bind: (_p?: number, _a?: string, cb?: () => void) => cb?.(),
    send: (_m, _p, _a, cb) => cb?.(null),
    on: () => undefined,
    close: (cb?: () => void) => cb?.(),
    address: () => ({ address: '127.0.0.1', port: 40000 }),
  } as UdpSocketLike;
}

function echoRemote(): Duplex {
  const d: Duplex = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      d.push(chunk);
      cb();
    },
    final(cb) {
      d.push(null);
      cb();
    },
  });
  return d;
}

async function harness() {
  let onConnection: ((s: Duplex) => void) | null = null;
  const local: NetLike = {
    connect: () => Promise.reject(new Error('unused')),
    createServer: (fn) => {
      onConnection = fn;
      return { listen: (_p: number, _h?: string, cb?: () => void) => cb?.(), close: (cb?: (e?: Error) => void) => cb?.(), address: () => ({ address: '127.0.0.1', port: 1080 }), on: () => undefined };
    },
    createSocket: () => fakeUdp(),
  };
  const tunnel: NetLike = {
    connect: async (o) => {
      if (o.port % 3 === 0) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
      return echoRemote();
    },
    createServer: () => {
      throw new Error('unused');
    },
    createSocket: () => fakeUdp(),
  };
  const server = await startSocks5({ host: '127.0.0.1', port: 1080, local, tunnel, username: 'user', password: 'pass', handshakeTimeout: 20, connectTimeout: 20, maxClients: 8 });
  return { server, connect: () => {
    const written: Buffer[] = [];
    const client = new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        written.push(chunk as Buffer);
        cb();
      },
      final(cb) {
        cb();
      },
    });
    onConnection!(client);
    return { client, written };
  } };
}

const enc = (s: string) => [...Buffer.from(s)];
const VALID = [
  [5, 1, 2],
  [1, 4, ...enc('user'), 4, ...enc('pass')],
  [5, 1, 0, 1, 10, 0, 0, 1, 0, 80],
];
const validSession = Uint8Array.from(VALID.flat());

const arbStream = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(validSession.length + 20)).map(([muts, cut]) => {
    const b = Uint8Array.from([...validSession, ...enc('GET / HTTP/1.0\r\n\r\n')]);
    for (const [i, v] of muts) b[i % b.length] = v;
    return b.subarray(0, cut);
  }),
  fc.constantFrom(Uint8Array.from([5, 1, 2, 1, 4, ...enc('user'), 4, ...enc('pass'), 5, 3, 0, 4, ...new Array(16).fill(0), 0, 53]), Uint8Array.from([5, 2, 0, 2, 1, 4, ...enc('user'), 4, ...enc('nope')])),
);

describe('SOCKS5 server under arbitrary client streams', () => {
  it('never throws; every connection closes and is forgotten', async () => {
    const h = await harness();
    await fc.assert(
      fc.asyncProperty(arbStream, fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 6 }), fc.boolean(), async (bytes, cuts, end) => {
        const { client } = h.connect();
        let at = 0;
        for (const c of cuts) {
          if (at >= bytes.length) break;
          client.push(Buffer.from(bytes.subarray(at, at + c)));
          at += c;
          await new Promise((r) => setImmediate(r));
        }
        if (at < bytes.length) client.push(Buffer.from(bytes.subarray(at)));
        if (end) client.push(null);
        // Bounded wait: the 20 ms handshake timeout or the end of the relay closes it.
        for (let i = 0; i < 100 && !client.destroyed; i++) {
          await new Promise((r) => setTimeout(r, 2));
          if (client.writableFinished && client.readableEnded) break;
        }
        if (!client.destroyed) client.destroy();
        await new Promise((r) => setImmediate(r));
        expect(h.server.stats.active).toBe(0);
      }),
      { seed: 42, numRuns: 40 },
    );
    expect(h.server.stats.clients).toBeGreaterThanOrEqual(40);
    expect(h.server.stats.connects + h.server.stats.protocolErrors + h.server.stats.authFailed).toBeGreaterThan(0);
    await h.server.close();
  });
});
