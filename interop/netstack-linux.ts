/**
 * Linux cross-checks of the netstack (issues 5 and 6): our Stack on a kernel
 * TUN whose other side is a namespace; real `ping`, Linux UDP and TCP
 * (helpers under `ip netns exec`) against it, hashes compared both ways.
 *
 *   node dist/interop/netstack-linux.js [filter]     (root; /dev/net/tun; native addon)
 *
 * One line per case, then exactly `N passed, M failed`; exit 1 on any
 * failure. The namespace is removed at the end, on failure and on SIGTERM/SIGINT.
 * Every case is bounded in time. Uses: ip, ping, tc (netem when the kernel
 * has it, else an in-process delay line), sysctl via /proc, curl (optional).
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { IcmpForwarder, formatAddress, type IcmpForwarderRequest } from '../src/netstack/index.js';
import type { TcpEndpoint } from '../src/netstack/transport/tcp/endpoint.js';
import { finish, pseudoHeaderSum, sum16 } from '../src/netstack/header/checksum.js';
import { loadNative } from '../src/node/native.js';
import { assert, assertEqual, pingCounts } from './lib.js';
import {
  KERNEL4,
  KERNEL6,
  STACK4,
  STACK6,
  TEMP4,
  TEMP6,
  NIC,
  TunRelay,
  TunStack,
  addr,
  closeAll,
  exitCleanlyOnSignals,
  kernelRetransmits,
  ready,
  resultOf,
  stackEcho,
  stackSink,
  stackSource,
  within,
  PEER_SCRIPT,
  type ImpairOptions,
  type TransferResult,
} from './netstack-harness.js';

const MB = 1 << 20;
const BULK = Number(process.env.NETSTACK_LINUX_BULK_MB ?? '32') * MB;
const LOSSY = Number(process.env.NETSTACK_LINUX_LOSSY_MB ?? '5') * MB;

interface Case {
  name: string;
  timeoutMs: number;
  fn: (h: TunStack) => Promise<string | void>;
}

const cases: Case[] = [];
const test = (name: string, timeoutMs: number, fn: Case['fn']): void => void cases.push({ name, timeoutMs, fn });

// ------------------------------------------------------------------ helpers

async function ping(h: TunStack, target: string, count = 5): Promise<{ sent: number; received: number }> {
  const v6 = target.includes(':');
  const p = h.bg(['ping', ...(v6 ? ['-6'] : []), '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', target]);
  const r = await within(p.finished, 15_000, `ping ${target}`).finally(() => p.stop());
  return pingCounts(r.stdout);
}

function withIcmpHandler<T>(h: TunStack, handler: (req: IcmpForwarderRequest) => boolean, body: () => Promise<T>): Promise<T> {
  const fwd = new IcmpForwarder(h.stack, handler);
  h.stack.setTransportProtocolHandler(1, fwd.handlePacket);
  h.stack.setTransportProtocolHandler(58, fwd.handlePacket);
  return body().finally(() => {
    h.stack.setTransportProtocolHandler(1, null);
    h.stack.setTransportProtocolHandler(58, null);
  });
}

async function promiscuous<T>(h: TunStack, body: () => Promise<T>): Promise<T> {
  h.stack.setPromiscuous(NIC, true);
  try {
    return await body();
  } finally {
    h.stack.setPromiscuous(NIC, false);
  }
}

function icmpDelta(h: TunStack, v: 4 | 6): () => { requests: number; replies: number; consumed: number; suppressed: number } {
  const s = v === 4 ? h.stack.stats.icmpv4 : h.stack.stats.icmpv6;
  const b = { ...s };
  return () => ({
    requests: s.echoRequestsReceived - b.echoRequestsReceived,
    replies: s.echoRepliesSent - b.echoRepliesSent,
    consumed: s.consumedByHandler - b.consumedByHandler,
    suppressed: s.suppressedTemporary - b.suppressedTemporary,
  });
}

/** One listener connection as a promise (the listener is closed after it). */
function acceptOne(h: TunStack, port: number): { conn: Promise<TcpEndpoint>; close(): void } {
  const l = h.tcp.listen(port);
  const conn = new Promise<TcpEndpoint>((resolve) => {
    l.onConnection = (ep) => {
      l.close();
      resolve(ep);
    };
  });
  return { conn, close: () => l.close() };
}

