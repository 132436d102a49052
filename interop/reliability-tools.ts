/**
 * Traffic tools for the reliability suite, run inside a namespace:
 *   flood-init HOST PORT PUBKEY PPS SECONDS SOCKETS
 *       handshake initiations with a valid mac1 for PUBKEY (garbage ephemeral,
 *       static and timestamp, so each costs the receiver a DH unless it is under
 *       load), from SOCKETS source ports; prints {"sent":N,"seconds":S}
 *   flood-garbage HOST PORT PPS SECONDS SOCKETS
 *       random datagrams (random type byte and length, 1..1500); same output
 *   tcp-server PORT LIMIT_S      one connection; prints {"bytes","sha256","maxGapMs"}
 *   tcp-client HOST PORT SECONDS MBIT
 *       sends for SECONDS (MBIT 0: as fast as TCP goes, else paced); prints
 *       {"bytes","sha256","seconds"}
 *   relay LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT LIMIT_S
 *       a UDP relay with one socket: datagrams from TARGET go to the last other
 *       sender (the client), everything else goes to TARGET; datagrams from the
 *       client are recorded (type byte 1 initiation, 4 transport). Prints
 *       {"event":"ready"}, then answers one JSON line per command line on stdin:
 *         {"cmd":"counts"}           → {"fromClient":{type:n},"fromTarget":{type:n}}
 *         {"cmd":"clear"}            → forgets what was recorded; {"cleared":true}
 *         {"cmd":"replay","type":T}  → re-sends every recorded client datagram of
 *                                      type T to TARGET from the same socket; {"sent":n}
 * Every mode ends by itself (a hard limit), so a stuck peer cannot hang the suite.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';

const [, , mode, ...args] = process.argv;

function hardLimit(seconds: number): void {
  setTimeout(() => {
    console.error(`reliability-tools ${mode}: hard limit ${seconds} s`);
    process.exit(3);
  }, seconds * 1000).unref();
}

/** Sends `make(i)` datagrams at `pps` for `seconds` from `nSockets` ports, in 1 ms-ish bursts. */
async function flood(host: string, port: number, pps: number, seconds: number, nSockets: number, make: (i: number) => Uint8Array): Promise<void> {
  hardLimit(seconds + 20);
  const sockets = await Promise.all(
    Array.from({ length: nSockets }, () => {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      s.on('error', () => undefined); // ICMP errors, full buffers: a flood does not care
      return new Promise<dgram.Socket>((r) => s.bind(0, () => r(s)));
    }),
  );
  let sent = 0;
  let inFlight = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - t0) / 1000) * pps);
    // Bound what waits in libuv so memory stays flat when the kernel is slower than us.
    while (sent < due && inFlight < 2048) {
      const s = sockets[sent % nSockets]!;
      inFlight++;
      s.send(make(sent), port, host, () => inFlight--);
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const secs = (performance.now() - t0) / 1000;
  for (const s of sockets) s.close();
  console.log(JSON.stringify({ sent, seconds: Number(secs.toFixed(2)) }));
}

/** Loaded only for the handshake flood, so the other modes need nothing but node. */
async function initiationMaker(publicKeyB64: string): Promise<(i: number) => Uint8Array> {
  const { defaultCrypto } = await import('../src/crypto/index.js');
  const { mac1KeyFor } = await import('../src/wireguard/cookie.js');
  const { INITIATION, INITIATION_SIZE, MESSAGE_INITIATION, writeU32 } = await import('../src/wireguard/messages.js');
  const crypto = defaultCrypto();
  const key = mac1KeyFor(crypto, new Uint8Array(Buffer.from(publicKeyB64, 'base64')));
  // A pool of distinct messages: the receiver sees different senders and ephemerals.
  const pool: Uint8Array[] = [];
  for (let k = 0; k < 256; k++) {
    const m = new Uint8Array(INITIATION_SIZE);
    randomFillSync(m);
    m.fill(0, 0, 4);
    m[0] = MESSAGE_INITIATION;
    writeU32(m, INITIATION.sender, k * 7919 + 1);
    m.set(crypto.mac(key, m.subarray(0, INITIATION.mac1)), INITIATION.mac1);
    m.fill(0, INITIATION.mac2, INITIATION.mac2 + 16);
    pool.push(m);
  }
  return (i) => pool[i & 255]!;
}

function garbageMaker(): (i: number) => Uint8Array {
  const pool: Uint8Array[] = [];
  for (let k = 0; k < 512; k++) {
    const len = k % 8 === 0 ? 148 : k % 8 === 1 ? 32 + (k % 200) : 1 + (randomBytes(2).readUInt16BE(0) % 1500);
    const m = randomBytes(len);
    // Mostly valid type bytes (1..4, reserved zero) so the parser gets past its first check.
    if (k % 4 !== 3) {
      m[0] = 1 + (k % 4);
      m.fill(0, 1, Math.min(4, len));
    }
    pool.push(m);
  }
  return (i) => pool[i % 512]!;
}

