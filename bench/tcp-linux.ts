/**
 * One TCP connection through our netstack on a kernel TUN (no WireGuard),
 * both directions, next to Linux ↔ Linux over a veth pair in the same run.
 * The same Node programs (interop/netstack-peer.js) play the Linux ends in
 * both setups, so the ratio compares our stack with the kernel's TCP/IP path;
 * iperf3 over the veth (when installed) is printed as the kernel's ceiling.
 * Every end hashes what it moves (sha256), so CPU includes hashing on both.
 *
 *   node dist/bench/tcp-linux.js [seconds=8] [rounds=2]     (root; native addon)
 *
 * Prints e.g.
 *   tcp-linux linux→wgts  wgts 600 Mbit/s (1.0 CPU-s wgts, 0.5 CPU-s linux end)  linux↔linux veth 4000 Mbit/s (...)  ratio 0.15
 */
import { pathToFileURL } from 'node:url';
import { Netns, run, suffix } from '../interop/lib.js';
import { KERNEL4, STACK4, PEER_SCRIPT, TunStack, exitCleanlyOnSignals, ready, registerCleanup, resultOf, stackSink, stackSource, within, type TransferResult } from '../interop/netstack-harness.js';

interface Measure {
  mbps: number;
  /** CPU seconds of the process under test (our stack's process, or the Linux receiving/sending helper). */
  cpuUs: number;
  /** CPU seconds of the Linux helper at the other end. */
  cpuPeer: number;
}

