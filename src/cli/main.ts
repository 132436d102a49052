/**
 * wgts: dispatch to subcommands. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
 */
import { readFileSync } from 'node:fs';
import { CliFailure, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, processCli, type Cli, type Command } from './context.js';
import { HELP, commandHelp, mainHelp, usageLine } from './help.js';
import { genkey, genpsk, pubkey } from './keys.js';
import { show, showconf } from './show.js';
import { set } from './set.js';
import { confCommand } from './setconf.js';
import { strip } from './strip.js';
import { completion } from './completion.js';
import { up } from './up.js';
import { down } from './down.js';

const COMMANDS: Record<string, Command> = {
  up,
  down,
  show,
  showconf,
  set,
  setconf: confCommand('setconf'),
  addconf: confCommand('addconf'),
  syncconf: confCommand('syncconf'),
  genkey,
  genpsk,
  pubkey,
  strip,
  completion,
};

/** Commands whose own --help handling is the generic one (no positional parsing needed). */
const GENERIC_HELP = new Set(['genkey', 'genpsk', 'pubkey']);

export function version(): string {
  // Compiled: dist/src/cli/main.js → ../../../package.json; from source: src/cli → ../../package.json.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'wgts' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

/** The quickstart (no arguments) lives with the runtime; loaded on demand like `up`'s. */
async function quickstart(cli: Cli): Promise<number> {
  const spec = './quickstart.js';
  let run: ((cli: Cli) => Promise<number>) | undefined;
  try {
    run = ((await import(spec)) as { runQuickstart?: (cli: Cli) => Promise<number> }).runQuickstart;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !/\/cli\/quickstart\.js'/.test((e as Error).message)) throw e;
  }
  if (!run) {
    cli.err(`${cli.prog}: the quickstart is not available yet in this build.\n\n${mainHelp(cli.prog)}`);
    return EXIT_FAILURE;
  }
  return run(cli);
}

export async function main(cli: Cli, argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return quickstart(cli);
  if (argv.length === 1 && (cmd === '-h' || cmd === '--help' || cmd === 'help')) {
    cli.out(mainHelp(cli.prog));
    return EXIT_OK;
  }
  if (argv.length === 1 && (cmd === '-v' || cmd === '--version' || cmd === 'version')) {
    cli.out(`wgts v${version()}\n`);
    return EXIT_OK;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    cli.err(`Invalid subcommand: \`${cmd}'\n${mainHelp(cli.prog)}`);
    return EXIT_USAGE;
  }
  if (GENERIC_HELP.has(cmd) && args.length === 1 && (args[0] === '-h' || args[0] === '--help' || args[0] === 'help')) {
    cli.out(commandHelp(cli.prog, cmd));
    return EXIT_OK;
  }
  try {
    return await run(cli, args);
  } catch (e) {
    if (e instanceof UsageError) {
      cli.err(e.message + '\n' + (e.showUsage && HELP[cmd] ? usageLine(cli.prog, cmd) : ''));
      return EXIT_USAGE;
    }
    if (e instanceof CliFailure) {
      cli.err(e.message + '\n');
      return EXIT_FAILURE;
    }
    const err = e as NodeJS.ErrnoException;
    cli.err(`${cli.prog} ${cmd}: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    return EXIT_FAILURE;
  }
}

/** Entry point for bin/wgts. */
export async function runCli(argv: string[] = process.argv.slice(2)): Promise<void> {
  // `wgts show | head`: a closed pipe ends output quietly, as it does for wg.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await main(processCli('wgts'), argv);
}
