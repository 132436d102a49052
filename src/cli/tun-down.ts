/**
 * Taking a tun-mode endpoint down, as wg-quick's cmd_down does: PreDown hooks,
 * SaveConfig, DNS / firewall / policy rules / link removal, PostDown hooks.
 * Used by the running endpoint on SIGINT/SIGTERM, and by `wgts down NAME`
 * when the endpoint process is gone (downFromState), from the state file.
 */
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { formatPrefix } from '../config/ip.js';
import { parseConfig } from '../config/parse.js';
import type { WgConfig } from '../config/types.js';
import { getDevice } from '../node/uapi-client.js';
import type { Cli } from './context.js';
import { formatShowconf } from './show-format.js';
import { createExecutor, createLogger, effectiveLogLevel, KernelFacts, type Executor, type Logger } from './tun-exec.js';
import { planHooks, planTeardown, saveConfigText } from './tun-plan.js';
import { pidPath, processAlive, readState, removeState, statePath, writeFileAtomic, type TunState } from './tun-state.js';

const UAPI_ENV = { WGTS_UAPI_DIR: '/var/run/wireguard' };

export interface TeardownContext {
  log: Logger;
  exec: Executor;
  facts: KernelFacts;
  env: NodeJS.ProcessEnv;
  /** The config as `up` read it; the file is re-read first (wg-quick parses it again at down). */
  config?: WgConfig;
  /** Stops the daemon after the link is deleted; default: wait for state.daemonPid, then signal it. */
  stopDaemon?: () => Promise<void>;
  /** Skip PreDown and SaveConfig (the interface is already gone). */
  interfaceGone?: boolean;
  /** Undo only (wg-quick's del_if after a failed up): no hooks, no SaveConfig. */
  skipHooks?: boolean;
}

function currentConfig(state: TunState, ctx: TeardownContext): WgConfig | undefined {
  try {
    return parseConfig(readFileSync(state.configPath, 'utf8'), state.configPath);
  } catch (e) {
    if (ctx.config) return ctx.config;
    ctx.log.warn(`cannot read ${state.configPath} again: ${(e as Error).message}`);
    return undefined;
  }
}

/** wg-quick's save_config, from the live interface; the file is replaced atomically, mode 0600. */
export async function saveConfig(state: TunState, cfg: WgConfig, ctx: TeardownContext): Promise<void> {
  const iface = state.iface;
  ctx.log.info(`[#] wg showconf ${iface}`);
  const dev = await getDevice(iface, { env: { ...ctx.env, ...UAPI_ENV } });
  const configured = new Set(cfg.interface.addresses.map(formatPrefix));
  // The kernel's own IPv6 link-local address is not something the file asked for.
  const addresses = (await ctx.facts.briefAddresses(iface)).filter((a) => !/^fe[89ab][0-9a-f]:/i.test(a) || configured.has(a));
  let dns: string[] = [...cfg.interface.dns];
  if (state.dnsName !== undefined) dns = (await ctx.facts.resolvconfNameservers(state.dnsName)) ?? dns;
  // wg-quick drops search domains here; keeping them loses nothing.
  dns.push(...cfg.interface.dnsSearch);
  const mtu = cfg.interface.mtu !== undefined ? await ctx.facts.linkMtu(iface) : undefined;
  const text = saveConfigText({ showconf: formatShowconf(dev), addresses, dns, mtu, cfg });
  let path = state.configPath;
  try {
    path = realpathSync(path);
  } catch {
    /* write where it was */
  }
  writeFileAtomic(path, text, 0o600);
  ctx.log.info(`saved the configuration to ${path}`);
}

function daemonCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** After the link is gone the daemon exits by itself; make sure, without touching a reused pid. */
async function stopDaemonByPid(state: TunState, log: Logger): Promise<void> {
  const pid = state.daemonPid;
  if (pid === undefined || !processAlive(pid)) return;
  if (await waitGone(pid, 3000)) return;
  if (!daemonCmdline(pid).includes(state.iface)) return;
  log.warn(`daemon ${pid} still running after its interface was deleted; sending SIGTERM`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitGone(pid, 2000)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/**
 * Undoes everything recorded in `state`, each step best effort (a failing step
 * is logged and the rest still runs). Returns false if something failed.
 */
export async function teardown(state: TunState, ctx: TeardownContext): Promise<boolean> {
  let ok = true;
  const iface = state.iface;
  const cfg = currentConfig(state, ctx);
  const preDown = cfg ? cfg.interface.preDown : state.preDown;
  const postDown = cfg ? cfg.interface.postDown : state.postDown;
  const linkThere = !ctx.interfaceGone && (await ctx.facts.linkExists(iface));
  if (linkThere && !ctx.skipHooks) {
    for (const h of planHooks(preDown, iface)) if ((await ctx.exec.tryRun(h)).code !== 0) ok = false;
    if ((cfg?.interface.saveConfig ?? state.saveConfig) && cfg) {
      try {
        await saveConfig(state, cfg, ctx);
      } catch (e) {
        ok = false;
        ctx.log.error(`SaveConfig: ${(e as Error).message}`);
      }
    }
  }
  for (const a of planTeardown(state)) {
    if (a.kind === 'cmd' && a.argv[1] === 'link' && a.argv[2] === 'delete' && !(await ctx.facts.linkExists(iface))) continue;
    if ((await ctx.exec.tryRun(a)).code !== 0) ok = false;
  }
  await (ctx.stopDaemon ? ctx.stopDaemon() : stopDaemonByPid(state, ctx.log));
  if (!ctx.skipHooks) for (const h of planHooks(postDown, iface)) if ((await ctx.exec.tryRun(h)).code !== 0) ok = false;
  removeState(iface);
  try {
    if (readFileSync(pidPath(iface), 'utf8').trim() === String(state.pid)) rmSync(pidPath(iface), { force: true });
  } catch {
    /* none */
  }
  return ok;
}

/**
 * `wgts down NAME` for a tun-mode endpoint whose process is gone (crashed,
 * killed): undo from the state file. Returns null when there is no state for
 * NAME or its process is still running (then the caller signals it as usual).
 */
export async function downFromState(cli: Cli, name: string): Promise<number | null> {
  const state = readState(name);
  if (!state) return null;
  if (state.pid !== process.pid && processAlive(state.pid)) return null;
  const env = cli.env;
  const log = createLogger(effectiveLogLevel('info', env), (l) => cli.err(l));
  log.warn(`${name}: the endpoint (pid ${state.pid}) is not running; undoing what it applied, from ${statePath(name)}`);
  const ok = await teardown(state, { log, exec: createExecutor(name, log, env), facts: new KernelFacts(env), env });
  return ok ? 0 : 1;
}
