/**
 * Helpers for the interop suite: bounded commands, namespaces, `wg show dump`
 * parsing. Everything the suite creates carries one random suffix so runs
 * never collide with each other or with the host.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {}

/** Runs argv with a timeout (default 20 s); throws unless allowFail. */
export function run(argv: string[], opts: { timeoutMs?: number; allowFail?: boolean; env?: NodeJS.ProcessEnv; input?: string } = {}): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 20_000,
    killSignal: 'SIGKILL',
    env: opts.env ?? process.env,
    input: opts.input,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const res: RunResult = { code: r.status ?? (r.error ? 127 : 128), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') res.stderr += `\n(timed out after ${opts.timeoutMs ?? 20_000} ms)`;
  if (res.code !== 0 && !opts.allowFail) {
    throw new CommandError(`${argv.join(' ')} → exit ${res.code}\n${res.stderr.trim()}\n${res.stdout.trim()}`.trim());
  }
  return res;
}

/** Starts a background command; the caller waits with `finished`. Killed by `stop` (by PID). */
export function background(argv: string[], env?: NodeJS.ProcessEnv): { child: ChildProcess; finished: Promise<RunResult>; stop(): void } {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const finished = new Promise<RunResult>((resolve) => {
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + e.message }));
  });
  return {
    child,
    finished,
    stop: () => {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

export class Netns {
  constructor(readonly name: string) {}

  exec(argv: string[], opts: Parameters<typeof run>[1] = {}): RunResult {
    return run(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }

  bg(argv: string[], env?: NodeJS.ProcessEnv): ReturnType<typeof background> {
    return background(['ip', 'netns', 'exec', this.name, ...argv], env);
  }

  pids(): number[] {
    const r = run(['ip', 'netns', 'pids', this.name], { allowFail: true });
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
  }

  /** Kills what runs in this namespace (processes we started there), then deletes it. */
  destroy(): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    run(['ip', 'netns', 'del', this.name], { allowFail: true });
  }

  /** UDP datagrams received in this namespace so far (/proc/net/snmp Udp InDatagrams). */
  udpInDatagrams(): number {
    const text = this.exec(['cat', '/proc/net/snmp']).stdout;
    const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('InDatagrams')]);
  }
}

export interface DumpPeer {
  publicKey: string;
  presharedKey: string;
  endpoint: string;
  allowedIPs: string;
  latestHandshake: number;
  rx: number;
  tx: number;
  keepalive: string;
}

export interface Dump {
  privateKey: string;
  publicKey: string;
  listenPort: number;
  fwmark: string;
  peers: DumpPeer[];
}

export function parseDump(text: string): Dump {
  const lines = text.trim().split('\n');
  const [privateKey, publicKey, listenPort, fwmark] = lines[0]!.split('\t');
  const peers = lines.slice(1).map((l) => {
    const f = l.split('\t');
    return {
      publicKey: f[0]!,
      presharedKey: f[1]!,
      endpoint: f[2]!,
      allowedIPs: f[3]!,
      latestHandshake: Number(f[4]),
      rx: Number(f[5]),
      tx: Number(f[6]),
      keepalive: f[7]!,
    };
  });
  return { privateKey: privateKey!, publicKey: publicKey!, listenPort: Number(listenPort), fwmark: fwmark!, peers };
}

/** "N packets transmitted, M received" from ping's summary. */
export function pingCounts(out: string): { sent: number; received: number } {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
  if (!m) return { sent: 0, received: 0 };
  return { sent: Number(m[1]), received: Number(m[2]) };
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = run(['cat', `/proc/${pid}/stat`]).stdout;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], [12] are utime and stime (fields 14 and 15 of the full line).
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return NaN;
  }
}
