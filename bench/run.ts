/**
 * `npm run bench`: every benchmark, wgts against its anchor in the same run.
 * Micro benchmarks run as child processes (clean heap and RSS); namespace
 * benchmarks need root and are skipped with a printed reason otherwise.
 * Writes bench/results/latest.json and bench/results/latest.md.
 * BENCH_QUICK=1: a ~1-minute subset (shorter runs, fewer rates and peers).
 * Benchmarks never fail on a number; a benchmark that cannot run prints why.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { QUICK, ROOT, formatLine, makeRow, markdownTable, runChildJson, skipRow, type Row } from './lib.js';
import type { MicroResult } from './micro.js';
import type { AllowedIpsResult, PeersResult } from './tables.js';
import { runEchoBench } from './netstack-echo.js';

const rows: Row[] = [];
const started = Date.now();

function emit(r: Row): void {
  rows.push(r);
  console.log(formatLine(r));
}

function section(title: string): void {
  console.log(`\n## ${title}`);
}

function version(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000 });
  return (r.stdout || r.stderr || '').trim().split('\n')[0] ?? '';
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

function machine(): Record<string, string | number | boolean> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    wireguardGo: which('wireguard-go') ? version(['wireguard-go', '--version']) : 'missing',
    iperf3: which('iperf3') ? version(['iperf3', '--version']) : 'missing',
    loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
    quick: QUICK,
    date: new Date().toISOString(),
  };
}

/** Runs a section; an error becomes a skip row with the reason instead of ending the run. */
async function guarded(name: string, f: () => Promise<void> | void): Promise<void> {
  try {
    await f();
  } catch (e) {
    emit(skipRow(name, `error: ${(e as Error).message.split('\n')[0]}`));
  }
}

function micro(): void {
  const seconds = QUICK ? 0.5 : 1.5;
  for (const backend of ['native', 'node', 'noble']) {
    let m: MicroResult | undefined;
    try {
      [m] = runChildJson<MicroResult[]>('micro.js', [String(seconds), '--json'], 120_000, { ...process.env, BENCH_BACKEND: backend });
    } catch (e) {
      emit(skipRow(`micro ${backend}`, (e as Error).message.includes('not available') ? `backend ${backend} is not available (addon without AEAD?)` : (e as Error).message));
      continue;
    }
    const note = `backend ${m!.backend}`;
    emit(makeRow({ name: `handshakes/s ${backend}`, unit: '/s', wgts: m!.handshakesPerSecond, note: `${note}; both sides' work in one process` }));
    emit(makeRow({ name: `encrypt ${backend}`, unit: 'MB/s', wgts: m!.encryptMBps, note: `${note}; 1420-byte packets, Device.sendPacket` }));
    emit(makeRow({ name: `decrypt ${backend}`, unit: 'MB/s', wgts: m!.decryptMBps, note: `${note}; 1420-byte packets, Device.receiveDatagram` }));
    for (const a of m!.aead) {
      emit(makeRow({ name: `aead-seal ${a.size}B ${backend}`, unit: 'µs', wgts: a.sealUs, note: `${note}; ChaCha20-Poly1305 alone` }));
      emit(makeRow({ name: `aead-open ${a.size}B ${backend}`, unit: 'µs', wgts: a.openUs, note: `${note}; ChaCha20-Poly1305 alone` }));
    }
  }
}

function tables(): void {
  const a = runChildJson<AllowedIpsResult>('tables.js', ['allowedips'], 120_000);
  emit(
    makeRow({
      name: 'allowedips-lookup 100k',
      unit: 'lookups/s',
      wgts: a.lookupsPerSecond,
      note: `${a.prefixes} prefixes (75 % IPv4), insert ${a.insertMs.toFixed(0)} ms, heap ${a.heapMiB.toFixed(1)} MiB, hit rate ${(a.hitRate * 100).toFixed(0)} %`,
    }),
  );
  const n = QUICK ? 2_000 : 10_000;
  const p = runChildJson<PeersResult>('tables.js', ['peers', String(n)], 120_000);
  emit(makeRow({ name: `device-${n / 1000}k-peers configure`, unit: 'ms', wgts: p.configureMs, note: 'in-process Device: addPeer + endpoint + /32 and /128 each' }));
  emit(
    makeRow({
      name: `device-${n / 1000}k-peers RSS`,
      unit: 'MiB',
      wgts: p.rssMiB,
      note: `process RSS after GC (${p.rssBaseMiB.toFixed(1)} MiB before the peers); JS heap + buffers for the peers ${p.heapMiB.toFixed(1)} MiB = ${((p.heapMiB * 1024) / n).toFixed(1)} KiB/peer`,
    }),
  );
}

