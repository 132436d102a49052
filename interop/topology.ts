/**
 * Two namespaces joined by a veth pair, one WireGuard implementation in each:
 * side A runs `implA` (Debian's wireguard-go), side B runs `implB`
 * (wireguard-ts by default). Outer addresses 192.168.241.1/.2 and
 * fd00:241::1/::2; tunnel addresses 10.241.0.1/.2 and fd00:beef::1/::2.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, readlinkSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, parseDump, run, sleep, suffix, type Dump, type DumpPeer } from './lib.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Side {
  ns: Netns;
  iface: string;
  veth: string;
  impl: string;
  outer4: string;
  outer6: string;
  inner4: string;
  inner6: string;
  port: number;
  privateKeyFile: string;
  publicKey: string;
  /** PID of the daemon serving `iface`, once started. */
  pid?: number;
}

export class Topology {
  readonly id = suffix();
  readonly dir = mkdtempSync(join(tmpdir(), 'wgts-interop-'));
  /** A directory with `wireguard-ts` on it, for wg-quick's PATH lookup. */
  readonly binDir = join(this.dir, 'bin');
  readonly a: Side;
  readonly b: Side;
  private destroyed = false;

  constructor(implA: string, implB: string) {
    run(['mkdir', '-p', this.binDir]);
    symlinkSync(join(REPO_ROOT, 'bin', 'wireguard-ts'), join(this.binDir, 'wireguard-ts'));
    const mk = (tag: 'a' | 'b', impl: string, host: number, port: number): Side => {
      const priv = run(['wg', 'genkey']).stdout.trim();
      const file = join(this.dir, `${tag}.key`);
      writeFileSync(file, priv + '\n', { mode: 0o600 });
      return {
        ns: new Netns(`wgi${tag}-${this.id}`),
        iface: `wg${tag}${this.id}`,
        veth: `ve${tag}${this.id}`,
        impl,
        outer4: `192.168.241.${host}`,
        outer6: `fd00:241::${host}`,
        inner4: `10.241.0.${host}`,
        inner6: `fd00:beef::${host}`,
        port,
        privateKeyFile: file,
        publicKey: run(['wg', 'pubkey'], { input: priv + '\n' }).stdout.trim(),
      };
    };
    this.a = mk('a', implA, 1, 51820);
    this.b = mk('b', implB, 2, 51821);
  }

  /** Environment for running an implementation: our bin dir first on PATH. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${this.binDir}:${process.env.PATH ?? ''}`, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', ...extra };
  }

  createNetwork(): void {
    for (const s of [this.a, this.b]) {
      run(['ip', 'netns', 'add', s.ns.name]);
      s.ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    }
    run(['ip', 'link', 'add', this.a.veth, 'netns', this.a.ns.name, 'type', 'veth', 'peer', 'name', this.b.veth, 'netns', this.b.ns.name]);
    for (const s of [this.a, this.b]) {
      s.ns.exec(['ip', 'addr', 'add', `${s.outer4}/24`, 'dev', s.veth]);
      s.ns.exec(['ip', 'addr', 'add', `${s.outer6}/64`, 'dev', s.veth, 'nodad']);
      s.ns.exec(['ip', 'link', 'set', s.veth, 'up']);
      // Removing the primary address must keep the secondary (roaming case).
      s.ns.exec(['sysctl', '-q', '-w', `net.ipv4.conf.${s.veth}.promote_secondaries=1`]);
    }
  }

  /** Starts the implementation for a side (it daemonizes; ready when this returns) and brings the interface up. */
  startImpl(s: Side): void {
    const t0 = Date.now();
    // Output to a log file: a daemon keeps its stdout open, which would hold a pipe forever.
    s.ns.exec(['sh', '-c', 'exec "$0" "$1" >>"$2" 2>&1', s.impl, s.iface, this.logFile(s)], { env: this.env(), timeoutMs: 15_000 });
    s.pid = this.daemonPid(s);
    s.ns.exec(['ip', 'addr', 'add', `${s.inner4}/24`, 'dev', s.iface]);
    s.ns.exec(['ip', 'addr', 'add', `${s.inner6}/64`, 'dev', s.iface, 'nodad']);
    s.ns.exec(['ip', 'link', 'set', 'mtu', '1420', 'up', 'dev', s.iface]);
    if (process.env.INTEROP_DEBUG) console.error(`# started ${s.impl} ${s.iface} pid ${s.pid} in ${Date.now() - t0} ms`);
  }

  logFile(s: Side): string {
    return join(this.dir, `${s.iface}.log`);
  }

  /** The last lines each daemon logged (LOG_LEVEL=verbose for more). */
  logTail(lines = 30): string {
    return [this.a, this.b]
      .map((s) => {
        const f = this.logFile(s);
        const text = existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').slice(-lines).join('\n') : '';
        return text ? `--- ${s.impl} ${s.iface}\n${text}` : '';
      })
      .filter(Boolean)
      .join('\n');
  }

