/**
 * Running what tun-plan.ts plans: commands with bounded time and output, hooks
 * through bash, UAPI sets, and the kernel queries wg-quick makes between steps
 * (`ip route get`, `ip route show`, `ip addr show`), parsed into facts.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setDevice } from '../node/uapi-client.js';
import type { LogLevel } from './up.js';
import { showAction, type Action, type FirewallTool } from './tun-plan.js';

// ------------------------------------------------------------------ logging

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, verbose: 4, debug: 5 };

export interface Logger {
  readonly level: LogLevel;
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  verbose(msg: string): void;
  debug(msg: string): void;
}

/** Plain lines "LEVEL: message" on the given sink (stderr by default), filtered by level. */
export function createLogger(level: LogLevel, sink: (line: string) => void = (l) => void process.stderr.write(l)): Logger {
  const at = (l: Exclude<LogLevel, 'silent'>) => (msg: string): void => {
    if (RANK[l] <= RANK[level]) sink(`${l}: ${msg}\n`);
  };
  return { level, error: at('error'), warn: at('warn'), info: at('info'), verbose: at('verbose'), debug: at('debug') };
}

/** --log-level wins; with the default (info), a valid LOG_LEVEL from the environment applies. */
export function effectiveLogLevel(flag: LogLevel, env: NodeJS.ProcessEnv): LogLevel {
  const e = env.LOG_LEVEL;
  if (flag === 'info' && e && e in RANK) return e as LogLevel;
  return flag;
}

// ------------------------------------------------------------------ running

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class ActionError extends Error {
  override readonly name = 'ActionError';
}

const MAX_OUTPUT = 1 << 20;

