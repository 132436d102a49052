/**
 * `wgts` with no arguments (`npm start`): the quickstart. Creates once a
 * netstack server config with fresh keys plus a matching client config in the
 * user's config dir, runs the server in the foreground (UDP, status page, TCP
 * and UDP echo on its tunnel address, UAPI socket), prints the client config
 * and what is served, and exits 0 on SIGINT/SIGTERM.
 */
import { createSocket } from 'node:dgram';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, networkInterfaces } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { parseConfig } from '../config/parse.js';
import { configPermissionWarning } from '../config/permissions.js';
import type { WgConfig } from '../config/types.js';
import { formatIP } from '../config/ip.js';
import { createQuickstartConfig } from '../endpoint/quickstart.js';
import { WireGuard, defaultUapiPath } from '../node/endpoint-runtime.js';
import type { TunnelServer, TunnelUdpSocket } from '../node/net.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Cli } from './context.js';

export const SERVER_FILE = 'quickstart-server.conf';
export const CLIENT_FILE = 'quickstart-client.conf';
export const DEFAULT_PORT = 51820;
export const ECHO_PORT = 7;
/** Lines around the printed client config, so scripts (and tests) can cut it out. */
export const CLIENT_BEGIN = '-----BEGIN WGTS CLIENT CONFIG-----';
export const CLIENT_END = '-----END WGTS CLIENT CONFIG-----';
export const READY_LINE = 'Ready. Press Ctrl-C to stop.';

/** `$XDG_CONFIG_HOME/wgts`, else `~/.config/wgts` (XDG base directory rules: a relative XDG path is ignored). */
export function quickstartDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'wgts');
  const home = env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  return join(home, '.config', 'wgts');
}

/** The address a client elsewhere most likely reaches us on: the first non-internal IPv4, else loopback. */
export function guessEndpointHost(env: NodeJS.ProcessEnv): string {
  if (env.WGTS_QUICKSTART_HOST) return env.WGTS_QUICKSTART_HOST;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** `preferred` when it is free on UDP, else a port the kernel picks. */
async function freeUdpPort(preferred: number): Promise<number> {
  const tryBind = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(null);
      });
      s.bind(port, () => {
        const got = s.address().port;
        s.close(() => resolve(got));
      });
    });
  return (await tryBind(preferred)) ?? (await tryBind(0)) ?? preferred;
}