function tcpServer(port: number, limitS: number): void {
  hardLimit(limitS);
  const srv = net.createServer((sock) => {
    const h = createHash('sha256');
    let bytes = 0;
    let last = performance.now();
    let maxGapMs = 0;
    sock.on('data', (d) => {
      const now = performance.now();
      if (bytes > 0) maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      h.update(d);
      bytes += d.length;
    });
    sock.on('end', () => {
      console.log(JSON.stringify({ bytes, sha256: h.digest('hex'), maxGapMs: Math.round(maxGapMs) }));
      sock.end();
      srv.close();
    });
    sock.on('error', (e) => {
      console.error(`tcp-server: ${e.message}`);
      process.exit(2);
    });
  });
  srv.listen(port, '::', () => console.error('listening'));
}

function tcpClient(host: string, port: number, seconds: number, mbit: number): void {
  hardLimit(seconds + 90);
  const chunk = randomBytes(64 * 1024);
  const h = createHash('sha256');
  let bytes = 0;
  let seq = 0;
  let t0 = 0;
  const sock = net.connect({ host, port }, () => {
    t0 = performance.now();
    const pump = (): void => {
      for (;;) {
        const elapsed = (performance.now() - t0) / 1000;
        if (elapsed >= seconds) {
          sock.end();
          return;
        }
        if (mbit > 0 && bytes * 8 > elapsed * mbit * 1e6) {
          setTimeout(pump, 5);
          return;
        }
        // Each chunk differs, so a duplicated or reordered chunk changes the hash.
        chunk.writeUInt32BE(seq++, 0);
        const piece = Buffer.from(chunk);
        h.update(piece);
        bytes += piece.length;
        if (!sock.write(piece)) {
          sock.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  sock.on('close', () => {
    console.log(JSON.stringify({ bytes, sha256: h.digest('hex'), seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) }));
    process.exit(0);
  });
  sock.on('error', (e) => {
    console.error(`tcp-client: ${e.message}`);
    process.exit(2);
  });
}

/** The relay: forwards both ways, records the client's datagrams, re-sends them on request. */
function relay(listenHost: string, listenPort: number, targetHost: string, targetPort: number, limitS: number): void {
  hardLimit(limitS);
  const sock = dgram.createSocket(listenHost.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', (e) => console.error(`relay: ${e.message}`));
  let client: { address: string; port: number } | undefined;
  const fromClient: Record<number, number> = {};
  const fromTarget: Record<number, number> = {};
  // Recorded client datagrams by type; bounded so a long run cannot grow without end.
  const recorded = new Map<number, Buffer[]>();
  const MAX_RECORDED = 100_000;
  let recordedCount = 0;
  sock.on('message', (msg, rinfo) => {
    const type = msg.length >= 4 && msg[1] === 0 && msg[2] === 0 && msg[3] === 0 ? msg[0]! : 0;
    if (rinfo.address === targetHost && rinfo.port === targetPort) {
      fromTarget[type] = (fromTarget[type] ?? 0) + 1;
      if (client) sock.send(msg, client.port, client.address);
      return;
    }
    client = { address: rinfo.address, port: rinfo.port };
    fromClient[type] = (fromClient[type] ?? 0) + 1;
    if (recordedCount < MAX_RECORDED) {
      let list = recorded.get(type);
      if (!list) recorded.set(type, (list = []));
      list.push(Buffer.from(msg));
      recordedCount++;
    }
    sock.send(msg, targetPort, targetHost);
  });
  const reply = (obj: unknown): void => void process.stdout.write(JSON.stringify(obj) + '\n');
  const commands = async (line: string): Promise<void> => {
    const req = JSON.parse(line) as { cmd: string; type?: number };
    switch (req.cmd) {
      case 'counts':
        reply({ fromClient, fromTarget });
        break;
      case 'clear':
        recorded.clear();
        recordedCount = 0;
        reply({ cleared: true });
        break;
      case 'replay': {
        const list = recorded.get(req.type ?? -1) ?? [];
        await Promise.all(list.map((m) => new Promise<void>((r) => sock.send(m, targetPort, targetHost, () => r()))));
        reply({ sent: list.length });
        break;
      }
      default:
        reply({ error: `unknown command ${req.cmd}` });
    }
  };
  let chain = Promise.resolve();
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) chain = chain.then(() => commands(line)).catch((e: Error) => reply({ error: e.message }));
    }
  });
  process.stdin.on('end', () => process.exit(0));
  sock.bind(listenPort, listenHost, () => reply({ event: 'ready' }));
}

const n = (i: number): number => Number(args[i]);
switch (mode) {
  case 'flood-init':
    await flood(args[0]!, n(1), n(3), n(4), n(5), await initiationMaker(args[2]!));
    break;
  case 'flood-garbage':
    await flood(args[0]!, n(1), n(2), n(3), n(4), garbageMaker());
    break;
  case 'tcp-server':
    tcpServer(n(0), n(1));
    break;
  case 'tcp-client':
    tcpClient(args[0]!, n(1), n(2), n(3));
    break;
  case 'relay':
    relay(args[0]!, n(1), args[2]!, n(3), n(4));
    break;
  default:
    console.error('usage: see interop/reliability-tools.ts');
    process.exit(2);
}