  /** The PID of the process in the side's namespace that holds its UAPI socket open. */
  daemonPid(s: Side): number | undefined {
    const sock = `/var/run/wireguard/${s.iface}.sock`;
    const pids = s.ns.pids();
    let inode = '';
    try {
      // /proc/PID/net/unix lists the namespace's unix sockets with their socket inodes.
      const line = readFileSync(`/proc/${pids[0]}/net/unix`, 'utf8').split('\n').find((l) => l.endsWith(` ${sock}`));
      inode = line?.trim().split(/\s+/)[6] ?? '';
    } catch {
      /* no pids */
    }
    for (const pid of pids) {
      try {
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          if (inode && readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
        }
      } catch {
        /* process gone */
      }
    }
    return pids[0];
  }

  wg(s: Side, args: string[], allowFail = false): string {
    return s.ns.exec(['wg', ...args], { allowFail, timeoutMs: 15_000 }).stdout;
  }

  dump(s: Side): Dump {
    return parseDump(this.wg(s, ['show', s.iface, 'dump']));
  }

  peerOf(s: Side, other: Side): DumpPeer | undefined {
    return this.dump(s).peers.find((p) => p.publicKey === other.publicKey);
  }

  /** Configures `s` with a private key, its port, and `other` as a peer. */
  configure(s: Side, other: Side, opts: { endpoint?: boolean; v6Endpoint?: boolean; keepalive?: number; psk?: string; allowedIPs?: string } = {}): void {
    const args = ['set', s.iface, 'private-key', s.privateKeyFile, 'listen-port', String(s.port), 'peer', other.publicKey];
    args.push('allowed-ips', opts.allowedIPs ?? `${other.inner4}/32,${other.inner6}/128`);
    if (opts.endpoint) args.push('endpoint', opts.v6Endpoint ? `[${other.outer6}]:${other.port}` : `${other.outer4}:${other.port}`);
    if (opts.keepalive !== undefined) args.push('persistent-keepalive', String(opts.keepalive));
    if (opts.psk) {
      const f = join(this.dir, `psk-${suffix()}`);
      writeFileSync(f, opts.psk + '\n', { mode: 0o600 });
      args.push('preshared-key', f);
    }
    this.wg(s, args);
  }

  removePeer(s: Side, other: Side): void {
    this.wg(s, ['set', s.iface, 'peer', other.publicKey, 'remove']);
  }

  /** Fresh peers on both sides: no sessions, no handshake state. */
  resetPeers(opts: { aEndpoint?: boolean; bEndpoint?: boolean } = { aEndpoint: true, bEndpoint: true }): void {
    this.removePeer(this.a, this.b);
    this.removePeer(this.b, this.a);
    this.configure(this.a, this.b, { endpoint: opts.aEndpoint });
    this.configure(this.b, this.a, { endpoint: opts.bEndpoint });
  }

  ping(from: Side, to: string, opts: { count?: number; size?: number; interval?: number; wait?: number; deadline?: number } = {}): { sent: number; received: number; out: string } {
    const count = opts.count ?? 5;
    const args = ['ping', '-n', '-q', '-c', String(count), '-i', String(opts.interval ?? 0.05), '-W', String(opts.wait ?? 2)];
    if (opts.size !== undefined) args.push('-s', String(opts.size), '-M', 'do');
    if (opts.deadline !== undefined) args.push('-w', String(opts.deadline));
    args.push(to);
    const r = from.ns.exec(args, { allowFail: true, timeoutMs: 60_000 });
    const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
    return { sent: m ? Number(m[1]) : 0, received: m ? Number(m[2]) : 0, out: r.stdout + r.stderr };
  }

  isAlive(s: Side): boolean {
    if (!s.pid) return false;
    try {
      process.kill(s.pid, 0);
      const state = readFileSync(`/proc/${s.pid}/stat`, 'utf8').split(') ')[1]?.[0];
      return state !== 'Z';
    } catch {
      return false;
    }
  }

  async waitGone(s: Side, ms = 5000): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!this.isAlive(s)) return true;
      await sleep(50);
    }
    return false;
  }

  writeConf(name: string, text: string): string {
    const f = join(this.dir, `${name}.conf`);
    writeFileSync(f, text, { mode: 0o600 });
    return f;
  }

  /** Removes everything this topology created, also after a failure. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const s of [this.a, this.b]) {
      if (s.pid) {
        try {
          process.kill(s.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      s.ns.destroy();
      for (const name of [s.iface, `wq${s.iface.slice(3)}`]) {
        const sock = `/var/run/wireguard/${name}.sock`;
        if (existsSync(sock)) rmSync(sock, { force: true });
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
