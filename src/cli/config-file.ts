/**
 * Reading a config file named on the command line: PATH or NAME (→ /etc/wireguard/NAME.conf),
 * parse errors turned into exit-2 messages naming file and line.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { parseConfig } from '../config/parse.js';
import type { WgConfig } from '../config/types.js';
import { isValidInterfaceName } from '../node/uapi-client.js';
import { CliFailure, UsageError, type Cli } from './context.js';

export const CONFIG_DIR = '/etc/wireguard';

/**
 * wg-quick's rule, made a little friendlier: a bare interface name means
 * /etc/wireguard/NAME.conf; anything with a "/" or ending in ".conf" is a path.
 */
export function resolveConfigArg(arg: string): { path: string; interfaceName: string } {
  const isPath = arg.includes('/') || arg.endsWith('.conf');
  if (!isPath) {
    if (!isValidInterfaceName(arg)) throw new UsageError(`\`${arg}' is neither a config file path nor a valid interface name`);
    return { path: `${CONFIG_DIR}/${arg}.conf`, interfaceName: arg };
  }
  const base = basename(arg);
  const name = base.endsWith('.conf') ? base.slice(0, -5) : base;
  if (!base.endsWith('.conf') || !isValidInterfaceName(name)) {
    throw new UsageError(`\`${arg}': the config file must be named after the interface, NAME.conf, with NAME 1-15 of [a-zA-Z0-9_=+.-]`);
  }
  return { path: arg, interfaceName: name };
}

export function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliFailure(`\`${path}' does not exist`);
    throw new CliFailure(`Unable to read \`${path}': ${code ?? (e as Error).message}`);
  }
}

/** Parses, printing warnings to stderr; a ConfigError becomes a UsageError (exit 2). */
export function parseConfigOrExit(cli: Cli, text: string, path: string): WgConfig {
  const warnings: string[] = [];
  try {
    const cfg = parseConfig(text, path, { warnings });
    for (const w of warnings) cli.err(`Warning: ${w}\n`);
    return cfg;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}
