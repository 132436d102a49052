/**
 * `wgts show` and `wgts showconf`: read state over the UAPI socket and print it as wg does.
 */
import { defaultCrypto } from '../crypto/index.js';
import { getDevice, isValidInterfaceName, listInterfaces, type UapiDevice } from '../node/uapi-client.js';
import { CliFailure, EXIT_FAILURE, EXIT_OK, UsageError, isHelpFlag, type Cli } from './context.js';
import { commandHelp, usageLine } from './help.js';
import { formatField, formatPretty, formatShowconf, isShowField, type ShowStyle, type ShownDevice } from './show-format.js';

export function showStyle(cli: Cli, nowSec = Math.floor(Date.now() / 1000)): ShowStyle {
  const mode = cli.env.WG_COLOR_MODE;
  const color = mode === 'always' ? true : mode === 'never' ? false : cli.stdoutIsTTY;
  return { color, hideKeys: cli.env.WG_HIDE_KEYS !== 'never', nowSec };
}

async function fetchDevice(cli: Cli, name: string): Promise<ShownDevice> {
  if (!isValidInterfaceName(name)) throw new UsageError(`Invalid interface name: \`${name}'`);
  let device: UapiDevice;
  try {
    device = await getDevice(name, { env: cli.env });
  } catch (e) {
    const msg = (e as Error).message;
    throw new CliFailure(msg.startsWith('Unable to access') ? msg : `Unable to access interface ${name}: ${msg}`);
  }
  const shown: ShownDevice = { name, device };
  if (device.privateKey) shown.publicKey = defaultCrypto().publicKey(device.privateKey);
  return shown;
}

export async function show(cli: Cli, args: string[]): Promise<number> {
  if (args.length === 1 && isHelpFlag(args[0])) {
    cli.out(commandHelp(cli.prog, 'show'));
    return EXIT_OK;
  }
  if (args.length > 2) throw new UsageError(usageLine(cli.prog, 'show').trimEnd());
  const field = args[1];
  if (field !== undefined && !isShowField(field)) {
    throw new UsageError(`Invalid parameter: \`${field}'\n${usageLine(cli.prog, 'show').trimEnd()}`);
  }
  const target = args[0] ?? 'all';
  if (target === 'interfaces') {
    if (args.length > 1) throw new UsageError(usageLine(cli.prog, 'show').trimEnd());
    const names = await listInterfaces(cli.env);
    if (names.length) cli.out(names.join(' ') + '\n');
    return EXIT_OK;
  }
  if (target === 'all') {
    const names = await listInterfaces(cli.env);
    let ret = EXIT_OK;
    let printed = 0;
    const style = showStyle(cli);
    for (const name of names) {
      let d: ShownDevice;
      try {
        d = await fetchDevice(cli, name);
      } catch (e) {
        cli.err(`${(e as Error).message}\n`);
        ret = EXIT_FAILURE;
        continue;
      }
      if (field !== undefined) cli.out(formatField(d, field, true));
      else cli.out((printed ? '\n' : '') + formatPretty(d, style));
      printed++;
    }
    return printed ? EXIT_OK : ret;
  }
  const d = await fetchDevice(cli, target);
  cli.out(field !== undefined ? formatField(d, field, false) : formatPretty(d, showStyle(cli)));
  return EXIT_OK;
}

export async function showconf(cli: Cli, args: string[]): Promise<number> {
  if (args.length === 1 && isHelpFlag(args[0])) {
    cli.out(commandHelp(cli.prog, 'showconf'));
    return EXIT_OK;
  }
  if (args.length !== 1) throw new UsageError(usageLine(cli.prog, 'showconf').trimEnd());
  const d = await fetchDevice(cli, args[0]!);
  cli.out(formatShowconf(d.device));
  return EXIT_OK;
}