/** Writes a secret file atomically with mode 0600 (never a half-written config). */
function writeSecret(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export interface QuickstartFiles {
  dir: string;
  serverPath: string;
  clientPath: string;
  serverText: string;
  clientText: string;
  created: boolean;
}

/** The quickstart's two configs: read when present, else created (dir 0700, files 0600). */
export async function loadOrCreateQuickstart(env: NodeJS.ProcessEnv): Promise<QuickstartFiles> {
  const dir = quickstartDir(env);
  const serverPath = join(dir, SERVER_FILE);
  const clientPath = join(dir, CLIENT_FILE);
  const serverText = readIfExists(serverPath);
  const clientText = readIfExists(clientPath);
  if (serverText !== null && clientText !== null) return { dir, serverPath, clientPath, serverText, clientText, created: false };
  if (serverText !== null || clientText !== null) {
    const missing = serverText === null ? serverPath : clientPath;
    throw new QuickstartError(`${missing} is missing but its partner exists; remove ${dir}/quickstart-*.conf to start over with fresh keys`);
  }
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const portText = env.WGTS_QUICKSTART_PORT;
  const port = portText !== undefined && /^\d{1,5}$/.test(portText) && Number(portText) < 65536 ? Number(portText) : await freeUdpPort(DEFAULT_PORT);
  const q = createQuickstartConfig({ endpointHost: guessEndpointHost(env), listenPort: port });
  // Client first: a server file alone would be a half-made quickstart.
  writeSecret(clientPath, q.clientConfig);
  writeSecret(serverPath, q.serverConfig);
  return { dir, serverPath, clientPath, serverText: q.serverConfig, clientText: q.clientConfig, created: true };
}

export class QuickstartError extends Error {
  override readonly name = 'QuickstartError';
}

/** What the quickstart serves besides the status page: TCP and UDP echo. */
function startEcho(wg: WireGuard, host: string): { tcp: TunnelServer; udp: TunnelUdpSocket } {
  const tcp = wg.createServer((sock) => {
    sock.on('error', () => {});
    sock.pipe(sock);
  });
  tcp.listen(ECHO_PORT, host);
  const udp = wg.createSocket('udp4');
  udp.on('error', () => {});
  udp.on('message', (msg, from) => udp.send(msg, from.port, from.address));
  udp.bind(ECHO_PORT, host);
  return { tcp, udp };
}

function describe(cfg: WgConfig, files: QuickstartFiles, wg: WireGuard, uapiPath: string | null, interfaceName: string): string {
  const host = tunnelHost(cfg);
  const status = cfg.netstack.status;
  const served: [string, string][] = [[`ping ${host}`, 'ICMP echo']];
  if (status) served.push([`http://${status.host}${status.port === 80 ? '' : `:${status.port}`}/`, 'status page (JSON: /status.json)']);
  served.push([`${host} port ${ECHO_PORT}`, 'echo, TCP and UDP']);
  const width = Math.max(...served.map(([w]) => w.length));
  const lines = [
    `wgts quickstart (netstack mode, no root needed)`,
    `  server config: ${files.serverPath} (${files.created ? 'created now with fresh keys' : 'reused'})`,
    `  public key:    ${wg.publicKey}`,
    `  listening on:  UDP port ${wg.listenPort}`,
    `  tunnel address ${host}${uapiPath ? `; UAPI socket ${uapiPath} (\`wgts show ${interfaceName}\`)` : ''}`,
    ``,
    `Served inside the tunnel:`,
    ...served.map(([what, how]) => `  ${what.padEnd(width)}  ${how}`),
    ``,
    `Client config for a second peer (wg-quick, the WireGuard apps, or \`wgts up\`); also in ${files.clientPath}.`,
    `Its Endpoint must be an address the client can reach this machine on; edit it if needed.`,
    CLIENT_BEGIN,
    files.clientText.trimEnd(),
    CLIENT_END,
    ``,
    READY_LINE,
    ``,
  ];
  return lines.join('\n');
}

/** The server's first IPv4 tunnel address (what the echo service binds to). */
function tunnelHost(cfg: WgConfig): string {
  const a = cfg.interface.addresses.find((p) => p.family === 4) ?? cfg.interface.addresses[0];
  return a ? formatIP(a.family, a.address) : '0.0.0.0';
}

function quickstartUapiPath(name: string, env: NodeJS.ProcessEnv): string {
  // WGTS_UAPI_DIR is where `wgts show` looks first when set (tests, custom setups).
  const forced = env.WGTS_UAPI_DIR?.split(':').find((d) => d !== '');
  return forced ? join(forced, `${name}.sock`) : defaultUapiPath(name, env);
}

export async function runQuickstart(cli: Cli): Promise<number> {
  const env = cli.env;
  const interfaceName = env.WGTS_QUICKSTART_NAME && /^[a-zA-Z0-9_=+.-]{1,15}$/.test(env.WGTS_QUICKSTART_NAME) ? env.WGTS_QUICKSTART_NAME : 'quickstart';
  let files: QuickstartFiles;
  let cfg: WgConfig;
  try {
    files = await loadOrCreateQuickstart(env);
    cfg = parseConfig(files.serverText, files.serverPath);
    parseConfig(files.clientText, files.clientPath);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof QuickstartError) {
      cli.err(`${cli.prog}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    cli.err(`${cli.prog}: quickstart: ${(e as Error).message}\n`);
    return EXIT_FAILURE;
  }
  const warning = configPermissionWarning(files.serverPath, true);
  if (warning) cli.err(warning + '\n');

  const uapiPath = quickstartUapiPath(interfaceName, env);
  let wg: WireGuard;
  try {
    wg = await WireGuard.fromParsedConfig(cfg, { name: interfaceName, uapi: uapiPath });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? ' (is another quickstart or WireGuard endpoint running on that port?)' : '';
    cli.err(`${cli.prog}: quickstart: cannot start: ${err.message}${hint}\n`);
    return EXIT_FAILURE;
  }
  const host = tunnelHost(cfg);
  const pidFile = wg.uapiPath ? wg.uapiPath.replace(/\.sock$/, '.pid') : null;
  try {
    const echo = startEcho(wg, host);
    wg.once('close', () => {
      echo.tcp.close();
      echo.udp.close();
    });
    if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
  } catch (e) {
    await wg.close();
    cli.err(`${cli.prog}: quickstart: cannot start the echo service: ${(e as Error).message}\n`);
    return EXIT_FAILURE;
  }
  wg.on('handshake', (ev: { publicKey: string; endpoint: string | null }) => cli.err(`wgts: handshake with ${ev.publicKey} (${ev.endpoint ?? 'no endpoint'})\n`));
  wg.on('service-error', (e: Error) => cli.err(`wgts: ${e.message}\n`));
  wg.on('error', (e: Error) => cli.err(`wgts: ${e.message}\n`));
  cli.out(describe(cfg, files, wg, wg.uapiPath, interfaceName));

  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await wg.close();
  if (pidFile) rmSync(pidFile, { force: true });
  cli.err('wgts: quickstart stopped\n');
  return EXIT_OK;
}
