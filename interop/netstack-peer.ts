/**
 * The kernel side of the netstack cross-checks: small Linux TCP/UDP programs
 * run under `ip netns exec`, each printing one `RESULT {json}` line (and
 * `READY` once a server listens). Every mode gives up after 120 s.
 *
 *   sink PORT                      accept one connection, hash everything read
 *   source PORT BYTES [SECONDS]    accept one connection, send BYTES (0: for SECONDS), close
 *   send HOST PORT BYTES [SECONDS] connect, send, close
 *   recv HOST PORT                 connect, hash everything read
 *   many HOST PORT N SIZE          N concurrent connections: send SIZE bytes, expect them echoed, close
 *   echo PORT N                    echo server for N connections, then exit
 *   udp HOST PORT COUNT            COUNT datagrams, each must come back unchanged
 *   udp-refused HOST PORT          connected UDP socket: expect ECONNREFUSED (or RESULT refused:false)
 *
 * Results: {bytes, sha, ms, cpu} for bulk modes (ms from the first byte to the
 * end, cpu = this process's CPU seconds); mode-specific fields otherwise.
 */
import net from 'node:net';
import dgram from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';

const [, , mode, ...args] = process.argv;
const deadline = setTimeout(() => fail('timeout after 120 s'), 120_000);
deadline.unref();

function fail(message: string): never {
  console.error(`netstack-peer ${mode}: ${message}`);
  process.exit(2);
}

function result(obj: Record<string, unknown>): void {
  console.log(`RESULT ${JSON.stringify(obj)}`);
}

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function num(s: string | undefined, what: string): number {
  const n = Number(s);
  if (s === undefined || !Number.isFinite(n)) fail(`bad ${what}: ${String(s)}`);
  return n;
}

/** Reads a socket to its end, hashing; resolves with bytes, hash and timing. */
function drain(sock: net.Socket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const h = createHash('sha256');
    let bytes = 0;
    let first = 0;
    const cpu0 = cpu();
    sock.on('data', (d: Buffer) => {
      if (bytes === 0) first = performance.now();
      h.update(d);
      bytes += d.length;
    });
    sock.on('end', () => {
      const ms = bytes > 0 ? performance.now() - first : 0;
      resolve({ bytes, sha: h.digest('hex'), ms, cpu: cpu() - cpu0 });
      sock.end();
    });
    sock.on('error', (e) => fail(e.message));
  });
}

/** Writes BYTES (or for SECONDS when bytes is 0) of varied random data, then ends. */
function pour(sock: net.Socket, total: number, seconds: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const chunk = randomBytes(1 << 18);
    const h = createHash('sha256');
    let sent = 0;
    let seq = 0;
    const t0 = performance.now();
    const cpu0 = cpu();
    const stopAt = t0 + seconds * 1000;
    const more = (): boolean => (total > 0 ? sent < total : performance.now() < stopAt);
    const pump = (): void => {
      while (more()) {
        // A counter in each chunk: a duplicated or misplaced chunk changes the hash.
        chunk.writeUInt32BE(seq++ >>> 0, 0);
        const n = total > 0 ? Math.min(chunk.length, total - sent) : chunk.length;
        const piece = Buffer.from(chunk.subarray(0, n));
        h.update(piece);
        sent += n;
        if (!sock.write(piece)) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    sock.on('close', () => resolve({ bytes: sent, sha: h.digest('hex'), ms: performance.now() - t0, cpu: cpu() - cpu0 }));
    sock.on('error', (e) => fail(e.message));
    sock.resume();
    pump();
  });
}

function serveOne(port: number, handle: (s: net.Socket) => Promise<Record<string, unknown>>): void {
  const srv = net.createServer((sock) => {
    srv.close();
    void handle(sock).then((r) => {
      result(r);
      process.exit(0);
    });
  });
  srv.on('error', (e) => fail(e.message));
  srv.listen(port, '::', () => console.log('READY'));
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port }, () => resolve(sock));
    sock.on('error', (e) => fail(e.message));
  });
}

