/**
 * `wgts setconf|addconf|syncconf NAME FILE`: apply a wg(8) config file over the UAPI.
 */
import { firstNonWgLine } from '../config/strip.js';
import { resolveEndpoints } from '../config/resolve.js';
import { toUapiSet, toUapiSync } from '../config/uapi.js';
import { ConfigError } from '../config/errors.js';
import { getDevice, isValidInterfaceName, setDevice } from '../node/uapi-client.js';
import { CliFailure, EXIT_OK, UsageError, isHelpFlag, type Cli } from './context.js';
import { commandHelp, usageLine } from './help.js';
import { parseConfigOrExit, readConfigText } from './config-file.js';

export type ConfMode = 'setconf' | 'addconf' | 'syncconf';

export function confCommand(mode: ConfMode) {
  return async (cli: Cli, args: string[]): Promise<number> => {
    if (args.length === 1 && isHelpFlag(args[0])) {
      cli.out(commandHelp(cli.prog, mode));
      return EXIT_OK;
    }
    if (args.length !== 2) throw new UsageError(usageLine(cli.prog, mode).trimEnd());
    const [name, file] = args as [string, string];
    if (!isValidInterfaceName(name)) throw new UsageError(`Invalid interface name: \`${name}'`);
    const text = readConfigText(file);
    const extra = firstNonWgLine(text);
    if (extra) {
      throw new UsageError(`${file}:${extra.line}: ${extra.key}: not a wg(8) key; this is a wg-quick or wgts config — use \`${cli.prog} strip ${file}\` first`);
    }
    const cfg = parseConfigOrExit(cli, text, file);
    let resolved: Map<string, string>;
    try {
      resolved = await resolveEndpoints(cfg, file);
    } catch (e) {
      throw new CliFailure((e as ConfigError).message);
    }
    let body: string;
    try {
      if (mode === 'syncconf') {
        const runtime = await getDevice(name, { env: cli.env });
        body = toUapiSync(cfg, runtime, { resolved, fileName: file });
      } else body = toUapiSet(cfg, { mode, resolved, fileName: file });
      await setDevice(name, body, { env: cli.env });
    } catch (e) {
      const msg = (e as Error).message;
      throw new CliFailure(msg.startsWith('Unable to') ? msg : `Unable to modify interface ${name}: ${msg}`);
    }
    return EXIT_OK;
  };
}
