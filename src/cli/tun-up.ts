/**
 * `wgts up PATH|NAME --mode tun`: wg-quick's cmd_up, then stay in the
 * foreground as the endpoint; SIGINT/SIGTERM (or `wgts down NAME`) run
 * cmd_down. The TUN device and the WireGuard device live in a `wireguard-ts -f
 * IFACE` child (H4's daemon, the same program wg-quick can run); this process
 * configures it over UAPI and the kernel with `ip`, like wg-quick does, and
 * records each applied step in a state file so a later `down` can undo it
 * even if this process dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPrefix } from '../config/ip.js';
import { resolveEndpoints } from '../config/resolve.js';
import { toUapiSet } from '../config/uapi.js';
import type { WgConfig } from '../config/types.js';
import { getDevice, SYSTEM_SOCKET_DIR } from '../node/uapi-client.js';
import type { LogLevel, UpOptions } from './up.js';
import { createExecutor, createLogger, effectiveLogLevel, KernelFacts, type Executor, type Logger } from './tun-exec.js';
import { planAddresses, planDns, planHooks, planMtuUp, planRoutes, resolvconfName, type Action } from './tun-plan.js';
import { teardown } from './tun-down.js';
import { startTunReresolver } from './tun-reresolve.js';
import { pidPath, processAlive, readState, writeState, type TunState } from './tun-state.js';

const READY_TIMEOUT_MS = 15_000;
const UAPI_ENV = { WGTS_UAPI_DIR: SYSTEM_SOCKET_DIR };

class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** The daemon command: WGTS_TUN_DAEMON (e.g. wireguard-go), else our bin/wireguard-ts. */
export function daemonCommand(env: NodeJS.ProcessEnv): string[] {
  const forced = env.WGTS_TUN_DAEMON;
  if (forced) return [forced];
  // Compiled: dist/src/cli/ → ../../../bin; from source: src/cli → ../../bin.
  for (const rel of ['../../../bin/wireguard-ts', '../../bin/wireguard-ts']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return [process.execPath, p];
  }
  throw new Error('cannot find bin/wireguard-ts next to this installation');
}

