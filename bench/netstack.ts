/**
 * Netstack mode: kernel TCP in namespace A, through wireguard-go, to our
 * stack (a wgts endpoint in namespace B, bench/netstack-peer.ts). Anchor:
 * the same client and server program with wireguard-go on both sides and
 * the kernel's TCP on B. Each direction; ping RTT A → B.
 * CPU: wgts = the endpoint process (WireGuard + TCP/IP + the server), anchor
 * = wireguard-go on B + the kernel-socket server process (kernel TCP work in
 * softirq is not attributed to any process).
 * Needs root, wireguard-go, wg, ping. Standalone: node dist/bench/netstack.js
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Topology } from '../interop/topology.js';
import { sleep } from '../interop/lib.js';
import { QUICK, wanted, ROOT, cpuSeconds, formatLine, makeRow, mean, percentile, skipRow, type Row } from './lib.js';

const SECONDS = QUICK ? 2 : 4;
const RUNS = QUICK ? 1 : 2;
const PINGS = QUICK ? 99 : 300;
const TCP_PORT = 5302;
const TOOL = join(ROOT, 'dist', 'bench', 'tcp-tool.js');
const PEER = join(ROOT, 'dist', 'bench', 'netstack-peer.js');

interface Pair {
  topo: Topology;
  /** PIDs on B whose CPU counts as the stack under test. */
  bPids: number[];
  /** Ends B's processes gracefully (a --cpu-prof profile is written on exit). */
  stop?: () => Promise<void>;
}

/** Extra node flags for the netstack peer, e.g. BENCH_PEER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p". */
const PEER_NODE_ARGS = (process.env.BENCH_PEER_NODE_ARGS ?? '').split(' ').filter(Boolean);

