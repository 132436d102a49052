/**
 * SOCKS5 and forwards with the host network standing in for the tunnel
 * (loopback only). The same services run over a real tunnel in test/api.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { hostNet } from '../../src/services/net-like.js';
import { startTcpForward, startUdpForward } from '../../src/services/forwards.js';
import { startSocks5 } from '../../src/services/socks5.js';
import { buildRequest, buildUdpDatagram, parseUdpDatagram } from '../../src/services/socks5-protocol.js';
import { freeTcpPort, readN, socks5NoAuthRequest } from '../sockets.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function echoServer(): Promise<number> {
  const srv = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => srv.close(() => r())));
  return (srv.address() as net.AddressInfo).port;
}

async function udpEcho(): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
  return s.address().port;
}

async function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  c.write(payload);
  const got = await readN(c, payload.length);
  c.destroy();
  return got;
}

describe('TCP forward', () => {
  it('relays bytes both ways and counts', async () => {
    const target = await echoServer();
    const fwd = await startTcpForward({ listenNet: hostNet, listenHost: '127.0.0.1', listenPort: 0, dialNet: hostNet, targetHost: '127.0.0.1', targetPort: target });
    closers.push(() => fwd.close());
    const data = Buffer.alloc(200_000, 7);
    data.writeUInt32BE(0xdeadbeef, 1000);
    const got = await roundTrip(fwd.listening.port, data);
    expect(got.equals(data)).toBe(true);
    expect(fwd.stats.accepted).toBe(1);
  });

  it('closes the client when the target refuses', async () => {
    const dead = await freeTcpPort();
    const fwd = await startTcpForward({ listenNet: hostNet, listenHost: '127.0.0.1', listenPort: 0, dialNet: hostNet, targetHost: '127.0.0.1', targetPort: dead });
    closers.push(() => fwd.close());
    const c = net.connect(fwd.listening.port, '127.0.0.1');
    c.on('error', () => {});
    await once(c, 'close');
    expect(fwd.stats.dialFailed).toBe(1);
  });
});

describe('UDP forward', () => {
  it('relays datagrams and replies per client', async () => {
    const target = await udpEcho();
    const fwd = await startUdpForward({ listenNet: hostNet, listenHost: '127.0.0.1', listenPort: 0, dialNet: hostNet, targetHost: '127.0.0.1', targetPort: target });
    closers.push(() => fwd.close());
    for (const name of ['a', 'b']) {
      const c = dgram.createSocket('udp4');
      closers.push(() => new Promise<void>((r) => c.close(() => r())));
      c.send(Buffer.from(name), fwd.listening.port, '127.0.0.1');
      const [msg] = (await once(c, 'message')) as [Buffer];
      expect(msg.toString()).toBe(`echo:${name}`);
    }
    expect(fwd.stats.accepted).toBe(2);
    expect(fwd.stats.datagramsOut).toBe(2);
    expect(fwd.stats.datagramsIn).toBe(2);
  });
});

describe('SOCKS5 server', () => {
  it('CONNECT without auth', async () => {
    const target = await echoServer();
    const socks = await startSocks5({ host: '127.0.0.1', port: 0, tunnel: hostNet });
    closers.push(() => socks.close());
    const { sock: c, method, reply: rep } = await socks5NoAuthRequest(socks.listening.port, buildRequest(1, { type: 'ipv4', addr: Uint8Array.of(127, 0, 0, 1), port: target }));
    expect([...method]).toEqual([5, 0]);
    expect(rep[0]).toBe(5);
    expect(rep[1]).toBe(0);
    c.write('hello socks');
    expect((await readN(c, 11)).toString()).toBe('hello socks');
    c.destroy();
    expect(socks.stats.connects).toBe(1);
  });

  it('username/password: accepts the right credentials, rejects others', async () => {
    const target = await echoServer();
    const socks = await startSocks5({ host: '127.0.0.1', port: 0, tunnel: hostNet, username: 'u', password: 'p' });
    closers.push(() => socks.close());
    const auth = (user: string, pass: string) =>
      Buffer.concat([Buffer.from([1, user.length]), Buffer.from(user), Buffer.from([pass.length]), Buffer.from(pass)]);

    const bad = net.connect(socks.listening.port, '127.0.0.1');
    await once(bad, 'connect');
    bad.write(Uint8Array.of(5, 1, 2));
    expect([...(await readN(bad, 2))]).toEqual([5, 2]);
    bad.write(auth('u', 'x'));
    expect([...(await readN(bad, 2))]).toEqual([1, 1]);
    await once(bad, 'close');

    const noauth = net.connect(socks.listening.port, '127.0.0.1');
    await once(noauth, 'connect');
    noauth.write(Uint8Array.of(5, 1, 0));
    expect([...(await readN(noauth, 2))]).toEqual([5, 0xff]);
    noauth.destroy();

    const good = net.connect(socks.listening.port, '127.0.0.1');
    await once(good, 'connect');
    good.write(Uint8Array.of(5, 1, 2));
    await readN(good, 2);
    good.write(auth('u', 'p'));
    expect([...(await readN(good, 2))]).toEqual([1, 0]);
    good.write(buildRequest(1, { type: 'domain', host: '127.0.0.1', port: target }));
    expect((await readN(good, 10))[1]).toBe(0);
    good.write('x');
    expect((await readN(good, 1)).toString()).toBe('x');
    good.destroy();
    expect(socks.stats.authFailed).toBe(2);
  });

  it('CONNECT to a closed port answers connection refused', async () => {
    const dead = await freeTcpPort();
    const socks = await startSocks5({ host: '127.0.0.1', port: 0, tunnel: hostNet });
    closers.push(() => socks.close());
    const { sock: c, reply: rep } = await socks5NoAuthRequest(socks.listening.port, buildRequest(1, { type: 'ipv4', addr: Uint8Array.of(127, 0, 0, 1), port: dead }));
    expect(rep[1]).toBe(5);
    c.destroy();
  });

  it('UDP ASSOCIATE relays datagrams', async () => {
    const target = await udpEcho();
    const socks = await startSocks5({ host: '127.0.0.1', port: 0, tunnel: hostNet });
    closers.push(() => socks.close());
    const { sock: c, reply: rep } = await socks5NoAuthRequest(socks.listening.port, buildRequest(3, { type: 'ipv4', addr: new Uint8Array(4), port: 0 }));
    expect(rep[1]).toBe(0);
    const relayPort = rep.readUInt16BE(8);
    const u = dgram.createSocket('udp4');
    closers.push(() => new Promise<void>((r) => u.close(() => r())));
    u.send(buildUdpDatagram({ type: 'ipv4', addr: Uint8Array.of(127, 0, 0, 1), port: target }, Buffer.from('ping')), relayPort, '127.0.0.1');
    const [msg] = (await once(u, 'message')) as [Buffer];
    const d = parseUdpDatagram(msg);
    expect(Buffer.from(d.data).toString()).toBe('echo:ping');
    expect(d.destination).toEqual({ type: 'ipv4', addr: Uint8Array.of(127, 0, 0, 1), port: target });
    c.destroy();
    expect(socks.stats.udpOut).toBe(1);
    expect(socks.stats.udpIn).toBe(1);
  });
});

describe('limits', () => {
  it('SOCKS5 drops a client that never finishes the handshake', async () => {
    const socks = await startSocks5({ host: '127.0.0.1', port: 0, tunnel: hostNet, handshakeTimeout: 100 });
    closers.push(() => socks.close());
    const c = net.connect(socks.listening.port, '127.0.0.1');
    c.on('error', () => {});
    await once(c, 'connect');
    c.write(Uint8Array.of(5));
    const t0 = Date.now();
    await once(c, 'close');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
    expect(socks.stats.protocolErrors).toBe(1);
  });

  it('TCP forward refuses connections beyond its limit', async () => {
    const target = await echoServer();
    const fwd = await startTcpForward({ listenNet: hostNet, listenHost: '127.0.0.1', listenPort: 0, dialNet: hostNet, targetHost: '127.0.0.1', targetPort: target, maxSessions: 1 });
    closers.push(() => fwd.close());
    const a = net.connect(fwd.listening.port, '127.0.0.1');
    await once(a, 'connect');
    a.write('a');
    await once(a, 'data');
    const b = net.connect(fwd.listening.port, '127.0.0.1');
    b.on('error', () => {});
    await once(b, 'close');
    expect(fwd.stats.evicted).toBe(1);
    expect(fwd.stats.accepted).toBe(1);
    a.destroy();
  });
});
