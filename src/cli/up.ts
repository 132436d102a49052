/**
 * `wgts up`: argument parsing and config loading here; the running endpoint is
 * provided by the runtime module (src/cli/runtime.ts, exporting runEndpoint),
 * loaded on demand so the CLI works before and without it.
 */
import { configPermissionWarning } from '../config/permissions.js';
import type { WgConfig } from '../config/types.js';
import { CliFailure, EXIT_OK, UsageError, isHelpFlag, type Cli } from './context.js';
import { commandHelp } from './help.js';
import { parseConfigOrExit, readConfigText, resolveConfigArg } from './config-file.js';

export type UpMode = 'netstack' | 'tun';
export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'verbose', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface UpArgs {
  /** The config file path (NAME resolved to /etc/wireguard/NAME.conf). */
  configPath: string;
  /** The file's basename without ".conf". */
  interfaceName: string;
  mode: UpMode;
  logLevel: LogLevel;
  /** Tun mode: the daemon drops root to this NAME[:GROUP] once its interface and sockets exist. */
  user?: string;
}

/** What the runtime gets: the parsed arguments plus the config, already validated. */
export interface UpOptions extends UpArgs {
  config: WgConfig;
  configText: string;
  cli: Cli;
}

/** The contract for src/cli/runtime.ts: run until stopped, resolve with an exit code. */
export type RunEndpoint = (opts: UpOptions) => Promise<number>;

export function parseUpArgs(args: string[]): UpArgs {
  let target: string | undefined;
  let mode: UpMode = 'netstack';
  let logLevel: LogLevel = 'info';
  let user: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let opt: string | undefined;
    let val: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      opt = eq === -1 ? a : a.slice(0, eq);
      val = eq === -1 ? args[++i] : a.slice(eq + 1);
      if (val === undefined) throw new UsageError(`Missing value for ${opt}`, true);
    }
    if (opt === '--mode') {
      if (val !== 'netstack' && val !== 'tun') throw new UsageError(`Invalid --mode \`${val}' (expected netstack or tun)`, true);
      mode = val;
    } else if (opt === '--log-level') {
      if (!(LOG_LEVELS as readonly string[]).includes(val!)) throw new UsageError(`Invalid --log-level \`${val}' (expected one of ${LOG_LEVELS.join(', ')})`, true);
      logLevel = val as LogLevel;
    } else if (opt === '--user') {
      if (!/^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$/.test(val!)) throw new UsageError(`Invalid --user \`${val}' (expected NAME or NAME:GROUP)`, true);
      user = val;
    } else if (opt !== undefined) {
      throw new UsageError(`Unknown option ${opt}`, true);
    } else if (target === undefined) {
      target = a;
    } else {
      throw new UsageError(`Unexpected argument \`${a}'`, true);
    }
  }
  if (target === undefined) throw new UsageError('Missing config file or interface name', true);
  if (user !== undefined && mode !== 'tun') throw new UsageError('--user applies to --mode tun (netstack mode needs no root)', true);
  const { path, interfaceName } = resolveConfigArg(target);
  return { configPath: path, interfaceName, mode, logLevel, ...(user !== undefined ? { user } : {}) };
}

/** The runtime if it has been built, else null. */
export async function loadRuntime(): Promise<RunEndpoint | null> {
  const spec = './runtime.js';
  try {
    const mod = (await import(spec)) as { runEndpoint?: RunEndpoint };
    return typeof mod.runEndpoint === 'function' ? mod.runEndpoint : null;
  } catch (e) {
    // Only "runtime.js itself is missing" means not built yet; a missing import inside it is a real error.
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /\/cli\/runtime\.js'/.test((e as Error).message)) return null;
    throw e;
  }
}

export async function up(cli: Cli, args: string[]): Promise<number> {
  if (args.length === 1 && isHelpFlag(args[0])) {
    cli.out(commandHelp(cli.prog, 'up'));
    return EXIT_OK;
  }
  const parsed = parseUpArgs(args);
  const text = readConfigText(parsed.configPath);
  const config = parseConfigOrExit(cli, text, parsed.configPath);
  const warning = configPermissionWarning(parsed.configPath, config.interface.privateKey !== undefined);
  if (warning) cli.err(warning + '\n');
  const run = await loadRuntime();
  if (!run) throw new CliFailure(`${cli.prog} up: the endpoint runtime is not available yet in this build (config ${parsed.configPath} is valid)`);
  return run({ ...parsed, config, configText: text, cli });
}