function daemonLogLevel(l: LogLevel): string {
  if (l === 'silent') return 'silent';
  if (l === 'verbose' || l === 'debug') return 'verbose';
  return 'error';
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 500);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export interface RunningDaemon {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the daemon in its own process group (a terminal's Ctrl-C must reach
 * only us, so PreDown and SaveConfig run while the interface still exists) and
 * waits until it says "ready" or its UAPI socket answers.
 */
export async function startDaemon(iface: string, level: LogLevel, log: Logger, env: NodeJS.ProcessEnv, user?: string): Promise<RunningDaemon> {
  const [bin, ...pre] = daemonCommand(env);
  const argv = [...pre, '-f', ...(user !== undefined ? ['--user', user] : []), iface];
  const shown = bin === process.execPath ? 'wireguard-ts' : bin!;
  log.info(`[#] ${[shown, ...argv.slice(pre.length)].join(' ')}`);
  const child = spawn(bin!, argv, {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: { ...env, WG_PROCESS_FOREGROUND: '1', WGTS_READY_FD: '3', LOG_LEVEL: daemonLogLevel(level) },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (e) => {
      log.error(`cannot start ${shown}: ${e.message}`);
      resolve({ code: 127, signal: null });
    });
  });
  const sock = `${SYSTEM_SOCKET_DIR}/${iface}.sock`;
  const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  let said = '';
  let ready = false;
  pipe.setEncoding('utf8');
  pipe.on('data', (d: string) => {
    said += d;
    if (said.includes('ready\n')) ready = true;
  });
  pipe.on('error', () => undefined);
  let gone = false;
  void exited.then(() => (gone = true));
  const until = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (gone) throw new Error(`${shown} exited before the interface was ready`);
      if ((ready || existsSync(sock)) && (await canConnect(sock))) break;
      if (Date.now() > until) throw new Error(`${shown} did not become ready within ${READY_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    if (!gone) child.kill('SIGKILL');
    await exited;
    throw e;
  } finally {
    pipe.destroy();
  }
  return { child, exited };
}

/** Maps route-phase actions to the undo entries to record once each succeeds. */
function undoFor(a: Action, undo: ReturnType<typeof planRoutes>['undo'], used: { rules: number; firewall: number }): Partial<Pick<TunState, 'rules' | 'firewall'>> {
  if (a.kind !== 'cmd') return {};
  if (a.argv[0] === 'ip' && a.argv[2] === 'rule' && a.argv[3] === 'add') return { rules: [undo.rules[used.rules++]!] };
  if (a.argv[0] === 'nft' || a.argv[0] === 'iptables-restore' || a.argv[0] === 'ip6tables-restore') return { firewall: [undo.firewall[used.firewall++]!] };
  return {};
}

interface UpContext {
  iface: string;
  cfg: WgConfig;
  configPath: string;
  log: Logger;
  exec: Executor;
  facts: KernelFacts;
  env: NodeJS.ProcessEnv;
  state: TunState;
  checkStop: () => void;
  level: LogLevel;
}

/** The up sequence after PreUp and the daemon start (wg-quick's set_config … PostUp). */
async function configure(c: UpContext): Promise<void> {
  const { iface, cfg, exec, facts, log, state } = c;
  const resolved = await resolveEndpoints(cfg, c.configPath);
  await exec.run({ kind: 'uapi', argv: ['wg', 'setconf', iface, '/dev/fd/63'], body: toUapiSet(cfg, { resolved, fileName: c.configPath }) });
  c.checkStop();
  for (const a of planAddresses(cfg, iface)) await exec.run(a);
  c.checkStop();
  const endpointRouteMtus: (number | undefined)[] = [];
  let defaultRouteMtu: number | undefined;
  if (cfg.interface.mtu === undefined) {
    const dev = await getDevice(iface, { env: { ...c.env, ...UAPI_ENV } });
    for (const p of dev.peers) if (p.endpoint && !p.endpoint.host.includes('%')) endpointRouteMtus.push(await facts.routeMtuTo(p.endpoint.host));
    if (!endpointRouteMtus.some((m) => m !== undefined && m > 0)) defaultRouteMtu = await facts.defaultRouteMtu();
  }
  for (const a of planMtuUp(cfg, iface, { endpointRouteMtus, defaultRouteMtu })) await exec.run(a);
  c.checkStop();
  if (cfg.interface.dns.length) {
    if (facts.resolvconfAvailable()) {
      const name = resolvconfName(iface, facts.resolvconfInterfaceOrder());
      state.dnsName = name;
      writeState(state);
      for (const a of planDns(cfg, name)) await exec.run(a);
    } else {
      log.warn(`DNS = ${cfg.interface.dns.join(', ')} not applied: resolvconf is not installed`);
    }
  }
  c.checkStop();
  const dev = await getDevice(iface, { env: { ...c.env, ...UAPI_ENV } });
  const allowed: string[] = [];
  for (const p of dev.peers) for (const a of p.allowedIPs) allowed.push(formatPrefix(a));
  const firewall = facts.firewallTool();
  const { actions, undo } = planRoutes(cfg, iface, allowed, {
    fwmark: dev.fwmark,
    existingRoutes: await facts.routesOnDev(iface),
    usedTables: await facts.usedTables(),
    firewall,
    interfaceAddresses: await facts.interfaceAddresses(iface),
  });
  if (firewall === 'none' && undo.rules.length) log.warn('neither nft nor iptables is installed: the default route goes without wg-quick\'s firewall marks');
  const used = { rules: 0, firewall: 0 };
  for (const a of actions) {
    await exec.run(a);
    const u = undoFor(a, undo, used);
    if (u.rules) state.rules.push(...u.rules);
    if (u.firewall) state.firewall.push(...u.firewall);
    if (u.rules || u.firewall) writeState(state);
  }
  c.checkStop();
  for (const h of planHooks(cfg.interface.postUp, iface)) await exec.run(h);
}

/** Runs the endpoint in tun mode until a signal or the interface disappears; resolves with the exit code. */
export async function runTunEndpoint(opts: UpOptions): Promise<number> {
  const env = opts.cli.env;
  const level = effectiveLogLevel(opts.logLevel, env);
  const log = createLogger(level, (l) => opts.cli.err(l));
  const iface = opts.interfaceName;
  const cfg = opts.config;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    log.error(`${opts.cli.prog} up --mode tun must be run as root (it creates ${iface} and changes routes)`);
    return 1;
  }
  // --user is wireguard-ts' flag; wireguard-go (WGTS_TUN_DAEMON) has none.
  if (opts.user !== undefined && env.WGTS_TUN_DAEMON) {
    log.error(`--user needs wireguard-ts as the daemon, not ${env.WGTS_TUN_DAEMON}`);
    return 1;
  }
  const facts = new KernelFacts(env);
  const exec = createExecutor(iface, log, env);
  mkdirSync(SYSTEM_SOCKET_DIR, { recursive: true, mode: 0o755 });

  const old = readState(iface);
  if (old && old.pid !== process.pid && processAlive(old.pid)) {
    log.error(`\`${iface}' is already up (${opts.cli.prog} up, pid ${old.pid})`);
    return 1;
  }
  const sock = `${SYSTEM_SOCKET_DIR}/${iface}.sock`;
  if (existsSync(sock) && (await canConnect(sock))) {
    log.error(`\`${iface}' is already running (its UAPI socket ${sock} answers)`);
    return 1;
  }
  if (await facts.linkExists(iface)) {
    log.error(`\`${iface}' already exists`);
    return 1;
  }
  if (old) {
    log.warn(`${iface}: cleaning up after a previous run (pid ${old.pid}) that did not shut down`);
    await teardown(old, { log, exec, facts, env, interfaceGone: true, skipHooks: true });
  }

  let stopSignal: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopSignal) return;
    log.info(`${sig}: taking ${iface} down`);
    stopSignal = sig;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const checkStop = (): void => {
    if (stopSignal) throw new Interrupted(`interrupted by ${stopSignal}`);
  };

  const state: TunState = {
    version: 1,
    mode: 'tun',
    iface,
    pid: process.pid,
    configPath: resolvePath(opts.configPath),
    preDown: cfg.interface.preDown,
    postDown: cfg.interface.postDown,
    saveConfig: cfg.interface.saveConfig,
    complete: false,
    rules: [],
    firewall: [],
  };
  let daemon: RunningDaemon | undefined;
  const stopDaemon = async (): Promise<void> => {
    await waitDaemonGone();
    // A daemon that dropped root cannot remove its socket from /var/run/wireguard.
    if (daemon && opts.user !== undefined) rmSync(sock, { force: true });
  };
  const waitDaemonGone = async (): Promise<void> => {
    if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
    const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    if ((await Promise.race([daemon.exited, timeout(3000)])) !== 'timeout') return;
    log.warn(`the daemon (pid ${daemon.child.pid}) did not exit after ${iface} was deleted; sending SIGTERM`);
    daemon.child.kill('SIGTERM');
    if ((await Promise.race([daemon.exited, timeout(2000)])) !== 'timeout') return;
    daemon.child.kill('SIGKILL');
    await daemon.exited;
  };
  const down = (o: { interfaceGone?: boolean; skipHooks?: boolean } = {}): Promise<boolean> => teardown(state, { log, exec, facts, env, config: cfg, stopDaemon, ...o });

  try {
    writeState(state);
    writeFileSync(pidPath(iface), `${process.pid}\n`);
    for (const h of planHooks(cfg.interface.preUp, iface)) await exec.run(h);
    checkStop();
    daemon = await startDaemon(iface, level, log, env, opts.user);
    state.daemonPid = daemon.child.pid;
    writeState(state);
    checkStop();
    await configure({ iface, cfg, configPath: opts.configPath, log, exec, facts, env, state, checkStop, level });
    state.complete = true;
    writeState(state);
  } catch (e) {
    if (!(e instanceof Interrupted)) log.error(`${iface}: ${(e as Error).message}`);
    // wg-quick's trap on a failed up: del_if only, no down hooks.
    await down({ skipHooks: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    return e instanceof Interrupted ? 0 : 1;
  }
  log.info(`${iface} is up (tun mode, daemon pid ${daemon.child.pid}); \`${opts.cli.prog} down ${iface}' or SIGTERM/SIGINT to stop`);
  // wg resolves Endpoint hostnames once; re-resolve them while handshakes fail.
  const reresolver = startTunReresolver(iface, cfg, { env: { ...env, ...UAPI_ENV }, log });

  const why = await new Promise<'signal' | 'daemon'>((resolve) => {
    wake = () => resolve('signal');
    if (stopSignal) resolve('signal');
    void daemon!.exited.then(() => resolve('daemon'));
  });
  reresolver?.stop();
  let code: number;
  if (why === 'signal') {
    code = (await down()) ? 0 : 1;
  } else {
    const { code: dc, signal } = await daemon.exited;
    const gone = !(await facts.linkExists(iface));
    log.warn(`the daemon exited (${signal ?? `code ${dc}`})${gone ? `; ${iface} is gone` : ''}; cleaning up`);
    await down({ interfaceGone: gone });
    code = dc === 0 ? 0 : 1;
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  log.info(`${iface} is down`);
  return code;
}

