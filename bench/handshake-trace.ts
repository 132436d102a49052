/**
 * Where the handshake-latency round's time goes, side B (the implementation under test) against
 * wireguard-go on B, from packet timestamps: tcpdump in B's namespace sees the echo request
 * leave the kernel into B's TUN, the initiation / response / first data packets on the veth,
 * and the echo reply B writes back into its TUN. Each step is then B's own time or A's (always
 * wireguard-go) time, without instrumenting either daemon.
 *
 * Standalone (needs root, wireguard-go, wg, ping, tcpdump; not part of `npm run bench`):
 *   node dist/bench/handshake-trace.js [rounds]
 */
import { spawn } from 'node:child_process';
import { Topology } from '../interop/topology.js';
import { sleep } from '../interop/lib.js';
import { median } from './lib.js';
import { bringUp } from './tun.js';

interface Steps {
  /** `wg set` (process start to exit). */
  wgSet: number;
  /** wg exits → echo request enters B's TUN (ping start-up; same for both). */
  pingStart: number;
  /** Echo request in B's TUN → initiation on the wire (B: TUN read, initiation). */
  bInit: number;
  /** Initiation → response (A: wireguard-go, same for both). */
  aResp: number;
  /** Response → first transport data (B: consume response, derive keys, send staged packet). */
  bData: number;
  /** Data out → data back (A decrypts, kernel replies, A encrypts). */
  aReply: number;
  /** Data back → echo reply written to B's TUN (B: decrypt, write). */
  bDeliver: number;
  /** `wg set` start → echo reply into B's TUN. */
  total: number;
}

const STEP_NAMES: (keyof Steps)[] = ['wgSet', 'pingStart', 'bInit', 'aResp', 'bData', 'aReply', 'bDeliver', 'total'];

interface Event {
  /** µs since the epoch (ns would not fit a double exactly). */
  t: number;
  kind: 'echo-req' | 'init' | 'resp' | 'data-out' | 'data-in' | 'echo-rep';
}

function parseTcpdump(text: string, bIface: string): Event[] {
  const events: Event[] = [];
  for (const line of text.split('\n')) {
    // 1764850000.123456789 wgb123 Out IP 10.241.0.2 > 10.241.0.1: ICMP echo request, ...
    const m = /^(\d+)\.(\d{9}) (\S+)\s+(In|Out)\s+IP6? (.*)$/.exec(line);
    if (!m) continue;
    const t = Number(m[1]) * 1e6 + Number(m[2]) / 1e3; // µs
    const dev = m[3]!;
    const dir = m[4]!;
    const rest = m[5]!;
    if (dev === bIface) {
      if (dir === 'Out' && rest.includes('ICMP echo request')) events.push({ t, kind: 'echo-req' });
      else if (dir === 'In' && rest.includes('ICMP echo reply')) events.push({ t, kind: 'echo-rep' });
      continue;
    }
    const len = /UDP, length (\d+)/.exec(rest);
    if (!len) continue;
    const n = Number(len[1]);
    if (dir === 'Out' && n === 148) events.push({ t, kind: 'init' });
    else if (dir === 'In' && n === 92) events.push({ t, kind: 'resp' });
    else if (dir === 'Out' && n >= 32 && n !== 148) events.push({ t, kind: 'data-out' });
    else if (dir === 'In' && n >= 32 && n !== 92) events.push({ t, kind: 'data-in' });
  }
  return events;
}

async function traceRound(topo: Topology): Promise<Steps | undefined> {
  const { a, b } = topo;
  await sleep(100);
  topo.removePeer(b, a);
  const dump = startCapture(b.ns.name);
  for (let i = 0; i < 200 && !dump.listening(); i++) await sleep(10);
  await sleep(50);
  const script = [
    't0=$(date +%s%N)',
    `wg set ${b.iface} peer ${a.publicKey} allowed-ips ${a.inner4}/32,${a.inner6}/128 endpoint ${a.outer4}:${a.port}`,
    'tw=$(date +%s%N)',
    `ping -n -c 1 -W 5 ${a.inner4} >/dev/null`,
    'echo "t0=$t0 tw=$tw"',
  ].join('\n');
  const r = b.ns.exec(['sh', '-c', script], { allowFail: true, timeoutMs: 15_000 });
  await sleep(100);
  const out = await dump.stop();
  const m = /t0=(\d+) tw=(\d+)/.exec(r.stdout);
  if (!m) return undefined;
  const t0 = Number(BigInt(m[1]!) / 1000n);
  const tw = Number(BigInt(m[2]!) / 1000n);
  const ev = parseTcpdump(out, b.iface).filter((e) => e.t >= t0);
  const first = (kind: Event['kind'], after = 0): number | undefined => ev.find((e) => e.kind === kind && e.t >= after)?.t;
  const req = first('echo-req');
  const init = req !== undefined ? first('init', req) : undefined;
  const resp = init !== undefined ? first('resp', init) : undefined;
  const dataOut = resp !== undefined ? first('data-out', resp) : undefined;
  const dataIn = dataOut !== undefined ? first('data-in', dataOut) : undefined;
  const rep = dataIn !== undefined ? first('echo-rep', dataIn) : undefined;
  if (req === undefined || init === undefined || resp === undefined || dataOut === undefined || dataIn === undefined || rep === undefined) return undefined;
  const ms = (us: number): number => us / 1000;
  return {
    wgSet: ms(tw - t0),
    pingStart: ms(req - tw),
    bInit: ms(init - req),
    aResp: ms(resp - init),
    bData: ms(dataOut - resp),
    aReply: ms(dataIn - dataOut),
    bDeliver: ms(rep - dataIn),
    total: ms(rep - t0),
  };
}

/** tcpdump in a namespace (bounded by `timeout`); stop() resolves to what it printed. */
function startCapture(ns: string): { listening(): boolean; stop(): Promise<string> } {
  const child = spawn('ip', ['netns', 'exec', ns, 'timeout', '10', 'tcpdump', '-i', 'any', '-n', '-tt', '--time-stamp-precision=nano', '-l', '-U', 'icmp or udp'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    listening: () => stderr.includes('listening'),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      await closed;
      return stdout;
    },
  };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 15);
  const go = bringUp('wireguard-go');
  let ts: Topology | undefined;
  try {
    ts = bringUp('wireguard-ts');
    const sg: Steps[] = [];
    const st: Steps[] = [];
    for (let i = 0; i < rounds; i++) {
      const g = await traceRound(go);
      if (g) sg.push(g);
      const t = await traceRound(ts);
      if (t) st.push(t);
    }
    console.log(`median of ${st.length} / ${sg.length} rounds, ms (B = wireguard-ts / wireguard-go; A is wireguard-go in both)`);
    console.log(`${'step'.padEnd(10)} ${'wgts'.padStart(7)} ${'go'.padStart(7)} ${'diff'.padStart(7)}`);
    for (const k of STEP_NAMES) {
      const a = median(st.map((s) => s[k]));
      const b = median(sg.map((s) => s[k]));
      console.log(`${k.padEnd(10)} ${a.toFixed(3).padStart(7)} ${b.toFixed(3).padStart(7)} ${(a - b).toFixed(3).padStart(7)}`);
    }
  } finally {
    ts?.destroy();
    go.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
