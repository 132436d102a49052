/**
 * Kernel TUN mode throughput and CPU: wireguard-ts ↔ wireguard-go against
 * wireguard-go ↔ wireguard-go on the same namespace pair, back to back.
 * iperf3, one TCP stream, 10 s per direction; CPU seconds of each daemon from
 * /proc/PID/stat over the run. Needs root, wireguard-go, wg, iperf3.
 * Build: npx tsc -p . ; run: node dist/bench/tun.js [seconds]
 * Prints e.g. `tcp-1stream-tun send  wgts 400 Mbit/s (1.9 CPU-s)  wireguard-go 650 Mbit/s (1.2 CPU-s)  ratio 0.62`.
 */
import { Topology, type Side } from '../interop/topology.js';
import { cpuSeconds, sleep } from '../interop/lib.js';

const seconds = Number(process.argv[2] ?? '10');

interface Measure {
  mbps: number;
  /** CPU seconds of side B's daemon (the implementation under test) and side A's. */
  cpuB: number;
  cpuA: number;
}

async function iperf(topo: Topology, client: Side, server: Side, reverse: boolean): Promise<Measure> {
  const srv = server.ns.bg(['timeout', String(seconds + 15), 'iperf3', '-s', '-1', '-p', '5301']);
  await sleep(400);
  const a0 = cpuSeconds(topo.a.pid!);
  const b0 = cpuSeconds(topo.b.pid!);
  const r = client.ns.exec(['iperf3', '-c', server.inner4, '-p', '5301', '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: (seconds + 20) * 1000, allowFail: true });
  const a1 = cpuSeconds(topo.a.pid!);
  const b1 = cpuSeconds(topo.b.pid!);
  await Promise.race([srv.finished, sleep(3000)]);
  srv.stop();
  if (r.code !== 0) throw new Error(`iperf3 failed: ${r.stderr} ${r.stdout.slice(0, 400)}`);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return { mbps: j.end.sum_received.bits_per_second / 1e6, cpuA: a1 - a0, cpuB: b1 - b0 };
}

async function measure(implB: string): Promise<{ send: Measure; receive: Measure }> {
  const topo = new Topology('wireguard-go', implB);
  const stop = (): void => {
    topo.destroy();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  try {
    topo.createNetwork();
    topo.startImpl(topo.a);
    topo.startImpl(topo.b);
    topo.configure(topo.a, topo.b, { endpoint: true });
    topo.configure(topo.b, topo.a, { endpoint: true });
    const p = topo.ping(topo.b, topo.a.inner4, { count: 3 });
    if (p.received !== 3) throw new Error(`tunnel not up with ${implB}: ${p.out}`);
    // B sends (client on B), then B receives (-R: A sends).
    const send = await iperf(topo, topo.b, topo.a, false);
    const receive = await iperf(topo, topo.b, topo.a, true);
    return { send, receive };
  } finally {
    process.off('SIGINT', stop);
    topo.destroy();
  }
}

function line(name: string, ts: Measure, go: Measure): string {
  const fmt = (m: Measure): string => `${m.mbps.toFixed(0)} Mbit/s (${m.cpuB.toFixed(2)} CPU-s, ${(m.mbps / Math.max(0.01, m.cpuB)).toFixed(0)} Mbit/CPU-s)`;
  return `${name.padEnd(22)} wgts ${fmt(ts)}  wireguard-go ${fmt(go)}  ratio ${(ts.mbps / go.mbps).toFixed(2)}  (peer wireguard-go CPU-s: ${ts.cpuA.toFixed(2)} / ${go.cpuA.toFixed(2)})`;
}

export async function benchTun(): Promise<string[]> {
  const go = await measure('wireguard-go');
  const ts = await measure('wireguard-ts');
  return [line('tcp-1stream-tun send', ts.send, go.send), line('tcp-1stream-tun receive', ts.receive, go.receive)];
}

if (process.getuid?.() !== 0) {
  console.log('bench/tun: needs root (network namespaces, TUN); skipped');
} else {
  for (const l of await benchTun()) console.log(l);
}