function echo(): void {
  for (const f of [4, 6] as const) {
    const r = runEchoBench(f, QUICK ? 50_000 : 200_000);
    emit(
      makeRow({
        name: `netstack-echo-ipv${f}`,
        unit: 'kpkt/s',
        wgts: r.stackPps / 1000,
        anchor: r.anchorPps / 1000,
        anchorName: 'minimal responder',
        note: 'Echo Request → Reply through the channel endpoint; anchor swaps addresses in place',
      }),
    );
  }
}

async function namespaces(): Promise<void> {
  const missing = ['ip', 'wireguard-go', 'wg', 'iperf3', 'ping'].filter((c) => !which(c));
  const names = ['tcp/udp/ping/handshake (kernel TUN)', 'netstack mode', 'daemon 10k peers'];
  if (process.getuid?.() !== 0) {
    for (const n of names) emit(skipRow(n, 'needs root (network namespaces, TUN)'));
    return;
  }
  if (missing.length > 0) {
    for (const n of names) emit(skipRow(n, `missing tools: ${missing.join(', ')}`));
    return;
  }
  section('kernel TUN mode: wireguard-ts ↔ wireguard-go vs wireguard-go ↔ wireguard-go');
  await guarded('kernel TUN', async () => {
    const { benchTun } = await import('./tun.js');
    await benchTun(emit);
  });
  section('netstack mode: kernel TCP through wireguard-go to our stack');
  await guarded('netstack mode', async () => {
    const { benchNetstack } = await import('./netstack.js');
    await benchNetstack(emit);
  });
  section('daemon with many peers (wg setconf)');
  await guarded('daemon peers', async () => {
    const { benchDaemonPeers } = await import('./daemon-peers.js');
    await benchDaemonPeers(emit);
  });
}

const info = machine();
console.log(`wgts bench${QUICK ? ' (BENCH_QUICK=1)' : ''}: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Linux ${info.kernel}, Node ${info.node}, ${info.wireguardGo}; load ${info.loadAverage1m}`);
section('micro: sans-I/O core per crypto backend');
await guarded('micro', micro);
section('micro: tables');
await guarded('tables', tables);
section('micro: netstack echo');
await guarded('netstack echo', echo);
await namespaces();

const seconds = (Date.now() - started) / 1000;
const dir = join(ROOT, 'bench', 'results');
const md = [
  `# wgts benchmark results`,
  '',
  `${info.date}${QUICK ? ' (BENCH_QUICK=1)' : ''} — ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB RAM, Linux ${info.kernel}, Node ${info.node}, ${info.wireguardGo}, ${info.iperf3}. Load average at start ${info.loadAverage1m}. Run took ${seconds.toFixed(0)} s.`,
  '',
  'Ratios compare wgts with the anchor measured in the same run; > 1 means wgts is better (for times: anchor ÷ wgts). Absolute numbers on a shared machine are noisy.',
  '',
  markdownTable(rows),
  '',
].join('\n');
try {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), JSON.stringify({ machine: info, seconds, rows }, null, 2) + '\n');
  writeFileSync(join(dir, 'latest.md'), md);
  console.log(`\nwrote bench/results/latest.json and latest.md (${seconds.toFixed(0)} s)`);
  if (!QUICK && !process.env.BENCH_ONLY && updateReadme(md.split('\n').slice(2).join('\n'))) console.log('updated the table in README.md');
} catch (e) {
  console.log(`\ncould not write bench/results: ${(e as Error).message} (${seconds.toFixed(0)} s)`);
}

/** A full run replaces the README's table (between its bench:start/end markers), so the README shows the latest run. */
function updateReadme(body: string): boolean {
  const path = join(ROOT, 'README.md');
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf('<!-- bench:start');
  const end = text.indexOf('<!-- bench:end -->');
  if (start === -1 || end < start) return false;
  const open = text.indexOf('\n', start) + 1;
  writeFileSync(path, `${text.slice(0, open)}${body.trim()}\n${text.slice(end)}`);
  return true;
}
