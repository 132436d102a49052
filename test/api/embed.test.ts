/**
 * The embed API end to end: two endpoints over real UDP on 127.0.0.1,
 * TCP/UDP/ping through the tunnel, events, stats, close() leaving no handles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import http from 'node:http';
import { makePair, type Pair } from './pair.js';

let pair: Pair;

beforeAll(async () => {
  pair = await makePair();
});
afterAll(async () => {
  await pair?.close();
});

describe('embed API over loopback', () => {
  it('ping: answered for the peer address, rejected on timeout for an unreachable one', async () => {
    const { a, b } = pair;
    const handshake = once(b, 'handshake');
    const rtt = await b.ping('10.7.0.1', { timeout: 3000 });
    expect(rtt).toBeGreaterThan(0);
    const [ev] = (await handshake) as [{ publicKey: string }];
    expect(ev.publicKey).toBe(a.publicKey);
    expect(await b.ping('fd07::1', { timeout: 2000 })).toBeGreaterThan(0);
    await expect(b.ping('10.7.0.99', { timeout: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const icmp = (a.stats() as { icmp: Record<string, number> }).icmp;
    expect(icmp['icmp.echo.replied{reason=local}']).toBe(2);
    expect(icmp['icmp.echo.suppressed{reason=no-route}']).toBe(1);
  });

  it('UDP: createSocket echo both ways', async () => {
    const { a, b } = pair;
    const srv = a.createSocket('udp4');
    srv.on('message', (msg, rinfo) => srv.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address));
    await new Promise<void>((r) => srv.bind(5353, r));
    const cli = b.createSocket('udp4');
    const got = once(cli, 'message');
    cli.send(Buffer.from('hello'), 5353, '10.7.0.1');
    const [msg, rinfo] = (await got) as [Buffer, { address: string; port: number }];
    expect(msg.toString()).toBe('re:hello');
    expect(rinfo).toMatchObject({ address: '10.7.0.1', port: 5353 });
    cli.close();
    srv.close();
  });

  it('TCP: createServer + connect, 2 MB both ways with matching sha256, half-close', async () => {
    const { a, b } = pair;
    const server = a.createServer((conn) => {
      // Echo with a hash trailer once the client half-closes.
      const h = createHash('sha256');
      conn.on('data', (d: Buffer) => {
        h.update(d);
        conn.write(d);
      });
      conn.on('end', () => conn.end(h.digest('hex')));
    });
    await new Promise<void>((r) => server.listen(7000, r));
    const sock = await b.connect({ host: '10.7.0.1', port: 7000 });
    expect(sock.remoteAddress).toBe('10.7.0.1');
    expect(sock.remotePort).toBe(7000);
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 10_000);
    const data = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    const want = createHash('sha256').update(data).digest('hex');
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    await Promise.all([pipeline(Readable.from([data.subarray(0, 1 << 20), data.subarray(1 << 20)]), sock), pipeline(sock, sink)]).catch(async (e) => {
      throw e;
    });
    const all = Buffer.concat(chunks);
    expect(all.length).toBe(data.length + 64);
    expect(createHash('sha256').update(all.subarray(0, data.length)).digest('hex')).toBe(want);
    expect(all.subarray(data.length).toString()).toBe(want);
    server.close();
  }, 30_000);

  it('TCP: ECONNREFUSED for a closed port on the peer, ETIMEDOUT for an unreachable address', async () => {
    const { b } = pair;
    await expect(b.connect({ host: '10.7.0.1', port: 7999 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const early = b.createConnection(7998, '10.7.0.1');
    const [err] = (await once(early, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
    await expect(b.connect(7997, 'no.such.name')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(b.connect({ host: '10.7.0.77', port: 80, timeout: 400 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('http through httpAgent', async () => {
    const { a, b } = pair;
    const server = a.createServer();
    const httpd = http.createServer((req, res) => res.end(`hello ${req.url}`));
    server.on('connection', (c) => httpd.emit('connection', c));
    await new Promise<void>((r) => server.listen(80, r));
    const agent = b.httpAgent();
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '10.7.0.1', port: 80, path: '/x', agent }, (res) => {
          let s = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (s += d));
          res.on('end', () => resolve(`${res.statusCode} ${s}`));
        })
        .on('error', reject);
    });
    expect(body).toBe('200 hello /x');
    agent.destroy();
    httpd.close();
    server.close();
  }, 20_000);

  it('http keep-alive agent reuses one tunnel connection', async () => {
    const { a, b } = pair;
    const server = a.createServer();
    let conns = 0;
    const httpd = http.createServer((req, res) => res.end(`n=${req.url}`));
    server.on('connection', (c) => {
      conns++;
      httpd.emit('connection', c);
    });
    await new Promise<void>((r) => server.listen(8088, r));
    const agent = b.httpAgent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<string>((resolve, reject) => {
        http
          .get({ host: '10.7.0.1', port: 8088, path, agent }, (res) => {
            let s = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (s += d));
            res.on('end', () => resolve(s));
          })
          .on('error', reject);
      });
    expect(await get('/1')).toBe('n=/1');
    expect(await get('/2')).toBe('n=/2');
    expect(await get('/3')).toBe('n=/3');
    expect(conns).toBe(1);
    agent.destroy();
    httpd.close();
    server.close();
  }, 20_000);

  it('peers() and stats()', () => {
    const { a, b } = pair;
    const [p] = b.peers();
    expect(p!.publicKey).toBe(a.publicKey);
    expect(p!.up).toBe(true);
    expect(p!.lastHandshake).toBeGreaterThan(0);
    expect(p!.allowedIPs).toEqual(['10.7.0.0/24', 'fd07::/64']);
    const s = a.stats() as { device: { handshakesCompleted: number } };
    expect(s.device.handshakesCompleted).toBeGreaterThanOrEqual(1);
  });
});
