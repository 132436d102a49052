/**
 * `npm run demo`: two endpoints on loopback, one process. Shows a handshake,
 * an answered ping, an unanswered ping to an address nobody serves (the
 * reachability policy at work), and an HTTP request through the tunnel.
 */
import http from 'node:http';
import { once } from 'node:events';
import { WireGuard } from '../node/endpoint-runtime.js';
import { createQuickstartConfig } from './quickstart.js';

export interface DemoResult {
  handshakeMs: number;
  pingRttMs: number;
  unreachableAnswered: boolean;
  httpStatus: number;
  httpBody: string;
  icmp: Record<string, number>;
}

export async function runDemo(opts: { log?: (line: string) => void; listenPort?: number } = {}): Promise<DemoResult> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const q = createQuickstartConfig({ listenPort: opts.listenPort ?? 0, subnet: '10.99.0' });
  const server = await WireGuard.fromConfig(q.serverConfig, { name: 'demo-server' });
  // The client config names the server's port; with port 0 we patch in the real one.
  const client = await WireGuard.fromConfig(q.clientConfig.replace(/Endpoint = 127\.0\.0\.1:\d+/, `Endpoint = 127.0.0.1:${server.listenPort}`), { name: 'demo-client' });
  try {
    log(`server ${q.serverAddress}  UDP 127.0.0.1:${server.listenPort}  key ${server.publicKey}`);
    log(`client ${q.clientAddress}  UDP 127.0.0.1:${client.listenPort}  key ${client.publicKey}`);
    const web = server.createServer();
    const httpd = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`hello from ${q.serverAddress} over WireGuard (you asked for ${req.url})\n`);
    });
    web.on('connection', (c) => httpd.emit('connection', c));
    await new Promise<void>((r) => web.listen(8000, r));

    const t0 = performance.now();
    const hs = once(client, 'handshake');
    const rtt = await client.ping(q.serverAddress, { timeout: 8000 }).catch((e: Error) => {
      if (process.env.WGTS_DEMO_DEBUG) log(JSON.stringify({ client: client.stats(), server: server.stats(), peers: client.peers() }));
      throw e;
    });
    await hs;
    const handshakeMs = performance.now() - t0;
    log(`handshake done; ping ${q.serverAddress}: reply in ${rtt.toFixed(2)} ms`);

    const nobody = '10.99.0.200';
    let unreachableAnswered = true;
    try {
      await client.ping(nobody, { timeout: 500 });
      log(`ping ${nobody}: answered (unexpected!)`);
    } catch {
      unreachableAnswered = false;
      log(`ping ${nobody}: no reply - nobody is there, and the server does not pretend otherwise`);
    }

    const agent = client.httpAgent();
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: q.serverAddress, port: 8000, path: '/demo', agent }, (res) => {
          let b = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        })
        .on('error', reject);
    });
    log(`HTTP GET http://${q.serverAddress}:8000/demo -> ${status}: ${body.trim()}`);
    agent.destroy();
    httpd.close();
    web.close();
    const icmp = (server.stats() as { icmp: Record<string, number> }).icmp;
    for (const [k, v] of Object.entries(icmp)) if (v) log(`server counter ${k} = ${v}`);
    return { handshakeMs, pingRttMs: rtt, unreachableAnswered, httpStatus: status, httpBody: body, icmp };
  } finally {
    await client.close();
    await server.close();
  }
}
