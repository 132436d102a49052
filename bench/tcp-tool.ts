/**
 * Bulk TCP for the netstack benchmark; the same client and protocol talk to
 * our netstack (bench/netstack-peer.ts) and to a kernel TCP server, so only
 * the stack under test differs.
 *   node tcp-tool.js server PORT                 → kernel TCP server (runs until killed)
 *   node tcp-tool.js client HOST PORT send|recv SECONDS → prints {"bytes","seconds","mbps"}
 * Protocol: the client's first byte picks the direction. 'S': the client
 * sends, the server counts until end-of-stream and answers "<bytes>\n".
 * 'R': the server sends until the client closes. Everything gives up after
 * SECONDS + 20 s.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

/** Serves one connection of the protocol above on any Duplex (net.Socket or TunnelSocket). */
export function serveConnection(sock: Duplex): void {
  let mode = '';
  let count = 0;
  sock.on('error', () => sock.destroy());
  sock.on('data', (d: Buffer) => {
    if (mode === '') {
      mode = String.fromCharCode(d[0]!);
      d = d.subarray(1);
      if (mode === 'R') pumpOut(sock);
    }
    count += d.length;
  });
  sock.on('end', () => {
    if (mode === 'S') sock.end(`${count}\n`);
    else sock.end();
  });
}

function pumpOut(sock: Duplex): void {
  const write = (): void => {
    while (!sock.destroyed && sock.writable) {
      if (!sock.write(CHUNK)) {
        sock.once('drain', write);
        return;
      }
    }
  };
  write();
}

function client(host: string, port: number, direction: string, seconds: number): void {
  const sock = net.connect({ host, port });
  sock.setNoDelay(true);
  let t0 = 0;
  let bytes = 0;
  const done = (b: number, elapsed: number): void => {
    console.log(JSON.stringify({ bytes: b, seconds: elapsed, mbps: (b * 8) / elapsed / 1e6 }));
    sock.destroy();
    process.exit(0);
  };
  sock.on('error', (e) => {
    console.error(`tcp-tool: ${e.message}`);
    process.exit(1);
  });
  sock.on('connect', () => {
    if (direction === 'send') {
      sock.write('S');
      t0 = performance.now();
      const until = t0 + seconds * 1000;
      const write = (): void => {
        while (performance.now() < until) {
          if (!sock.write(CHUNK)) {
            sock.once('drain', write);
            return;
          }
        }
        sock.end();
      };
      write();
      let reply = '';
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => {
        reply += d;
        if (reply.endsWith('\n')) done(Number(reply.trim()), (performance.now() - t0) / 1000);
      });
    } else {
      sock.write('R');
      sock.on('data', (d: Buffer) => {
        if (t0 === 0) t0 = performance.now();
        bytes += d.length;
        const el = performance.now() - t0;
        if (el >= seconds * 1000) done(bytes, el / 1000);
      });
    }
  });
}

const isMain = process.argv[1]?.endsWith('/tcp-tool.js') ?? false;
if (isMain) {
  const [, , mode, ...rest] = process.argv;
  if (mode === 'server') {
    const srv = net.createServer((s) => serveConnection(s));
    srv.listen(Number(rest[0]), () => console.log('listening'));
  } else if (mode === 'client') {
    const seconds = Number(rest[3] ?? 4);
    setTimeout(() => {
      console.error('tcp-tool: timeout');
      process.exit(3);
    }, (seconds + 20) * 1000).unref();
    client(rest[0]!, Number(rest[1]), rest[2]!, seconds);
  } else {
    console.error('usage: tcp-tool.js server PORT | client HOST PORT send|recv SECONDS');
    process.exit(2);
  }
}