function sameTransfer(what: string, from: TransferResult, to: TransferResult, bytes: number): string {
  assertEqual(from.bytes, bytes, `${what}: bytes sent`);
  assertEqual(to.bytes, bytes, `${what}: bytes received`);
  assertEqual(to.sha, from.sha, `${what}: sha256`);
  const mbps = (bytes * 8) / 1e6 / (Math.max(1, to.ms) / 1000);
  const r = from.tcp ?? to.tcp;
  const rec = r && (r.retransmits || r.outOfOrder) ? ` (ours: ${r.retransmits} retransmits, ${r.fastRecoveries} fast recoveries, ${r.timeouts} RTOs, ${r.outOfOrder} out-of-order in)` : '';
  return `${(bytes / MB).toFixed(bytes < MB ? 2 : 0)} MiB sha256 ${to.sha.slice(0, 12)}… equal, ${mbps.toFixed(0)} Mbit/s${rec}`;
}

/** Kernel client sends to a stack listener. */
async function kernelToStack(h: TunStack, target: string, port: number, bytes: number, ms: number): Promise<string> {
  const a = acceptOne(h, port);
  const drops0 = h.kernelTxDropped();
  const client = h.peer(['send', target, String(port), String(bytes)]);
  try {
    const sink = within(a.conn.then(stackSink), ms, 'stack sink');
    const [sent, got] = await Promise.all([resultOf<TransferResult>(client, ms, 'kernel sender'), sink]);
    const drops = h.kernelTxDropped() - drops0;
    return sameTransfer('kernel→stack', sent, got, bytes) + (drops > 0 ? `; kernel TUN queue dropped ${drops}` : '');
  } finally {
    a.close();
    client.stop();
  }
}

/** Kernel client reads from a stack listener. */
async function stackToKernelServer(h: TunStack, target: string, port: number, bytes: number, ms: number): Promise<string> {
  const a = acceptOne(h, port);
  const client = h.peer(['recv', target, String(port)]);
  try {
    const src = within(
      a.conn.then((ep) => stackSource(ep, bytes, 0, () => h.kick())),
      ms,
      'stack source',
    );
    const [got, sent] = await Promise.all([resultOf<TransferResult>(client, ms, 'kernel receiver'), src]);
    return sameTransfer('stack→kernel', sent, got, bytes);
  } finally {
    a.close();
    client.stop();
  }
}

/** Our client sends to a kernel server. */
async function stackClientSends(h: TunStack, target: string, port: number, bytes: number, ms: number): Promise<string> {
  const server = h.peer(['sink', String(port)]);
  try {
    await ready(server);
    const ep = h.tcp.connect({ remoteAddress: addr(target), remotePort: port });
    const sent = await within(stackSource(ep, bytes, 0, () => h.kick()), ms, 'stack client source');
    const got = await resultOf<TransferResult>(server, 10_000, 'kernel sink');
    return sameTransfer('stack client→kernel server', sent, got, bytes);
  } finally {
    server.stop();
  }
}

/** Our client reads from a kernel server. */
async function stackClientReceives(h: TunStack, target: string, port: number, bytes: number, ms: number): Promise<string> {
  const server = h.peer(['source', String(port), String(bytes)]);
  try {
    await ready(server);
    const ep = h.tcp.connect({ remoteAddress: addr(target), remotePort: port });
    h.kick();
    const got = await within(stackSink(ep), ms, 'stack client sink');
    const sent = await resultOf<TransferResult>(server, 10_000, 'kernel source');
    return sameTransfer('kernel server→stack client', sent, got, bytes);
  } finally {
    server.stop();
  }
}

/** Linux → Linux through the same in-process impairment (information, not a pass/fail figure). */
async function linuxReference(ab: ImpairOptions, ba: ImpairOptions, bytes: number): Promise<string> {
  const relay = new TunRelay();
  try {
    const lines = relay.impair(ab, ba);
    const sink = relay.b.bg([process.execPath, PEER_SCRIPT, 'sink', '5199']);
    await ready(sink);
    const rtx0 = kernelRetransmits(relay.a);
    const send = relay.a.bg([process.execPath, PEER_SCRIPT, 'send', TunRelay.ADDR_B, '5199', String(bytes)]);
    const [sent, got] = await Promise.all([resultOf<TransferResult>(send, 70_000, 'reference sender'), resultOf<TransferResult>(sink, 70_000, 'reference sink')]);
    const detail = sameTransfer('reference', sent, got, bytes);
    return `${lines.ab!.stats.dropped} data / ${lines.ba!.stats.dropped} ACK packets dropped, Linux retransmitted ${kernelRetransmits(relay.a) - rtx0}: ${detail}`;
  } finally {
    relay.close();
  }
}

