/**
 * `wgts set`: wg set's argument syntax → a UAPI set=1 body.
 */
import { readFileSync } from 'node:fs';
import { parsePrefix } from '../config/ip.js';
import { keyFromBase64, KEY_BASE64_LENGTH } from '../config/keys.js';
import { formatUapiSet, type UapiSetAllowedIP, type UapiSetDevice, type UapiSetPeer } from '../config/uapi.js';
import type { HostPort } from '../config/types.js';
import { isIpLiteral, parseFwMark, parseHostPort, parsePersistentKeepalive, parseUint } from '../config/values.js';
import { isValidInterfaceName, setDevice } from '../node/uapi-client.js';
import { lookup } from 'node:dns/promises';
import { CliFailure, EXIT_OK, UsageError, isHelpFlag, type Cli } from './context.js';
import { commandHelp, usageLine } from './help.js';

export type KeyFileReader = (path: string) => Uint8Array;

/**
 * A key file: one base64 key and optional trailing whitespace; an empty file
 * (e.g. /dev/null) means "no key" and yields 32 zero bytes, as with wg.
 */
export function readKeyFile(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (e) {
    throw new UsageError(`Unable to read key file \`${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (text.length === 0) return new Uint8Array(32);
  if (text.length < KEY_BASE64_LENGTH) throw new UsageError(`Invalid length key in key file \`${path}'`);
  const rest = text.slice(KEY_BASE64_LENGTH);
  const bad = /[^\s]/.exec(rest);
  if (bad) throw new UsageError(`Found trailing character in key file \`${path}': \`${bad[0]}'`);
  const key = keyFromBase64(text.slice(0, KEY_BASE64_LENGTH));
  if (!key) throw new UsageError(`Key is not the correct length or format in key file \`${path}'`);
  return key;
}

/** Parses everything after the interface name. Endpoints may still be hostnames. */
export function parseSetArgs(args: string[], readKey: KeyFileReader = readKeyFile): UapiSetDevice {
  const dev: UapiSetDevice = { replacePeers: false, peers: [] };
  let peer: UapiSetPeer | undefined;
  let i = 0;
  const value = (name: string): string => {
    const v = args[i + 1];
    if (v === undefined) throw new UsageError(`Missing value for \`${name}'`);
    i += 2;
    return v;
  };
  while (i < args.length) {
    const a = args[i]!;
    if (a === 'listen-port' && !peer) {
      const v = value(a);
      const port = parseUint(v, 0, 65535);
      if (port === null) throw new UsageError(`Listen port is not a number 0-65535: \`${v}'`);
      dev.listenPort = port;
    } else if (a === 'fwmark' && !peer) {
      const v = value(a);
      const m = parseFwMark(v);
      if (m === null) throw new UsageError(`Fwmark is neither 0/off nor 0-0xffffffff: \`${v}'`);
      dev.fwmark = m;
    } else if (a === 'private-key' && !peer) {
      dev.privateKey = readKey(value(a));
    } else if (a === 'peer') {
      const v = value(a);
      const k = keyFromBase64(v);
      if (!k) throw new UsageError(`Key is not the correct length or format: \`${v}'`);
      peer = { publicKey: k, replaceAllowedIPs: false, allowedIPs: [] };
      dev.peers.push(peer);
    } else if (a === 'remove' && peer) {
      peer.remove = true;
      i += 1;
    } else if (a === 'endpoint' && peer) {
      const v = value(a);
      const hp = parseHostPort(v, { allowHostname: true, minPort: 1 });
      if (!hp) throw new UsageError(`Unable to parse endpoint (expected host:port or [IPv6]:port): \`${v}'`);
      peer.endpoint = hp;
    } else if (a === 'allowed-ips' && peer) {
      const v = value(a).replace(/\s+/g, '');
      peer.replaceAllowedIPs = true;
      const list: UapiSetAllowedIP[] = [];
      if (v !== '') {
        for (let item of v.split(',')) {
          let remove = false;
          if (item.startsWith('-') || item.startsWith('+')) {
            remove = item[0] === '-';
            // Any +/- entry makes the change incremental (wg's rule).
            peer.replaceAllowedIPs = false;
            item = item.slice(1);
          }
          const p = parsePrefix(item);
          if (!p) throw new UsageError(`AllowedIP is not in the correct format: \`${item}'`);
          list.push(remove ? { prefix: p, remove: true } : { prefix: p });
        }
      }
      peer.allowedIPs.push(...list);
    } else if (a === 'persistent-keepalive' && peer) {
      const v = value(a);
      const n = parsePersistentKeepalive(v);
      if (n === null) throw new UsageError(`Persistent keepalive interval is neither 0/off nor 1-65535: \`${v}'`);
      peer.persistentKeepalive = n;
    } else if (a === 'preshared-key' && peer) {
      peer.presharedKey = readKey(value(a));
    } else {
      throw new UsageError(`Invalid argument: ${a}`, true);
    }
  }
  return dev;
}

/** Replaces hostname endpoints by a looked-up address (wg resolves when it runs). */
export async function resolveSetEndpoints(dev: UapiSetDevice, resolve: (host: string) => Promise<string> = async (h) => (await lookup(h)).address): Promise<void> {
  for (const p of dev.peers) {
    const ep: HostPort | undefined = p.endpoint;
    if (!ep || isIpLiteral(ep.host)) continue;
    try {
      p.endpoint = { host: await resolve(ep.host), port: ep.port };
    } catch (e) {
      throw new CliFailure(`Unable to resolve endpoint \`${ep.host}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

export async function set(cli: Cli, args: string[]): Promise<number> {
  if (args.length === 1 && isHelpFlag(args[0])) {
    cli.out(commandHelp(cli.prog, 'set'));
    return EXIT_OK;
  }
  if (args.length < 2) throw new UsageError(usageLine(cli.prog, 'set').trimEnd());
  const name = args[0]!;
  if (!isValidInterfaceName(name)) throw new UsageError(`Invalid interface name: \`${name}'`);
  const dev = parseSetArgs(args.slice(1));
  await resolveSetEndpoints(dev);
  try {
    await setDevice(name, formatUapiSet(dev), { env: cli.env });
  } catch (e) {
    const msg = (e as Error).message;
    throw new CliFailure(msg.startsWith('Unable to') ? msg : `Unable to modify interface ${name}: ${msg}`);
  }
  return EXIT_OK;
}