async function many(host: string, port: number, n: number, size: number): Promise<void> {
  let ok = 0;
  let bad = 0;
  const errors: Record<string, number> = {};
  const t0 = performance.now();
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const msg = Buffer.alloc(size, i & 0xff);
      msg.writeUInt32BE(i, 0);
      const got: Buffer[] = [];
      let len = 0;
      let done = false;
      const finish = (good: boolean, why?: string): void => {
        if (done) return;
        done = true;
        if (good) ok++;
        else {
          bad++;
          errors[why ?? 'unknown'] = (errors[why ?? 'unknown'] ?? 0) + 1;
        }
        resolve();
      };
      const sock = net.connect({ host, port }, () => sock.write(msg));
      sock.on('data', (d: Buffer) => {
        got.push(d);
        len += d.length;
        // The whole echo is back: close our side; the server closes its side.
        if (len >= size) sock.end();
      });
      sock.on('close', (hadError) => {
        if (hadError) return finish(false, 'close-with-error');
        finish(Buffer.concat(got).equals(msg), 'wrong-echo');
      });
      sock.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
    });
  const all: Promise<void>[] = [];
  for (let i = 0; i < n; i++) all.push(one(i));
  await Promise.all(all);
  result({ ok, bad, errors, ms: performance.now() - t0 });
}

function echoServer(port: number, n: number): void {
  let closed = 0;
  let accepted = 0;
  let bytes = 0;
  const srv = net.createServer((sock) => {
    accepted++;
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      sock.write(d);
    });
    sock.on('end', () => sock.end());
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (++closed === n) {
        result({ accepted, closed, bytes });
        process.exit(0);
      }
    });
  });
  srv.on('error', (e) => fail(e.message));
  srv.listen({ port, host: '::', backlog: 2048 }, () => console.log('READY'));
}

function udpEcho(host: string, port: number, count: number): void {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  let ok = 0;
  let wrong = 0;
  let i = 0;
  let timer: NodeJS.Timeout | null = null;
  const next = (): void => {
    if (i === count) {
      result({ sent: count, ok, wrong });
      process.exit(0);
    }
    const msg = Buffer.from(`wgts-udp-${i++}-${randomBytes(8).toString('hex')}`);
    sock.once('message', (m: Buffer) => {
      if (timer) clearTimeout(timer);
      if (m.equals(msg)) ok++;
      else wrong++;
      next();
    });
    timer = setTimeout(() => {
      sock.removeAllListeners('message');
      next();
    }, 1000);
    sock.send(msg);
  };
  sock.on('error', (e) => fail(e.message));
  sock.connect(port, host, next);
}

function udpRefused(host: string, port: number): void {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', (e: NodeJS.ErrnoException) => {
    result({ refused: e.code === 'ECONNREFUSED', code: e.code });
    process.exit(0);
  });
  sock.on('message', () => {
    result({ refused: false, code: 'answered' });
    process.exit(0);
  });
  sock.connect(port, host, () => {
    // The ICMP error arrives asynchronously; a later send or receive reports it.
    let tries = 0;
    const again = (): void => {
      if (tries++ === 5) {
        result({ refused: false, code: 'silence' });
        process.exit(0);
      }
      sock.send('probe');
      setTimeout(again, 300);
    };
    again();
  });
}

switch (mode) {
  case 'sink':
    serveOne(num(args[0], 'port'), drain);
    break;
  case 'source':
    serveOne(num(args[0], 'port'), (s) => pour(s, num(args[1], 'bytes'), Number(args[2] ?? '0')));
    break;
  case 'send':
    void connect(args[0]!, num(args[1], 'port'))
      .then((s) => pour(s, num(args[2], 'bytes'), Number(args[3] ?? '0')))
      .then((r) => {
        result(r);
        process.exit(0);
      });
    break;
  case 'recv':
    void connect(args[0]!, num(args[1], 'port'))
      .then(drain)
      .then((r) => {
        result(r);
        process.exit(0);
      });
    break;
  case 'many':
    void many(args[0]!, num(args[1], 'port'), num(args[2], 'count'), num(args[3], 'size')).then(() => process.exit(0));
    break;
  case 'echo':
    echoServer(num(args[0], 'port'), num(args[1], 'count'));
    break;
  case 'udp':
    udpEcho(args[0]!, num(args[1], 'port'), num(args[2], 'count'));
    break;
  case 'udp-refused':
    udpRefused(args[0]!, num(args[1], 'port'));
    break;
  default:
    fail('usage: see interop/netstack-peer.ts');
}