async function waitFor(get: () => string, what: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (get().includes(what)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for "${what}"`);
}

/** go ↔ go with a kernel TCP server in B. */
async function kernelPair(): Promise<Pair> {
  const topo = new Topology('wireguard-go', 'wireguard-go');
  try {
    topo.createNetwork();
    topo.startImpl(topo.a);
    topo.startImpl(topo.b);
    topo.configure(topo.a, topo.b, { endpoint: true });
    topo.configure(topo.b, topo.a, { endpoint: true });
    const srv = topo.b.ns.bg([process.execPath, TOOL, 'server', String(TCP_PORT)]);
    let out = '';
    srv.child.stdout!.on('data', (d: string) => (out += d));
    await waitFor(() => out, 'listening', 10_000);
    const p = topo.ping(topo.a, topo.b.inner4, { count: 3 });
    if (p.received !== 3) throw new Error(`go ↔ go tunnel not up: ${p.out}`);
    return { topo, bPids: [topo.b.pid!, srv.child.pid!] };
  } catch (e) {
    topo.destroy();
    throw e;
  }
}

/** wireguard-go on A ↔ our netstack endpoint on B. */
async function netstackPair(): Promise<Pair> {
  const topo = new Topology('wireguard-go', 'netstack');
  try {
    topo.createNetwork();
    topo.startImpl(topo.a);
    topo.configure(topo.a, topo.b, { endpoint: true });
    const a = topo.a;
    const b = topo.b;
    const peer = b.ns.bg([process.execPath, ...PEER_NODE_ARGS, PEER, b.privateKeyFile, String(b.port), `${b.inner4}/24`, a.publicKey, `${a.inner4}/32`, `${a.outer4}:${a.port}`, String(TCP_PORT)]);
    let out = '';
    peer.child.stdout!.on('data', (d: string) => (out += d));
    try {
      await waitFor(() => out, 'ready', 15_000);
    } catch (e) {
      peer.stop();
      throw new Error(`netstack peer did not start: ${(await peer.finished).stderr.slice(-500)}`);
    }
    const p = topo.ping(a, b.inner4, { count: 3, wait: 5 });
    if (p.received === 0) throw new Error(`wireguard-go ↔ netstack tunnel not up: ${p.out}`);
    const stop = async (): Promise<void> => {
      try {
        process.kill(peer.child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      await Promise.race([peer.finished, sleep(5000)]);
    };
    return { topo, bPids: [peer.child.pid!], stop };
  } catch (e) {
    topo.destroy();
    throw e;
  }
}

interface Tcp {
  mbps: number;
  cpuB: number;
  cpuA: number;
}

function tcp(pair: Pair, direction: 'send' | 'recv'): Tcp {
  const { topo } = pair;
  const cpuB = (): number => pair.bPids.reduce((s, p) => s + cpuSeconds(p), 0);
  const a0 = cpuSeconds(topo.a.pid);
  const b0 = cpuB();
  const r = topo.a.ns.exec([process.execPath, TOOL, 'client', topo.b.inner4, String(TCP_PORT), direction, String(SECONDS)], { timeoutMs: (SECONDS + 25) * 1000, allowFail: true });
  const a1 = cpuSeconds(topo.a.pid);
  const b1 = cpuB();
  if (r.code !== 0) throw new Error(`tcp-tool client failed: ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { mbps: number };
  return { mbps: j.mbps, cpuA: a1 - a0, cpuB: b1 - b0 };
}

function pingRtts(pair: Pair, count: number): number[] {
  const r = pair.topo.a.ns.exec(['ping', '-n', '-c', String(count), '-i', '0.005', '-W', '2', pair.topo.b.inner4], { allowFail: true, timeoutMs: 60_000 });
  return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

export async function benchNetstack(onRow: (r: Row) => void = () => {}): Promise<Row[]> {
  const rows: Row[] = [];
  const emit = (r: Row): void => {
    rows.push(r);
    onRow(r);
  };
  if (!existsSync(join(ROOT, 'dist', 'src', 'node', 'endpoint-runtime.js'))) {
    emit(skipRow('tcp-netstack', 'the netstack endpoint runtime (src/node/endpoint-runtime.ts) is not built'));
    return rows;
  }
  const pairs: Pair[] = [];
  const onSignal = (): void => {
    for (const p of pairs) p.topo.destroy();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const go = await kernelPair();
    pairs.push(go);
    const ns = await netstackPair();
    pairs.push(ns);
    for (const direction of wanted('tcp') ? (['send', 'recv'] as const) : []) {
      // Best of RUNS alternating runs: a run disturbed by other load on the machine does not count.
      let g = tcp(go, direction);
      let t = tcp(ns, direction);
      for (let i = 1; i < RUNS; i++) {
        const g2 = tcp(go, direction);
        const t2 = tcp(ns, direction);
        if (g2.mbps > g.mbps) g = g2;
        if (t2.mbps > t.mbps) t = t2;
      }
      const eff = (x: Tcp): string => (x.cpuB > 0 ? (x.mbps / x.cpuB).toFixed(0) : '–');
      emit(
        makeRow({
          name: `tcp-netstack ${direction === 'send' ? 'kernel→stack' : 'stack→kernel'}`,
          unit: 'Mbit/s',
          wgts: t.mbps,
          anchor: g.mbps,
          anchorName: 'wireguard-go+kernel TCP',
          wgtsCpu: t.cpuB,
          anchorCpu: g.cpuB,
          note: `1 stream, best of ${RUNS} × ${SECONDS} s; Mbit per CPU-s ${eff(t)} vs ${eff(g)}; wireguard-go on A CPU-s ${t.cpuA.toFixed(2)} / ${g.cpuA.toFixed(2)}`,
        }),
      );
    }
    // Alternating chunks, so a burst of load on the machine hits both alike.
    const rg: number[] = [];
    const rt: number[] = [];
    for (let i = 0; i < (wanted('ping') ? 3 : 0); i++) {
      rg.push(...pingRtts(go, Math.ceil(PINGS / 3)));
      rt.push(...pingRtts(ns, Math.ceil(PINGS / 3)));
    }
    const note = `${rt.length}/${PINGS} vs ${rg.length}/${PINGS} replies, 5 ms interval, kernel ping on A`;
    if (wanted('ping')) emit(makeRow({ name: 'ping-rtt-netstack avg', unit: 'ms', wgts: mean(rt), anchor: mean(rg), anchorName: 'wireguard-go+kernel', lowerIsBetter: true, note }));
    if (wanted('ping')) emit(makeRow({ name: 'ping-rtt-netstack p99', unit: 'ms', wgts: percentile(rt, 99), anchor: percentile(rg, 99), anchorName: 'wireguard-go+kernel', lowerIsBetter: true, note }));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const p of pairs) {
      await p.stop?.();
      p.topo.destroy();
    }
  }
  return rows;
}

const isMain = process.argv[1]?.endsWith('/netstack.js') ?? false;
if (isMain) {
  if (process.getuid?.() !== 0) console.log('bench/netstack: needs root (network namespaces); skipped');
  else await benchNetstack((r) => console.log(formatLine(r)));
}