function which(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function sysctl(h: TunStack, key: string, value: string): void {
  h.nsRun(['sh', '-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`]);
}

// ------------------------------------------------------------------ issue 5: ICMP and UDP

test('icmp4 no handler: ping gets every reply', 20_000, async (h) => {
  const d = icmpDelta(h, 4);
  const p = await ping(h, STACK4);
  assertEqual(p.sent, 5, 'sent');
  assertEqual(p.received, 5, 'received');
  assertEqual(d().replies, 5, 'stack echoRepliesSent');
  return '5/5';
});

test('icmp6 no handler: ping -6 gets every reply', 20_000, async (h) => {
  const d = icmpDelta(h, 6);
  const p = await ping(h, STACK6);
  assertEqual(p.received, 5, 'received');
  assertEqual(d().replies, 5, 'stack echoRepliesSent');
  return '5/5';
});

test('icmp consuming default handler: 100% loss (v4 and v6)', 30_000, async (h) => {
  let calls = 0;
  await withIcmpHandler(
    h,
    () => {
      calls++;
      return true;
    },
    async () => {
      const d4 = icmpDelta(h, 4);
      const d6 = icmpDelta(h, 6);
      const [p4, p6] = await Promise.all([ping(h, STACK4), ping(h, STACK6)]);
      assertEqual(p4.sent, 5, 'v4 sent');
      assertEqual(p4.received, 0, 'v4 received');
      assertEqual(p6.received, 0, 'v6 received');
      assertEqual(d4().consumed, 5, 'v4 consumedByHandler');
      assertEqual(d4().replies, 0, 'v4 replies');
      assertEqual(d6().consumed, 5, 'v6 consumedByHandler');
      assertEqual(d6().replies, 0, 'v6 replies');
    },
  );
  assertEqual(calls, 10, 'handler calls');
  return '0/5 and 0/5, handler consumed 10';
});

test('icmp4 temporary address, handler declines: no reply', 20_000, async (h) => {
  let temporary = 0;
  await promiscuous(h, () =>
    withIcmpHandler(
      h,
      (req) => {
        if (req.temporary) temporary++;
        return false;
      },
      async () => {
        const d = icmpDelta(h, 4);
        const p = await ping(h, TEMP4);
        assertEqual(p.sent, 5, 'sent');
        assertEqual(p.received, 0, 'received');
        assertEqual(d().suppressed, 5, 'suppressedTemporary');
        assertEqual(d().replies, 0, 'replies');
      },
    ),
  );
  assertEqual(temporary, 5, 'handler saw temporary requests');
  return `0/5 for ${TEMP4}`;
});

test('icmp4 temporary address without a handler: no reply', 20_000, async (h) => {
  await promiscuous(h, async () => {
    const p = await ping(h, TEMP4);
    assertEqual(p.received, 0, 'received');
  });
  return `0/5 for ${TEMP4}`;
});

test('icmp temporary address, handler calls reply(): replies (v4 and v6)', 30_000, async (h) => {
  const seen: string[] = [];
  let again = 0;
  await promiscuous(h, () =>
    withIcmpHandler(
      h,
      (req) => {
        if (!req.temporary) return false;
        seen.push(formatAddress(req.dst));
        const first = req.reply();
        if (req.reply()) again++; // must be idempotent
        return first;
      },
      async () => {
        const d4 = icmpDelta(h, 4);
        const d6 = icmpDelta(h, 6);
        const [p4, p6] = await Promise.all([ping(h, TEMP4), ping(h, TEMP6)]);
        assertEqual(p4.received, 5, 'v4 received');
        assertEqual(p6.received, 5, 'v6 received');
        assertEqual(d4().replies, 5, 'v4 replies');
        assertEqual(d6().replies, 5, 'v6 replies');
      },
    ),
  );
  assertEqual(again, 0, 'second reply() calls that answered');
  assertEqual(seen.length, 10, 'temporary requests seen');
  return `5/5 for ${TEMP4}, 5/5 for ${TEMP6}`;
});

test('icmp6 temporary address, handler declines: built-in reply (IPv6 rule)', 20_000, async (h) => {
  await promiscuous(h, () =>
    withIcmpHandler(
      h,
      () => false,
      async () => {
        const p = await ping(h, TEMP6);
        assertEqual(p.received, 5, 'received');
      },
    ),
  );
  return `5/5 for ${TEMP6}`;
});

test('udp echo server in the stack answers Linux clients (v4 and v6)', 30_000, async (h) => {
  const eps = [h.stack.udp.createEndpoint(4).bind(7000, addr(STACK4)), h.stack.udp.createEndpoint(6).bind(7000, addr(STACK6))];
  for (const ep of eps) ep.onMessage = (d) => void ep.send(d.payload.slice(), d.src.slice(), d.srcPort);
  try {
    const c4 = h.peer(['udp', STACK4, '7000', '20']);
    const c6 = h.peer(['udp', STACK6, '7000', '20']);
    const [r4, r6] = await Promise.all([
      resultOf<{ ok: number; wrong: number }>(c4, 20_000, 'udp4 client'),
      resultOf<{ ok: number; wrong: number }>(c6, 20_000, 'udp6 client'),
    ]);
    assertEqual(r4.ok, 20, 'v4 echoes');
    assertEqual(r6.ok, 20, 'v6 echoes');
    assertEqual(r4.wrong + r6.wrong, 0, 'wrong echoes');
  } finally {
    for (const ep of eps) ep.close();
  }
  return '20/20 and 20/20 datagrams echoed exactly';
});

test('udp closed port on own address: Linux sees ECONNREFUSED (v4 and v6)', 20_000, async (h) => {
  const c4 = h.peer(['udp-refused', STACK4, '7001']);
  const c6 = h.peer(['udp-refused', STACK6, '7001']);
  const [r4, r6] = await Promise.all([
    resultOf<{ refused: boolean; code: string }>(c4, 15_000, 'udp4'),
    resultOf<{ refused: boolean; code: string }>(c6, 15_000, 'udp6'),
  ]);
  assert(r4.refused, `v4: expected ECONNREFUSED, got ${r4.code}`);
  assert(r6.refused, `v6: expected ECONNREFUSED, got ${r6.code}`);
  return 'ECONNREFUSED both';
});

test('udp closed port on a temporary address: silence, no port unreachable', 20_000, async (h) => {
  const before = h.stack.stats.udp.portUnreachableSent;
  await promiscuous(h, async () => {
    const c = h.peer(['udp-refused', TEMP4, '7001']);
    const r = await resultOf<{ refused: boolean; code: string }>(c, 15_000, 'udp4 temp');
    assertEqual(r.code, 'silence', 'kernel client outcome');
  });
  assertEqual(h.stack.stats.udp.portUnreachableSent - before, 0, 'portUnreachableSent');
  return 'no answer';
});

// ------------------------------------------------------------------ issue 6: TCP

test(`tcp4 Linux client → stack server, ${BULK / MB} MiB`, 90_000, (h) => kernelToStack(h, STACK4, 5001, BULK, 80_000));
test(`tcp4 stack server → Linux client, ${BULK / MB} MiB`, 90_000, (h) => stackToKernelServer(h, STACK4, 5002, BULK, 80_000));
test(`tcp4 stack client → Linux server, ${BULK / MB} MiB`, 90_000, (h) => stackClientSends(h, KERNEL4, 5003, BULK, 80_000));
test(`tcp4 Linux server → stack client, ${BULK / MB} MiB`, 90_000, (h) => stackClientReceives(h, KERNEL4, 5004, BULK, 80_000));
test(`tcp6 Linux client → stack server, ${BULK / 2 / MB} MiB`, 60_000, (h) => kernelToStack(h, STACK6, 5005, BULK / 2, 50_000));
test(`tcp6 stack client → Linux server, ${BULK / 2 / MB} MiB`, 60_000, (h) => stackClientSends(h, KERNEL6, 5006, BULK / 2, 50_000));

test('tcp curl downloads from an HTTP server in the stack', 60_000, async (h) => {
  if (!which('curl')) return 'skipped: curl not installed';
  const bytes = 8 * MB;
  const a = acceptOne(h, 8080);
  const served = a.conn.then(
    (ep) =>
      new Promise<TransferResult>((resolve, reject) => {
        let req = '';
        ep.onReadable = () => {
          req += Buffer.from(ep.read()).toString('latin1');
          if (!req.includes('\r\n\r\n')) return;
          ep.onReadable = null;
          ep.write(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n`));
          stackSource(ep, bytes, 0, () => h.kick()).then(resolve, reject);
        };
      }),
  );
  const curl = h.bg(['sh', '-c', `curl -sS --fail --max-time 50 -g http://[${STACK6}]:8080/ | sha256sum`]);
  try {
    const [r, sent] = await Promise.all([within(curl.finished, 55_000, 'curl'), within(served, 55_000, 'http server')]);
    assertEqual(r.code, 0, `curl exit (${r.stderr.trim()})`);
    assertEqual(r.stdout.split(' ')[0], sent.sha, 'sha256 of the body');
    return `${bytes / MB} MiB over IPv6, sha256 equal`;
  } finally {
    a.close();
    curl.stop();
  }
});

test(`tcp lossy path (loss 1%, delay 20 ms, reorder 25%), ${LOSSY / MB} MiB each way`, 150_000, async (h) => {
  // netem on the kernel side when the kernel has it; the stack → kernel direction
  // is always impaired here, in this process, so both directions see loss.
  const netem = spawnSync('ip', ['netns', 'exec', h.ns.name, 'tc', 'qdisc', 'add', 'dev', h.dev, 'root', 'netem', 'loss', '1%', 'delay', '20ms', 'reorder', '25%', '50%'], {
    encoding: 'utf8',
  });
  const haveNetem = netem.status === 0;
  const imp = { loss: 0.01, delayMs: 20, reorder: 0.25 };
  try {
    let lines = h.impair(haveNetem ? null : { ...imp, seed: 7 }, { ...imp, seed: 11 });
    const rtx0 = kernelRetransmits(h.ns);
    const up = await kernelToStack(h, STACK4, 5101, LOSSY, 70_000);
    const upDrops = `${haveNetem ? 'netem' : lines.inbound!.stats.dropped} data / ${lines.outbound!.stats.dropped} ACK packets dropped, Linux retransmitted ${kernelRetransmits(h.ns) - rtx0}`;
    lines = h.impair(haveNetem ? null : { ...imp, seed: 13 }, { ...imp, seed: 17 });
    const down = await stackClientSends(h, KERNEL4, 5102, LOSSY, 70_000);
    const downDrops = `${lines.outbound!.stats.dropped} data / ${haveNetem ? 'netem' : lines.inbound!.stats.dropped} ACK packets dropped`;
    assert(lines.outbound!.stats.dropped > 0, 'the impairment dropped nothing: the test did not test loss');
    const where = haveNetem ? 'netem kernel→stack + in-process stack→kernel' : 'in-process both ways (no sch_netem in this kernel)';
    const ref = await linuxReference({ ...imp, seed: 7 }, { ...imp, seed: 11 }, LOSSY);
    return `${where}; up (${upDrops}): ${up}; down (${downDrops}): ${down}; reference Linux→Linux through the same impairment: ${ref}`;
  } finally {
    h.impair(null, null);
    if (haveNetem) spawnSync('ip', ['netns', 'exec', h.ns.name, 'tc', 'qdisc', 'del', 'dev', h.dev, 'root']);
  }
});

test('tcp 500 concurrent Linux connections to a stack echo server', 90_000, async (h) => {
  const n = 500;
  const base = h.tcp.core.connectionCount;
  const l = h.tcp.listen(6000, { backlog: 1024 });
  let good = 0;
  let bad = 0;
  l.onConnection = (ep) => stackEcho(ep, (ok) => (ok ? good++ : bad++));
  try {
    const c = h.peer(['many', STACK4, '6000', String(n), '200']);
    const r = await resultOf<{ ok: number; bad: number; errors: Record<string, number>; ms: number }>(c, 80_000, 'kernel clients');
    assertEqual(r.ok, n, `kernel clients with exact echo (errors ${JSON.stringify(r.errors)})`);
    // Linux closes first; our side sees FIN, closes, and ends in CLOSED after the last ACK.
    const t0 = Date.now();
    while ((good + bad < n || h.tcp.core.connectionCount > base) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    assertEqual(bad, 0, 'stack connections closed with an error');
    assertEqual(good, n, 'stack connections closed cleanly');
    assertEqual(h.tcp.core.connectionCount, base, 'stack connections left');
    return `${n}/${n} exact echoes, ${n} clean closes, ${Math.round(r.ms)} ms`;
  } finally {
    l.close();
  }
});

test('tcp 500 concurrent stack connections to a Linux echo server', 90_000, async (h) => {
  const n = 500;
  const size = 200;
  const server = h.peer(['echo', '6001', String(n)]);
  try {
    await ready(server);
    let ok = 0;
    const problems: string[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const msg = new Uint8Array(size).fill(i & 0xff);
      new DataView(msg.buffer).setUint32(0, i);
      all.push(
        new Promise<void>((resolve) => {
          const ep = h.tcp.connect({ remoteAddress: addr(KERNEL4), remotePort: 6001 });
          const got: Uint8Array[] = [];
          let len = 0;
          let closed = false;
          ep.onConnect = () => void ep.write(msg);
          ep.onReadable = () => {
            for (let d = ep.read(); d.length > 0; d = ep.read()) {
              got.push(d);
              len += d.length;
            }
            if (len >= size && !closed) {
              closed = true;
              if (Buffer.compare(Buffer.concat(got), msg) === 0) ok++;
              else problems.push(`conn ${i}: wrong echo`);
              ep.close();
              h.kick();
            }
          };
          ep.onClose = (err) => {
            if (err) problems.push(`conn ${i}: ${err.code}`);
            resolve();
          };
        }),
      );
    }
    h.kick();
    await within(Promise.all(all), 60_000, 'stack clients');
    const r = await resultOf<{ accepted: number; closed: number; bytes: number }>(server, 20_000, 'kernel echo server');
    assertEqual(problems.length, 0, `problems (${problems.slice(0, 3).join('; ')})`);
    assertEqual(ok, n, 'exact echoes');
    assertEqual(r.closed, n, 'kernel side clean closes');
    assertEqual(r.bytes, n * size, 'kernel side bytes');
    return `${n}/${n} exact echoes, kernel server saw ${r.closed} closes`;
  } finally {
    server.stop();
  }
});

/** An IPv4 SYN from src:sport to dst:dport with an MSS option. */
function buildSyn(src: Uint8Array, sport: number, dst: Uint8Array, dport: number, seq: number): Uint8Array {
  const p = new Uint8Array(44);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, 44);
  v.setUint16(4, seq & 0xffff);
  v.setUint16(6, 0x4000);
  p[8] = 64;
  p[9] = 6;
  p.set(src, 12);
  p.set(dst, 16);
  v.setUint16(10, finish(sum16(p, 0, 20)));
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint32(24, seq >>> 0);
  p[32] = 6 << 4;
  p[33] = 0x02;
  v.setUint16(34, 64240);
  p.set([2, 4, 0x05, 0xb4], 40);
  v.setUint16(36, finish(sum16(p, 20, 44, pseudoHeaderSum(src, dst, 6, 24))));
  return p;
}

test('tcp SYN flood through the kernel does not stop an established transfer', 120_000, async (h) => {
  // Spoofed SYNs (10.78.0.0/16) written into the TUN are forwarded by the
  // namespace's kernel back out the TUN to the stack; the SYN-ACKs go to a blackhole.
  sysctl(h, 'net.ipv4.ip_forward', '1');
  for (const dev of ['all', 'default', h.dev]) {
    sysctl(h, `net.ipv4.conf.${dev}.rp_filter`, '0');
    sysctl(h, `net.ipv4.conf.${dev}.send_redirects`, '0');
  }
  h.nsRun(['ip', 'route', 'add', 'blackhole', '10.78.0.0/16']);
  const port = 5201;
  const seconds = 6;
  const stats = h.tcp.core.stats;
  const syns0 = stats.synsReceived;
  const l = h.tcp.listen(port);
  let bulk: Promise<TransferResult> | null = null;
  let lateAccepted = 0;
  const lateSinks: Promise<TransferResult>[] = [];
  l.onConnection = (ep) => {
    if (formatAddress(ep.remoteAddress) !== KERNEL4) return ep.abort(); // a flood connection completing would be a bug
    if (!bulk) bulk = stackSink(ep);
    else {
      lateAccepted++;
      lateSinks.push(stackSink(ep));
    }
  };
  let flooding = true;
  let floodSent = 0;
  const flood = async (): Promise<void> => {
    const dst = addr(STACK4);
    const src = new Uint8Array([10, 78, 0, 0]);
    let i = 0;
    while (flooding && floodSent < 200_000) {
      for (let k = 0; k < 200; k++, i++) {
        src[2] = (i >>> 8) & 0xff;
        src[3] = i & 0xff;
        if (h.tun.write(buildSyn(src, 1024 + (i % 60000), dst, port, Math.imul(i, 2654435761)))) floodSent++;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    // A time-bounded transfer: the flood runs through all but its first moments.
    const drops0 = h.kernelTxDropped();
    const client = h.peer(['send', STACK4, String(port), '0', String(seconds)]);
    // Start the flood once the transfer is under way.
    const t0 = Date.now();
    while (!bulk && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    assert(bulk, 'the bulk connection was not accepted');
    const floodDone = flood();
    const [sent, got] = await Promise.all([resultOf<TransferResult>(client, 90_000, 'kernel sender'), within(bulk as Promise<TransferResult>, 90_000, 'stack sink')]);
    const synsDuring = stats.synsReceived - syns0;
    // A new connection still gets through while SYNs keep coming.
    const late = h.peer(['send', STACK4, String(port), String(MB)]);
    const lateSent = await resultOf<TransferResult>(late, 30_000, 'late sender');
    flooding = false;
    await floodDone;
    const lateGot = await within(lateSinks[0] ?? Promise.reject(new Error('late connection not accepted')), 10_000, 'late sink');
    const detail = sameTransfer('bulk under flood', sent, got, sent.bytes) + `; kernel TUN queue dropped ${h.kernelTxDropped() - drops0}`;
    sameTransfer('connection during flood', lateSent, lateGot, MB);
    assert(synsDuring > 1000, `only ${synsDuring} flood SYNs reached the stack during the transfer`);
    assertEqual(lateAccepted, 1, 'late connections accepted');
    return `${seconds} s transfer: ${detail}; ${synsDuring} SYNs reached the stack during it (${floodSent} written), cookies sent ${(stats as unknown as Record<string, number>).cookiesSent ?? 0}; a new connection during the flood: 1 MiB ok`;
  } finally {
    flooding = false;
    l.close();
    h.nsRun(['ip', 'route', 'del', 'blackhole', '10.78.0.0/16']);
    sysctl(h, 'net.ipv4.ip_forward', '0');
  }
});

// ------------------------------------------------------------------ main

function skip(why: string): never {
  console.log(`netstack-linux: ${why}`);
  if (process.env.CI === 'true') {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log('netstack-linux: skipped');
  process.exit(0);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) skip('needs root (network namespaces, TUN)');
  if (!existsSync('/dev/net/tun')) skip('needs /dev/net/tun');
  if (!which('ip') || !which('ping')) skip('needs iproute2 and iputils-ping');
  const native = loadNative();
  if (!native.ok) skip(`needs the native addon: ${native.reason}`);
  if (!existsSync(new URL('./netstack-peer.js', import.meta.url))) skip('dist/interop/netstack-peer.js missing; run npx tsc -p .');

  const filter = process.argv[2];
  let passed = 0;
  let failed = 0;
  const selected = filter ? cases.filter((c) => c.name.includes(filter)) : cases;
  let h: TunStack | null = null;
  exitCleanlyOnSignals((sig) => {
    console.log(`netstack-linux: ${sig}, namespaces removed`);
    console.log(`${passed} passed, ${failed + 1} failed`);
  });
  try {
    h = new TunStack({ tcp: { maxHalfOpen: 1024 } });
    for (const c of selected) {
      const t0 = performance.now();
      try {
        const detail = await within(c.fn(h), c.timeoutMs, c.name);
        passed++;
        console.log(`ok    ${c.name}  (${((performance.now() - t0) / 1000).toFixed(1)} s)${detail ? ` — ${detail}` : ''}`);
      } catch (e) {
        failed++;
        console.log(`FAIL  ${c.name}  (${((performance.now() - t0) / 1000).toFixed(1)} s): ${(e as Error).message.split('\n').join(' | ')}`);
      }
    }
    if (h.writeDropped > 0) console.log(`note: ${h.writeDropped} packets refused by the TUN (kernel queue full)`);
  } catch (e) {
    failed++;
    console.log(`FAIL  setup: ${(e as Error).message}`);
  } finally {
    closeAll();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

const code = await main();
// Kernel-side helpers are gone with the namespace; nothing else should keep us alive.
process.exit(code);
