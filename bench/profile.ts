/**
 * CPU profiles of the data path, summarised as the top self-time entries:
 *   node dist/bench/profile.js device [backend]  → Device encrypt/decrypt micro bench under --cpu-prof
 *   node dist/bench/profile.js tun [seconds]     → a wireguard-ts daemon (--cpu-prof) under iperf3
 *                                                   TCP, each direction, against wireguard-go (root)
 *   node dist/bench/profile.js setconf [peers]   → a wireguard-ts daemon (--cpu-prof) during `wg setconf` of 10 000 peers (root)
 *   node dist/bench/profile.js summary FILE      → summarise an existing .cpuprofile
 * Profiles are kept in a temporary directory whose path is printed.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology } from '../interop/topology.js';
import { sleep } from '../interop/lib.js';
import { ROOT } from './lib.js';
import { config } from './daemon-peers.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Top `n` entries by self time, as "share  function  file:line" lines. */
export function summarize(file: string, n = 25): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!)!;
    const d = p.timeDeltas[i] ?? 0;
    total += d;
    const cf = node.callFrame;
    const where = cf.url ? `${cf.url.replace(/^.*\/(dist|node_modules)\//, '')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}  ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + d);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return [`total ${(total / 1e6).toFixed(2)} s sampled`, ...rows.map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)];
}

function newest(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
}

function profileDevice(backend: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'wgts-prof-'));
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(ROOT, 'dist', 'bench', 'micro.js'), '2'], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_BACKEND: backend },
    timeout: 120_000,
  });
  console.log(r.stdout.trim());
  const [file] = newest(dir);
  console.log(`\nprofile ${file}`);
  for (const l of summarize(file!)) console.log(l);
}

/** A topology whose side B runs wireguard-ts under --cpu-prof writing into `dir`. */
function profiledTopology(dir: string): Topology {
  // --cpu-prof is not allowed in NODE_OPTIONS: a wrapper on the topology's PATH
  // starts the daemon with it, and the daemon re-spawns itself with process.execArgv.
  const topo = new Topology('wireguard-go', 'wireguard-ts-prof');
  const wrapper = join(topo.binDir, 'wireguard-ts-prof');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" --cpu-prof --cpu-prof-dir="${dir}" "${join(ROOT, 'bin', 'wireguard-ts')}" "$@"\n`, { mode: 0o755 });
  return topo;
}

/** Stops B's daemon with SIGTERM (it exits through process.exit, which writes the profile) and prints the summary. */
async function finishProfile(topo: Topology, dir: string, n: number): Promise<void> {
  process.kill(topo.b.pid!, 'SIGTERM');
  await topo.waitGone(topo.b, 10_000);
  await sleep(500);
  topo.destroy();
  const [file] = newest(dir);
  if (!file) throw new Error(`no profile written in ${dir}`);
  console.log(`\nprofile ${file}`);
  for (const l of summarize(file, n)) console.log(l);
}

async function profileSetconf(peers: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wgts-prof-'));
  const topo = profiledTopology(dir);
  try {
    topo.createNetwork();
    topo.startImpl(topo.b);
    const file = topo.writeConf('peers', config(readFileSync(topo.b.privateKeyFile, 'utf8').trim(), topo.b.port, peers));
    const t0 = performance.now();
    topo.b.ns.exec(['wg', 'setconf', topo.b.iface, file], { timeoutMs: 120_000 });
    console.log(`wg setconf of ${peers} peers: ${(performance.now() - t0).toFixed(0)} ms`);
    await finishProfile(topo, dir, 30);
  } finally {
    topo.destroy();
  }
}

async function profileTun(seconds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wgts-prof-'));
  const topo = profiledTopology(dir);
  try {
    topo.createNetwork();
    topo.startImpl(topo.a);
    topo.startImpl(topo.b);
    topo.configure(topo.a, topo.b, { endpoint: true });
    topo.configure(topo.b, topo.a, { endpoint: true });
    if (topo.ping(topo.b, topo.a.inner4, { count: 3 }).received !== 3) throw new Error(`tunnel not up\n${topo.logTail()}`);
    for (const reverse of [false, true]) {
      const srv = topo.a.ns.bg(['timeout', String(seconds + 15), 'iperf3', '-s', '-1', '-p', '5303']);
      await sleep(300);
      const r = topo.b.ns.exec(['iperf3', '-c', topo.a.inner4, '-p', '5303', '-t', String(seconds), '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: (seconds + 20) * 1000, allowFail: true });
      srv.stop();
      const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
      console.log(`iperf3 ${reverse ? 'receive' : 'send'}: ${(j.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s`);
    }
    await finishProfile(topo, dir, 30);
  } finally {
    topo.destroy();
  }
}

const isMain = process.argv[1]?.endsWith('/profile.js') ?? false;
if (isMain) {
  const [, , what, arg] = process.argv;
  if (what === 'device') profileDevice(arg ?? 'node');
  else if (what === 'tun') await profileTun(Number(arg ?? 8));
  else if (what === 'setconf') await profileSetconf(Number(arg ?? 10_000));
  else if (what === 'summary') for (const l of summarize(arg!, 40)) console.log(l);
  else {
    console.error('usage: profile.js device [native|node|noble] | tun [seconds] | setconf [peers] | summary FILE');
    process.exit(2);
  }
}
