/**
 * `wgts strip PATH|NAME`: the config minus wg-quick and wgts additions.
 */
import { stripConfig } from '../config/strip.js';
import { EXIT_OK, UsageError, isHelpFlag, type Cli } from './context.js';
import { commandHelp, usageLine } from './help.js';
import { parseConfigOrExit, readConfigText, resolveConfigArg } from './config-file.js';

export async function strip(cli: Cli, args: string[]): Promise<number> {
  if (args.length === 1 && isHelpFlag(args[0])) {
    cli.out(commandHelp(cli.prog, 'strip'));
    return EXIT_OK;
  }
  if (args.length !== 1) throw new UsageError(usageLine(cli.prog, 'strip').trimEnd());
  const arg = args[0]!;
  // Any readable file may be stripped; only a bare NAME goes through /etc/wireguard.
  const path = arg.includes('/') || arg.endsWith('.conf') ? arg : resolveConfigArg(arg).path;
  const text = readConfigText(path);
  parseConfigOrExit(cli, text, path);
  cli.out(stripConfig(text));
  return EXIT_OK;
}
