/**
 * `wgts down NAME`: SIGTERM to the endpoint whose pid file sits next to its
 * UAPI socket, then wait (bounded) for it to go.
 */
import { readFileSync } from 'node:fs';
import { findSocket, isValidInterfaceName, pidFileFor, socketDirs } from '../node/uapi-client.js';
import { CliFailure, EXIT_OK, UsageError, isHelpFlag, type Cli } from './context.js';
import { commandHelp, usageLine } from './help.js';
import { resolveConfigArg } from './config-file.js';
import { processAlive } from './tun-state.js';

const WAIT_MS = 5000;
const POLL_MS = 50;

export async function down(cli: Cli, args: string[]): Promise<number> {
  if (args.length === 1 && isHelpFlag(args[0])) {
    cli.out(commandHelp(cli.prog, 'down'));
    return EXIT_OK;
  }
  if (args.length !== 1) throw new UsageError(usageLine(cli.prog, 'down').trimEnd());
  const arg = args[0]!;
  const name = isValidInterfaceName(arg) && !arg.endsWith('.conf') ? arg : resolveConfigArg(arg).interfaceName;
  // A tun-mode endpoint that crashed leaves a state file (and maybe a live
  // wireguard-ts child): undo what it applied first. Null = nothing to do there.
  const fromState = await (await import('./tun-down.js')).downFromState(cli, name);
  if (fromState !== null) return fromState;
  const sock = findSocket(name, cli.env);
  if (!sock) throw new CliFailure(`\`${name}' is not running: no UAPI socket ${name}.sock in ${socketDirs(cli.env).join(', ')}`);
  const pidFile = pidFileFor(sock);
  let pid: number;
  try {
    const text = readFileSync(pidFile, 'utf8').trim();
    if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new CliFailure(`${pidFile} does not hold a process id`);
    pid = Number(text);
  } catch (e) {
    if (e instanceof CliFailure) throw e;
    throw new CliFailure(`\`${name}' has no pid file ${pidFile} (was it started by \`${cli.prog} up\`? For wireguard-go/wireguard-ts use \`ip link del ${name}\`)`);
  }
  if (pid === process.pid) throw new CliFailure(`${pidFile} names this process`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new CliFailure(`\`${name}': process ${pid} from ${pidFile} is not running (stale pid file)`);
    throw new CliFailure(`Unable to signal process ${pid}: ${code}`);
  }
  const deadline = Date.now() + WAIT_MS;
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw new CliFailure(`\`${name}': process ${pid} did not exit within ${WAIT_MS / 1000} s of SIGTERM`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return EXIT_OK;
}
