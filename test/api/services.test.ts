/**
 * Config-driven services over a real tunnel on loopback: [Socks5],
 * [TCP|UDP][Client|Server]Tunnel, the status page, UAPI socket, DNS lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCrypto } from '../../src/crypto/index.js';
import { WireGuard } from '../../src/node/endpoint-runtime.js';
import { buildRequest, buildUdpDatagram, parseUdpDatagram } from '../../src/services/socks5-protocol.js';
import { DNS_TYPE_A } from '../../src/endpoint/dns.js';
import { freeTcpPort, freeUdpPort, readN, socks5NoAuthRequest } from '../sockets.js';

const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

async function readAll(s: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  await once(s, 'end');
  return Buffer.concat(parts);
}

let a: WireGuard;
let b: WireGuard;
let tcpEcho: net.Server;
let udpEcho: dgram.Socket;
let ports: { socks: number; tcpc: number; udpc: number };
let uapiDir: string;

beforeAll(async () => {
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  udpEcho = dgram.createSocket('udp4');
  udpEcho.on('message', (m, r) => udpEcho.send(Buffer.concat([Buffer.from('u:'), m]), r.port, r.address));
  await new Promise<void>((r) => udpEcho.bind(0, '127.0.0.1', r));
  ports = { socks: await freeTcpPort(), tcpc: await freeTcpPort(), udpc: await freeUdpPort() };
  uapiDir = mkdtempSync(join(tmpdir(), 'wgts-h7-'));

  const ka = nodeCrypto.generatePrivateKey();
  const kb = nodeCrypto.generatePrivateKey();
  a = await WireGuard.fromConfig(
    `[Interface]
PrivateKey = ${b64(ka)}
Address = 10.8.0.1/24

[Peer]
PublicKey = ${b64(nodeCrypto.publicKey(kb))}
AllowedIPs = 10.8.0.2/32

[TCPServerTunnel]
ListenPort = 8080
Target = 127.0.0.1:${(tcpEcho.address() as net.AddressInfo).port}

[UDPServerTunnel]
ListenPort = 5300
Target = 127.0.0.1:${udpEcho.address().port}

[Netstack]
Status = 10.8.0.1:8081
`,
    { name: 'h7a', uapi: join(uapiDir, 'h7a.sock'), bind: 'dgram' },
  );
  b = await WireGuard.fromConfig(
    `[Interface]
PrivateKey = ${b64(kb)}
Address = 10.8.0.2/32
DNS = 10.8.0.1

[Peer]
PublicKey = ${b64(nodeCrypto.publicKey(ka))}
AllowedIPs = 10.8.0.0/24
Endpoint = 127.0.0.1:${a.listenPort}

[Socks5]
BindAddress = 127.0.0.1:${ports.socks}

[TCPClientTunnel]
BindAddress = 127.0.0.1:${ports.tcpc}
Target = 10.8.0.1:8080

[UDPClientTunnel]
BindAddress = 127.0.0.1:${ports.udpc}
Target = 10.8.0.1:5300
`,
    { bind: 'dgram' },
  );
}, 20_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
  tcpEcho?.close();
  udpEcho?.close();
  if (uapiDir) rmSync(uapiDir, { recursive: true, force: true });
});

describe('services from a config, over the tunnel', () => {
  it('TCP client tunnel → tunnel → TCP server tunnel → local echo', async () => {
    const c = net.connect(ports.tcpc, '127.0.0.1');
    await once(c, 'connect');
    const data = Buffer.alloc(100_000, 3);
    c.write(data);
    expect((await readN(c, data.length)).equals(data)).toBe(true);
    c.destroy();
  }, 15_000);

  it('UDP client tunnel → tunnel → UDP server tunnel → local echo', async () => {
    const u = dgram.createSocket('udp4');
    try {
      let got: Buffer | null = null;
      u.on('message', (m) => (got = m));
      // The first datagram may wait for a handshake: retry a few times.
      for (let i = 0; i < 20 && !got; i++) {
        u.send('dgram', ports.udpc, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(String(got)).toBe('u:dgram');
    } finally {
      u.close();
    }
  }, 15_000);

  it('SOCKS5 CONNECT through the tunnel, and the status page', async () => {
    const { sock: c, method, reply: rep } = await socks5NoAuthRequest(ports.socks, buildRequest(1, { type: 'ipv4', addr: Uint8Array.of(10, 8, 0, 1), port: 8081 }));
    expect([...method]).toEqual([5, 0]);
    expect(rep[1]).toBe(0);
    c.write('GET /status.json HTTP/1.1\r\nHost: x\r\n\r\n');
    const resp = (await readAll(c)).toString();
    expect(resp.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    const json = JSON.parse(resp.slice(resp.indexOf('\r\n\r\n') + 4)) as { stats: { icmp: Record<string, number> }; peers: { publicKey: string; up: boolean }[] };
    expect(json.peers[0]!.publicKey).toBe(b.publicKey);
    expect(json.peers[0]!.up).toBe(true);
    expect(json.stats.icmp).toHaveProperty(['icmp.echo.suppressed{reason=no-route}']);
  }, 15_000);

  it('SOCKS5 UDP ASSOCIATE through the tunnel', async () => {
    const { sock: c, reply: rep } = await socks5NoAuthRequest(ports.socks, buildRequest(3, { type: 'ipv4', addr: new Uint8Array(4), port: 0 }));
    expect(rep[1]).toBe(0);
    const relay = rep.readUInt16BE(8);
    const u = dgram.createSocket('udp4');
    try {
      let got: Buffer | null = null;
      u.on('message', (m) => (got = m));
      for (let i = 0; i < 20 && !got; i++) {
        u.send(buildUdpDatagram({ type: 'ipv4', addr: Uint8Array.of(10, 8, 0, 1), port: 5300 }, Buffer.from('via-socks')), relay, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 100));
      }
      const d = parseUdpDatagram(got!);
      expect(Buffer.from(d.data).toString()).toBe('u:via-socks');
      expect(d.destination).toEqual({ type: 'ipv4', addr: Uint8Array.of(10, 8, 0, 1), port: 5300 });
    } finally {
      u.close();
      c.destroy();
    }
  }, 15_000);

  it('lookup() resolves over the tunnel with the config DNS', async () => {
    // A tiny DNS server on a's tunnel address answering every A query with 10.8.0.42.
    const dns = a.createSocket('udp4');
    dns.on('message', (q, r) => {
      const resp = Buffer.concat([q, Buffer.from([0xc0, 12, 0, DNS_TYPE_A, 0, 1, 0, 0, 0, 60, 0, 4, 10, 8, 0, 42])]);
      resp[2] = 0x81;
      resp[3] = 0x80;
      resp[7] = 1;
      dns.send(resp, r.port, r.address);
    });
    await new Promise<void>((r) => dns.bind(53, r));
    expect(await b.lookup('service.internal', 4)).toEqual({ address: '10.8.0.42', family: 4 });
    dns.close();
  }, 15_000);

  it('serves UAPI get/set on its socket', async () => {
    const ask = (body: string) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(join(uapiDir, 'h7a.sock'));
        let out = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          out += d;
          if (out.endsWith('\n\n')) {
            s.end();
            resolve(out);
          }
        });
        s.on('error', reject);
        s.write(body);
      });
    const got = await ask('get=1\n\n');
    expect(got).toContain(`listen_port=${a.listenPort}\n`);
    expect(got).toContain(`public_key=${Buffer.from(b.publicKey, 'base64').toString('hex')}\n`);
    expect(got.endsWith('errno=0\n\n')).toBe(true);
    const set = await ask(`set=1\npublic_key=${Buffer.from(b.publicKey, 'base64').toString('hex')}\nallowed_ip=10.8.5.0/24\n\n`);
    expect(set).toBe('errno=0\n\n');
    expect(a.peers()[0]!.allowedIPs).toContain('10.8.5.0/24');
  });
});