interface PeerResult extends TransferResult {
  cpu: number;
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function mbps(r: TransferResult): number {
  return (r.bytes * 8) / 1e6 / (Math.max(1, r.ms) / 1000);
}

/** Linux client sends for `seconds` to a listener in our stack. */
async function linuxToStack(h: TunStack, seconds: number): Promise<Measure> {
  const l = h.tcp.listen(5301);
  const conn = new Promise<TransferResult>((resolve, reject) => {
    l.onConnection = (ep) => {
      l.close();
      stackSink(ep).then(resolve, reject);
    };
  });
  const c0 = cpuNow();
  const client = h.peer(['send', STACK4, '5301', '0', String(seconds)]);
  const [sent, got] = await Promise.all([resultOf<PeerResult>(client, (seconds + 30) * 1000, 'linux sender'), within(conn, (seconds + 30) * 1000, 'stack sink')]);
  const cpu = cpuNow() - c0;
  l.close();
  if (sent.sha !== got.sha || sent.bytes !== got.bytes) throw new Error('linux→stack: hashes differ');
  return { mbps: mbps(got), cpuUs: cpu, cpuPeer: sent.cpu };
}

/** Our client sends for `seconds` to a Linux server. */
async function stackToLinux(h: TunStack, seconds: number): Promise<Measure> {
  const server = h.peer(['sink', '5302']);
  await ready(server);
  const c0 = cpuNow();
  const ep = h.tcp.connect({ remoteAddress: new Uint8Array(KERNEL4.split('.').map(Number)), remotePort: 5302 });
  const sent = await within(stackSource(ep, 0, seconds, () => h.kick()), (seconds + 30) * 1000, 'stack source');
  const cpu = cpuNow() - c0;
  const got = await resultOf<PeerResult>(server, 20_000, 'linux sink');
  if (sent.sha !== got.sha || sent.bytes !== got.bytes) throw new Error('stack→linux: hashes differ');
  return { mbps: mbps(got), cpuUs: cpu, cpuPeer: got.cpu };
}

/** Linux ↔ Linux over a veth pair between two fresh namespaces, same helpers. */
async function veth(seconds: number): Promise<{ recv: Measure; send: Measure; iperf3: number | null }> {
  const id = suffix();
  const a = new Netns(`wgts-vta-${id}`);
  const b = new Netns(`wgts-vtb-${id}`);
  const unregister = registerCleanup(() => {
    a.destroy();
    b.destroy();
  });
  try {
    run(['ip', 'netns', 'add', a.name]);
    run(['ip', 'netns', 'add', b.name]);
    run(['ip', 'link', 'add', `vta${id}`, 'netns', a.name, 'type', 'veth', 'peer', 'name', `vtb${id}`, 'netns', b.name]);
    a.exec(['ip', 'addr', 'add', '10.88.0.1/24', 'dev', `vta${id}`]);
    b.exec(['ip', 'addr', 'add', '10.88.0.2/24', 'dev', `vtb${id}`]);
    for (const [ns, dev] of [[a, `vta${id}`], [b, `vtb${id}`]] as const) {
      ns.exec(['ip', 'link', 'set', 'lo', 'up']);
      ns.exec(['ip', 'link', 'set', 'dev', dev, 'mtu', '1500', 'up']);
    }
    const server = b.bg([process.execPath, PEER_SCRIPT, 'sink', '5303']);
    await ready(server);
    const client = a.bg([process.execPath, PEER_SCRIPT, 'send', '10.88.0.2', '5303', '0', String(seconds)]);
    const [sent, got] = await Promise.all([resultOf<PeerResult>(client, (seconds + 30) * 1000, 'veth sender'), resultOf<PeerResult>(server, (seconds + 30) * 1000, 'veth sink')]);
    if (sent.sha !== got.sha) throw new Error('veth: hashes differ');
    let iperf3: number | null = null;
    if (run(['sh', '-c', 'command -v iperf3'], { allowFail: true }).code === 0) {
      const srv = b.bg(['timeout', String(seconds + 15), 'iperf3', '-s', '-1', '-p', '5304']);
      await new Promise((r) => setTimeout(r, 400));
      const r = a.bg(['iperf3', '-c', '10.88.0.2', '-p', '5304', '-t', String(seconds), '-J']);
      const out = await within(r.finished, (seconds + 20) * 1000, 'iperf3');
      srv.stop();
      if (out.code === 0) iperf3 = (JSON.parse(out.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e6;
    }
    // The receiver is the counterpart of our receiving stack, the sender of our sending one.
    return { recv: { mbps: mbps(got), cpuUs: got.cpu, cpuPeer: sent.cpu }, send: { mbps: mbps(got), cpuUs: sent.cpu, cpuPeer: got.cpu }, iperf3 };
  } finally {
    unregister();
    a.destroy();
    b.destroy();
  }
}

function fmt(m: Measure, seconds: number): string {
  return `${m.mbps.toFixed(0)} Mbit/s (${m.cpuUs.toFixed(2)} CPU-s, ${(m.mbps * seconds / Math.max(0.01, m.cpuUs)).toFixed(0)} Mbit per CPU-s; other end ${m.cpuPeer.toFixed(2)} CPU-s)`;
}

function best(a: Measure | null, b: Measure): Measure {
  return a && a.mbps >= b.mbps ? a : b;
}

/**
 * `rounds` interleaved rounds (our stack, then the veth anchor), keeping the
 * best of each side: the machine is shared, so one slow round says little.
 */
export async function benchTcpLinux(seconds = 8, rounds = 2): Promise<string[]> {
  let up: Measure | null = null;
  let down: Measure | null = null;
  let recv: Measure | null = null;
  let send: Measure | null = null;
  let iperf3: number | null = null;
  for (let round = 0; round < rounds; round++) {
    const h = new TunStack();
    try {
      up = best(up, await linuxToStack(h, seconds));
      down = best(down, await stackToLinux(h, seconds));
    } finally {
      h.close();
    }
    const ref = await veth(seconds);
    recv = best(recv, ref.recv);
    send = best(send, ref.send);
    if (ref.iperf3 !== null) iperf3 = Math.max(iperf3 ?? 0, ref.iperf3);
  }
  if (!up || !down || !recv || !send) throw new Error('no rounds');
  const ref = { recv, send, iperf3 };
  const lines = [
    `tcp-linux linux→wgts (wgts receives)  wgts ${fmt(up, seconds)}  linux↔linux veth, receiver ${fmt(ref.recv, seconds)}  ratio ${(up.mbps / ref.recv.mbps).toFixed(2)}`,
    `tcp-linux wgts→linux (wgts sends)     wgts ${fmt(down, seconds)}  linux↔linux veth, sender ${fmt(ref.send, seconds)}  ratio ${(down.mbps / ref.send.mbps).toFixed(2)}`,
  ];
  if (ref.iperf3 !== null) lines.push(`tcp-linux iperf3 linux↔linux veth (kernel ceiling, no Node ends): ${ref.iperf3.toFixed(0)} Mbit/s`);
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.getuid?.() !== 0) {
    console.log('bench/tcp-linux: needs root (network namespaces, TUN); skipped');
  } else {
    exitCleanlyOnSignals();
    const seconds = Number(process.argv[2] ?? '8');
    const rounds = Number(process.argv[3] ?? '2');
    for (const l of await benchTcpLinux(seconds, rounds)) console.log(l);
    process.exit(0);
  }
}