/** Runs argv (no shell), feeding stdin; killed after timeoutMs. Never throws: ENOENT → code 127. */
export function runCommand(argv: string[], opts: { stdin?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let done = false;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const finish = (r: RunResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs ?? 15_000} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 15_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
    child.on('error', (e: NodeJS.ErrnoException) => finish({ code: e.code === 'ENOENT' ? 127 : 126, stdout, stderr: stderr + e.message }));
    child.on('close', (code, signal) => finish({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** True if `name` is an executable on PATH. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

export interface Executor {
  /** Runs one action, logging its `[#]` line; throws ActionError on failure. */
  run(a: Action): Promise<RunResult>;
  /** Same, but a failure is logged as a warning and returned. */
  tryRun(a: Action): Promise<RunResult>;
}

export function createExecutor(iface: string, log: Logger, env: NodeJS.ProcessEnv = process.env): Executor {
  const exec = async (a: Action): Promise<RunResult> => {
    log.info(`[#] ${showAction(a)}`);
    if (a.kind === 'hook') {
      // wg-quick evaluates hooks in a subshell of a `set -e -o pipefail` script.
      return runCommand(['bash', '-e', '-o', 'pipefail', '-c', a.script], { timeoutMs: 120_000, env });
    }
    if (a.kind === 'uapi') {
      try {
        await setDevice(iface, a.body, { env: { ...env, WGTS_UAPI_DIR: '/var/run/wireguard' } });
        return { code: 0, stdout: '', stderr: '' };
      } catch (e) {
        return { code: 1, stdout: '', stderr: (e as Error).message };
      }
    }
    // sysctl may not be installed; the knob is a file.
    const sysctl = a.argv[0] === 'sysctl' ? /^([a-z0-9_.]+)=([0-9]+)$/.exec(a.argv[a.argv.length - 1]!) : null;
    if (sysctl && !onPath('sysctl', env)) {
      try {
        writeFileSync(`/proc/sys/${sysctl[1]!.replace(/\./g, '/')}`, sysctl[2]!);
        return { code: 0, stdout: '', stderr: '' };
      } catch (e) {
        return { code: 1, stdout: '', stderr: (e as Error).message };
      }
    }
    return runCommand(a.argv, { stdin: a.stdin, env });
  };
  return {
    async run(a) {
      const r = await exec(a);
      if (r.stdout.trim() && a.kind === 'hook') log.info(r.stdout.trimEnd());
      if (r.code !== 0) throw new ActionError(`\`${showAction(a).split('\n')[0]}' failed (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
      // A hook's stderr is its user's business (wg-quick shows it); a command's is noise unless asked for.
      if (r.stderr.trim()) (a.kind === 'hook' ? log.info : log.verbose)(r.stderr.trimEnd());
      return r;
    },
    async tryRun(a) {
      const r = await exec(a);
      if (r.stdout.trim() && a.kind === 'hook') log.info(r.stdout.trimEnd());
      if (r.code !== 0) log.warn(`\`${showAction(a).split('\n')[0]}' failed (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
      else if (r.stderr.trim()) (a.kind === 'hook' ? log.info : log.verbose)(r.stderr.trimEnd());
      return r;
    },
  };
}

// ------------------------------------------------------------------ kernel facts (parsers are pure)

/** "mtu N" in `ip route get` / `ip link show` output. */
export function parseMtu(text: string): number | undefined {
  const m = /\bmtu ([0-9]+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** "dev NAME" in `ip route` output. */
export function parseDev(text: string): string | undefined {
  const m = /\bdev ([^ \n]+)/.exec(text);
  return m ? m[1] : undefined;
}

/** Prefixes of `ip -4|-6 route show dev X` lines: "default" → /0, a bare address → host prefix. */
export function parseRoutePrefixes(text: string, family: 4 | 6): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    let first = line.trim().split(/\s+/)[0];
    if (!first) continue;
    if (['unreachable', 'prohibit', 'blackhole', 'throw', 'local', 'broadcast', 'multicast', 'anycast', 'unicast'].includes(first)) first = line.trim().split(/\s+/)[1];
    if (!first) continue;
    if (first === 'default') out.push(family === 4 ? '0.0.0.0/0' : '::/0');
    else if (first.includes('/')) out.push(first);
    else if (/^[0-9a-f:.]+$/i.test(first)) out.push(`${first}/${family === 4 ? 32 : 128}`);
  }
  return out;
}

/** Table numbers named in `ip route show table all` output. */
export function parseUsedTables(text: string): number[] {
  const out = new Set<number>();
  for (const m of text.matchAll(/\btable ([0-9]+)\b/g)) out.add(Number(m[1]));
  return [...out];
}

/** Addresses in `ip -o addr show dev X` output (wg-quick's `inet6? ADDR/len`). */
export function parseOneLineAddrs(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /\sinet6? ([0-9a-f:.]+)\/[0-9]+/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Addresses with prefix in `ip -brief address show dev X`: "wg0  UNKNOWN  10.0.0.1/24 fd00::1/64". */
export function parseBriefAddrs(text: string): string[] {
  const line = text.split('\n')[0] ?? '';
  return line.trim().split(/\s+/).slice(2).filter((s) => s.includes('/'));
}

/** Live queries. Each returns undefined / empty on failure: the caller falls back like wg-quick. */
export class KernelFacts {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  private async ip(args: string[]): Promise<string> {
    const r = await runCommand(['ip', ...args], { timeoutMs: 10_000, env: this.env });
    return r.code === 0 ? r.stdout : '';
  }

  async linkExists(iface: string): Promise<boolean> {
    const r = await runCommand(['ip', 'link', 'show', 'dev', iface], { timeoutMs: 10_000, env: this.env });
    return r.code === 0 && r.stdout.trim() !== '';
  }

  async linkMtu(dev: string): Promise<number | undefined> {
    return parseMtu(await this.ip(['link', 'show', 'dev', dev]));
  }

  /** wg-quick's per-endpoint probe: the route's mtu, else its device's. */
  async routeMtuTo(address: string): Promise<number | undefined> {
    const out = await this.ip(['route', 'get', address]);
    const m = parseMtu(out);
    if (m !== undefined) return m;
    const dev = parseDev(out);
    return dev ? this.linkMtu(dev) : undefined;
  }

  async defaultRouteMtu(): Promise<number | undefined> {
    const first = (await this.ip(['route', 'show', 'default'])).split('\n')[0] ?? '';
    const m = parseMtu(first);
    if (m !== undefined) return m;
    const dev = parseDev(first);
    return dev ? this.linkMtu(dev) : undefined;
  }

  async routesOnDev(iface: string): Promise<string[]> {
    return [...parseRoutePrefixes(await this.ip(['-4', 'route', 'show', 'dev', iface]), 4), ...parseRoutePrefixes(await this.ip(['-6', 'route', 'show', 'dev', iface]), 6)];
  }

  async usedTables(): Promise<number[]> {
    return [...new Set([...parseUsedTables(await this.ip(['-4', 'route', 'show', 'table', 'all'])), ...parseUsedTables(await this.ip(['-6', 'route', 'show', 'table', 'all']))])];
  }

  async interfaceAddresses(iface: string): Promise<{ 4: string[]; 6: string[] }> {
    return { 4: parseOneLineAddrs(await this.ip(['-o', '-4', 'addr', 'show', 'dev', iface])), 6: parseOneLineAddrs(await this.ip(['-o', '-6', 'addr', 'show', 'dev', iface])) };
  }

  async briefAddresses(iface: string): Promise<string[]> {
    return parseBriefAddrs(await this.ip(['-all', '-brief', 'address', 'show', 'dev', iface]));
  }

  firewallTool(): FirewallTool {
    if (onPath('nft', this.env)) return 'nft';
    if (onPath('iptables', this.env)) return 'iptables';
    return 'none';
  }

  resolvconfAvailable(): boolean {
    return onPath('resolvconf', this.env);
  }

  resolvconfInterfaceOrder(): string | undefined {
    const f = '/etc/resolvconf/interface-order';
    try {
      return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
    } catch {
      return undefined;
    }
  }

  /** Nameservers resolvconf holds for NAME (what wg-quick's save_config records). */
  async resolvconfNameservers(name: string): Promise<string[] | undefined> {
    const r = await runCommand(['resolvconf', '-l', name], { timeoutMs: 10_000, env: this.env });
    let text = r.code === 0 ? r.stdout : undefined;
    if (text === undefined) {
      try {
        text = readFileSync(`/etc/resolvconf/run/interface/${name}`, 'utf8');
      } catch {
        return undefined;
      }
    }
    const out: string[] = [];
    for (const line of text.split('\n')) {
      const m = /^nameserver ([a-zA-Z0-9_=+:%.-]+)$/.exec(line);
      if (m) out.push(m[1]!);
    }
    return out;
  }
}
