/**
 * Shared pieces of the benchmark suite: result rows, formatting, CPU time
 * of a process, small statistics. A row always carries wgts' number and,
 * where one exists, the anchor measured in the same run and the ratio.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (bench/lib.ts compiles to dist/bench/lib.js). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const QUICK = process.env.BENCH_QUICK === '1';
/** BENCH_ONLY=tcp,udp,ping,handshake,uapi: run only these sections of tun.ts / netstack.ts (for A/B work on one lever). */
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
export const wanted = (section: string): boolean => ONLY.length === 0 || ONLY.includes(section);

export interface Row {
  /** e.g. "tcp-1stream-tun send". */
  name: string;
  /** Unit of wgts/anchor, e.g. "Mbit/s", "ms", "MB/s". */
  unit: string;
  wgts: number | null;
  anchor?: number | null;
  /** The anchor's name, e.g. "wireguard-go". */
  anchorName?: string;
  /** wgts / anchor, or anchor / wgts where lower is better (`lowerIsBetter`): > 1 means wgts is better. */
  ratio?: number | null;
  lowerIsBetter?: boolean;
  /** CPU seconds of the implementation processes during the measurement. */
  wgtsCpu?: number;
  anchorCpu?: number;
  /** Free text: parameters, secondary figures, skip reasons. */
  note?: string;
  /** Set when the benchmark did not run; the reason is in note. */
  skipped?: boolean;
}

export function makeRow(r: Omit<Row, 'ratio'>): Row {
  let ratio: number | null | undefined;
  if (r.anchor !== undefined) {
    if (r.wgts === null || r.anchor === null || r.anchor === 0 || r.wgts === 0) ratio = null;
    else ratio = r.lowerIsBetter ? r.anchor / r.wgts : r.wgts / r.anchor;
  }
  return { ...r, ratio };
}

export function skipRow(name: string, reason: string): Row {
  return { name, unit: '', wgts: null, skipped: true, note: reason };
}

export function fmtNum(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

/** One console line per row, e.g. `tcp-1stream-tun send  wgts 512 Mbit/s (2.1 CPU-s)  wireguard-go 480 Mbit/s (1.9 CPU-s)  ratio 1.07`. */
export function formatLine(r: Row): string {
  if (r.skipped) return `${r.name.padEnd(30)} skipped: ${r.note ?? ''}`;
  const cpu = (c: number | undefined): string => (c === undefined ? '' : ` (${fmtNum(c)} CPU-s)`);
  let s = `${r.name.padEnd(30)} wgts ${fmtNum(r.wgts)} ${r.unit}${cpu(r.wgtsCpu)}`;
  if (r.anchor !== undefined) s += `  ${r.anchorName ?? 'anchor'} ${fmtNum(r.anchor)} ${r.unit}${cpu(r.anchorCpu)}  ratio ${fmtNum(r.ratio)}`;
  if (r.note) s += `  [${r.note}]`;
  return s;
}

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| benchmark | wgts | anchor | ratio (>1 = wgts better) | CPU-s wgts / anchor | notes |',
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    if (r.skipped) {
      lines.push(`| ${r.name} | – | – | – | – | skipped: ${r.note ?? ''} |`);
      continue;
    }
    const anchor = r.anchor === undefined ? '–' : `${fmtNum(r.anchor)} ${r.unit} (${r.anchorName ?? 'anchor'})`;
    const cpu = r.wgtsCpu === undefined ? '–' : `${fmtNum(r.wgtsCpu)} / ${fmtNum(r.anchorCpu)}`;
    lines.push(`| ${r.name} | ${fmtNum(r.wgts)} ${r.unit} | ${anchor} | ${r.ratio === undefined ? '–' : fmtNum(r.ratio)} | ${cpu} | ${r.note ?? ''} |`);
  }
  return lines.join('\n');
}

/** CPU seconds (user + system, all threads) a process has used, from /proc/PID/stat; NaN when gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], [12]: utime, stime (fields 14 and 15 of the line), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

const CLOCK_TICKS = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** Resident set size of a process in MiB (VmRSS), NaN when gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Runs a compiled bench module as a child process (clean heap/RSS) and parses its last stdout line as JSON. */
export function runChildJson<T>(script: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): T {
  const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'dist', 'bench', script), ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env,
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`${script} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().slice(-600)}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
