/**
 * Interop for `wgts up` in netstack mode (root, network namespaces).
 *
 * A runs wireguard-go (configured with `wg`) on a veth toward B; B runs
 * `wgts up CONFIG` (the default netstack mode) as a foreground process; C runs
 * a second wireguard-go given the same config through `wgts strip` + `wg
 * setconf`, so `wg show dump` of wgts' UAPI and of wireguard-go can be compared
 * field by field. Cases: handshake + `wgts show`/`wg show` agreement, the
 * mirrored comparison, `wgts down`, Endpoint hostname re-resolution while
 * handshakes fail (B's /etc/netns hosts file changes under it), log levels,
 * and a non-root `wgts up` whose socket lives in the user's runtime dir.
 *
 *   node dist/interop/cli-netstack.js      CLI_NETSTACK_ONLY=regex runs matching cases
 *
 * One line per case, closing with "cli-netstack: N passed, N failed"; every
 * wait is bounded; namespaces, files and processes are removed on exit and on
 * SIGINT/SIGTERM.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, assertEqual, Netns, parseDump, pingCounts, run, sleep, suffix, type Dump } from './lib.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { runCases, type Case } from './suite.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const WGTS = join(REPO, 'bin', 'wgts');

const id = suffix();
const dir = mkdtempSync(join(tmpdir(), 'wgts-cli-ns-'));
const nsA = new Netns(`wgnsa-${id}`);
const nsB = new Netns(`wgnsb-${id}`);
const nsC = new Netns(`wgnsc-${id}`);
const vethA = `vna${id}`;
const vethB = `vnb${id}`;
const ifA = `wna${id}`;
const ifC = `wnc${id}`;
const NAMES = { main: `wnb${id}`, rr: `wnr${id}`, quiet: `wnq${id}`, user: `wnu${id}` };
const OUTER_A = '192.168.246.1';
const OUTER_B = '192.168.246.2';
const WRONG_A = '192.168.246.77';
const PORT_A = 51860;
const HOSTNAME_A = `wgpeer-${id}`;
const NETNS_ETC = `/etc/netns/${nsB.name}`;
const USER_UID = 65534;

const genkey = (): string => run(['wg', 'genkey']).stdout.trim();
const pubkey = (k: string): string => run(['wg', 'pubkey'], { input: k + '\n' }).stdout.trim();
const keyA = genkey();
const keyB = genkey();
const pubA = pubkey(keyA);
const pubB = pubkey(keyB);
const pubP2 = pubkey(genkey());
const pubP3 = pubkey(genkey());
const psk = run(['wg', 'genpsk']).stdout.trim();

// ------------------------------------------------------------------ processes

interface Running {
  child: ChildProcess;
  output(): string;
  exited: Promise<number>;
}

const running = new Set<ChildProcess>();

/** Starts argv in a namespace; stdout+stderr collected (bounded). */
function start(ns: Netns, argv: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(child);
  let out = '';
  const add = (d: Buffer): void => {
    if (out.length < 1 << 20) out += d.toString('utf8');
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const exited = new Promise<number>((res) => {
    child.on('close', (code, sig) => {
      running.delete(child);
      res(code ?? (sig ? 128 : 1));
    });
    child.on('error', () => res(127));
  });
  return { child, output: () => out, exited };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

async function waitExit(r: Running, ms: number): Promise<number> {
  const t = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), ms).unref());
  const code = await Promise.race([r.exited, t]);
  if (code === 'timeout') {
    r.child.kill('SIGKILL');
    throw new Error(`process did not exit within ${ms / 1000} s\n${r.output()}`);
  }
  return code;
}

function writeConf(name: string, body: string, mode = 0o600, where = dir): string {
  const p = join(where, `${name}.conf`);
  writeFileSync(p, body, { mode });
  chmodSync(p, mode);
  return p;
}

async function wgtsUp(name: string, conf: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<Running> {
  const r = start(nsB, [process.execPath, WGTS, 'up', conf, ...extra], env);
  await waitFor(() => existsSync(`/var/run/wireguard/${name}.sock`) || r.child.exitCode !== null, 15_000, `${name}'s UAPI socket`);
  assert(r.child.exitCode === null, `wgts up exited ${r.child.exitCode}:\n${r.output()}`);
  return r;
}

function dump(ns: Netns, iface: string): Dump {
  return parseDump(ns.exec(['wg', 'show', iface, 'dump']).stdout);
}

const sortedIPs = (s: string): string => s.split(',').sort().join(',');

/** Two commands whose output must match; a clock second may tick between them, so retry. */
function sameOutput(a: () => string, b: () => string, what: string): string {
  let x = '';
  let y = '';
  for (let i = 0; i < 4; i++) {
    x = a();
    y = b();
    if (x === y) return x;
  }
  throw new Error(`${what} differ:\n--- first\n${x}\n--- second\n${y}`);
}

// ------------------------------------------------------------------ setup / teardown

let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const c of running) {
    try {
      if (c.pid) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const ns of [nsB, nsC, nsA]) ns.destroy();
  for (const n of [ifA, ifC, ...Object.values(NAMES)]) {
    for (const ext of ['sock', 'pid']) rmSync(`/var/run/wireguard/${n}.${ext}`, { force: true });
  }
  rmSync(NETNS_ETC, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}

function hosts(address: string): void {
  // Rewritten in place: `ip netns exec` bind-mounts this file over /etc/hosts.
  writeFileSync(join(NETNS_ETC, 'hosts'), `127.0.0.1 localhost\n${address} ${HOSTNAME_A}\n`);
}

/** wireguard-go daemonizes; its output goes to a file (a closed pipe would SIGPIPE it on its first error log). */
function wireguardGo(ns: Netns, iface: string): void {
  ns.exec(['sh', '-c', 'exec wireguard-go "$0" >>"$1" 2>&1', iface, join(dir, `${iface}.log`)], { env: { ...process.env, LOG_LEVEL: 'error' }, timeoutMs: 15_000 });
}

function setup(): void {
  for (const ns of [nsA, nsB, nsC]) {
    run(['ip', 'netns', 'add', ns.name]);
    ns.exec(['ip', 'link', 'set', 'lo', 'up']);
  }
  mkdirSync(NETNS_ETC, { recursive: true });
  hosts(WRONG_A);
  run(['ip', 'link', 'add', vethA, 'netns', nsA.name, 'type', 'veth', 'peer', 'name', vethB, 'netns', nsB.name]);
  nsA.exec(['ip', 'addr', 'add', `${OUTER_A}/24`, 'dev', vethA]);
  nsB.exec(['ip', 'addr', 'add', `${OUTER_B}/24`, 'dev', vethB]);
  nsA.exec(['ip', 'link', 'set', vethA, 'up']);
  nsB.exec(['ip', 'link', 'set', vethB, 'up']);
  // A: wireguard-go, peer B without an endpoint (learned from B's handshake).
  const keyFile = join(dir, 'a.key');
  const pskFile = join(dir, 'psk');
  writeFileSync(keyFile, keyA + '\n', { mode: 0o600 });
  writeFileSync(pskFile, psk + '\n', { mode: 0o600 });
  wireguardGo(nsA, ifA);
  nsA.exec(['wg', 'set', ifA, 'private-key', keyFile, 'listen-port', String(PORT_A), 'peer', pubB, 'preshared-key', pskFile, 'allowed-ips', '10.246.0.2/32,fd46::2/128']);
  nsA.exec(['ip', 'addr', 'add', '10.246.0.1/24', 'dev', ifA]);
  nsA.exec(['ip', 'addr', 'add', 'fd46::1/64', 'dev', ifA, 'nodad']);
  nsA.exec(['ip', 'link', 'set', ifA, 'up']);
}

// ------------------------------------------------------------------ cases

const cases: Case[] = [];
function test(name: string, fn: () => Promise<void>): void {
  cases.push({ name, fn });
}

const MAIN_CONF = `# wgts up (netstack) under test: the fields wg show reports, plus wgts additions
[Interface]
PrivateKey = ${keyB}
ListenPort = 51861
FwMark = 0x2a
Address = 10.246.0.2/24, fd46::2/64
DNS = 10.246.0.1

[Peer]
# A (wireguard-go)
PublicKey = ${pubA}
PresharedKey = ${psk}
AllowedIPs = 10.246.0.1/32, fd46::1/128
AllowedIPs = 10.99.0.0/16
Endpoint = ${OUTER_A}:${PORT_A}
PersistentKeepalive = 25

[Peer]
PublicKey = ${pubP2}
AllowedIPs = 10.246.1.0/24
Endpoint = [fd46:99::9]:51999

[Peer]
PublicKey = ${pubP3}
AllowedIPs = 10.246.2.3/32, fd46:2::/64

[Netstack]
ICMP = reachable
`;

let main: Running | undefined;

test('wgts up (netstack): handshake with wireguard-go; wgts show and wg show report the peer', async () => {
  const conf = writeConf(NAMES.main, MAIN_CONF);
  main = await wgtsUp(NAMES.main, conf, { LOG_LEVEL: 'verbose' });
  // PersistentKeepalive makes B start the handshake at once.
  let d: Dump | undefined;
  await waitFor(() => (d = dump(nsB, NAMES.main)).peers.some((p) => p.publicKey === pubA && p.latestHandshake > 0), 15_000, 'a handshake with A');
  const ping = nsA.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.246.0.2'], { allowFail: true });
  assertEqual(pingCounts(ping.stdout).received, 3, 'pings A → wgts answered');
  const ping6 = nsA.exec(['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', 'fd46::2'], { allowFail: true });
  assertEqual(pingCounts(ping6.stdout).received, 2, 'IPv6 pings A → wgts answered');
  // A sees B too.
  const a = dump(nsA, ifA).peers.find((p) => p.publicKey === pubB);
  assert(a && a.latestHandshake > 0 && a.endpoint === `${OUTER_B}:51861`, `A's view of B: ${JSON.stringify(a)}`);
  const env = { ...process.env, WG_COLOR_MODE: 'never' };
  const pretty = sameOutput(
    () => nsB.exec(['wg', 'show', NAMES.main], { env }).stdout,
    () => nsB.exec([process.execPath, WGTS, 'show', NAMES.main], { env }).stdout,
    '`wg show` and `wgts show`',
  );
  for (const want of [`interface: ${NAMES.main}`, `public key: ${pubB}`, 'private key: (hidden)', 'listening port: 51861', 'fwmark: 0x2a', `peer: ${pubA}`, 'preshared key: (hidden)', `endpoint: ${OUTER_A}:${PORT_A}`, 'latest handshake: ', 'transfer: ', 'persistent keepalive: every 25 seconds', `peer: ${pubP2}`, 'endpoint: [fd46:99::9]:51999', `peer: ${pubP3}`]) {
    assert(pretty.includes(want), `wg show lacks "${want}":\n${pretty}`);
  }
  // The peer with a handshake is listed first, as wg does.
  assert(pretty.indexOf(`peer: ${pubA}`) < pretty.indexOf(`peer: ${pubP2}`), `peer order:\n${pretty}`);
  sameOutput(
    () => nsB.exec(['wg', 'show', NAMES.main, 'dump']).stdout,
    () => nsB.exec([process.execPath, WGTS, 'show', NAMES.main, 'dump']).stdout,
    '`wg show dump` and `wgts show dump`',
  );
  sameOutput(
    () => nsB.exec(['wg', 'showconf', NAMES.main]).stdout,
    () => nsB.exec([process.execPath, WGTS, 'showconf', NAMES.main]).stdout,
    '`wg showconf` and `wgts showconf`',
  );
  const names = nsB.exec([process.execPath, WGTS, 'show', 'interfaces']).stdout.trim().split(' ');
  assert(names.includes(NAMES.main), `wgts show interfaces: ${names.join(' ')}`);
  const wants = [`info: ${NAMES.main} up (netstack): public key ${pubB}, listening on UDP 51861`, `info: UAPI socket /var/run/wireguard/${NAMES.main}.sock`, `verbose: handshake with ${pubA} (${OUTER_A}:${PORT_A})`, `info: peer ${pubA.slice(0, 8)}… up`];
  // The synchronous commands above keep this process from reading the endpoint's stderr: let it catch up.
  await waitFor(() => wants.every((w) => main!.output().includes(w)), 5_000, 'the log lines').catch(() => undefined);
  const log = main.output();
  for (const want of wants) assert(log.includes(want), `log lacks "${want}":\n${log}`);
});

test('wg show dump of wgts and wireguard-go agree field by field for the same config (wgts strip | wg setconf)', async () => {
  assert(main && main.child.exitCode === null, 'needs the first case');
  const stripped = nsB.exec([process.execPath, WGTS, 'strip', join(dir, `${NAMES.main}.conf`)]).stdout;
  assert(!/Address|DNS|\[Netstack\]/.test(stripped), `strip left wg-quick/wgts keys:\n${stripped}`);
  const strippedFile = join(dir, 'stripped.conf');
  writeFileSync(strippedFile, stripped, { mode: 0o600 });
  wireguardGo(nsC, ifC);
  nsC.exec(['wg', 'setconf', ifC, strippedFile]);
  const now = Math.floor(Date.now() / 1000);
  const b = dump(nsB, NAMES.main);
  const c = dump(nsC, ifC);
  assertEqual(b.privateKey, c.privateKey, 'private key');
  assertEqual(b.publicKey, c.publicKey, 'public key');
  assertEqual(b.publicKey, pubB, 'public key (derived)');
  assertEqual(b.listenPort, c.listenPort, 'listen port');
  assertEqual(b.fwmark, c.fwmark, 'fwmark');
  assertEqual(b.fwmark, '0x2a', 'fwmark value');
  assertEqual(b.peers.map((p) => p.publicKey).sort().join(' '), c.peers.map((p) => p.publicKey).sort().join(' '), 'peer set');
  assertEqual(b.peers.length, 3, 'peer count');
  for (const pc of c.peers) {
    const pb = b.peers.find((p) => p.publicKey === pc.publicKey)!;
    const tag = `peer ${pc.publicKey.slice(0, 8)}`;
    assertEqual(pb.presharedKey, pc.presharedKey, `${tag} preshared key`);
    assertEqual(pb.endpoint, pc.endpoint, `${tag} endpoint`);
    assertEqual(sortedIPs(pb.allowedIPs), sortedIPs(pc.allowedIPs), `${tag} allowed ips`);
    assertEqual(pb.keepalive, pc.keepalive, `${tag} persistent keepalive`);
    // Plausibility of the moving fields.
    assertEqual(pc.latestHandshake, 0, `${tag} wireguard-go (isolated) has no handshake`);
    assertEqual(pc.rx, 0, `${tag} wireguard-go (isolated) received nothing`);
    if (pc.publicKey === pubA) {
      assert(pb.latestHandshake > now - 120 && pb.latestHandshake <= now + 1, `${tag} wgts latest handshake ${pb.latestHandshake} (now ${now})`);
      assert(pb.rx > 0 && pb.tx > 0, `${tag} wgts transfer rx ${pb.rx} tx ${pb.tx}`);
      assertEqual(pc.presharedKey, psk, 'preshared key value');
    } else {
      assertEqual(pb.latestHandshake, 0, `${tag} wgts latest handshake`);
      assertEqual(pb.rx, 0, `${tag} wgts rx`);
    }
  }
  // Our show formatter on wireguard-go's socket prints what wg prints.
  const env = { ...process.env, WG_COLOR_MODE: 'never' };
  sameOutput(() => nsC.exec(['wg', 'show', ifC], { env }).stdout, () => nsC.exec([process.execPath, WGTS, 'show', ifC], { env }).stdout, 'wg show / wgts show of wireguard-go');
  sameOutput(() => nsC.exec(['wg', 'show', ifC, 'dump']).stdout, () => nsC.exec([process.execPath, WGTS, 'show', ifC, 'dump']).stdout, 'wg show dump / wgts show dump of wireguard-go');
});

test('wgts down NAME stops the netstack endpoint cleanly', async () => {
  assert(main, 'needs the first case');
  const r = nsB.exec([process.execPath, WGTS, 'down', NAMES.main], { allowFail: true });
  assertEqual(r.code, 0, `wgts down exit code (${r.stderr.trim()})`);
  assertEqual(await waitExit(main, 10_000), 0, 'wgts up exit code');
  assert(!existsSync(`/var/run/wireguard/${NAMES.main}.sock`), 'socket left behind');
  assert(!existsSync(`/var/run/wireguard/${NAMES.main}.pid`), 'pid file left behind');
  const log = main.output();
  assert(/info: SIGTERM: taking \S+ down\n/.test(log) && log.trimEnd().endsWith(`info: ${NAMES.main} down`), `log tail:\n${log.slice(-400)}`);
  const again = nsB.exec([process.execPath, WGTS, 'down', NAMES.main], { allowFail: true });
  assertEqual(again.code, 1, 'a second down: not running');
  const gone = nsB.exec(['wg', 'show', NAMES.main], { allowFail: true });
  assert(gone.code !== 0, 'wg show of a stopped interface fails');
});

test('Endpoint hostname: re-resolved while handshakes fail, then the handshake succeeds', async () => {
  hosts(WRONG_A);
  const conf = writeConf(
    NAMES.rr,
    `[Interface]\nPrivateKey = ${keyB}\nListenPort = 51862\nAddress = 10.246.0.2/24\n\n[Peer]\nPublicKey = ${pubA}\nPresharedKey = ${psk}\nAllowedIPs = 10.246.0.1/32\nEndpoint = ${HOSTNAME_A}:${PORT_A}\nPersistentKeepalive = 5\n`,
  );
  const r = await wgtsUp(NAMES.rr, conf, { LOG_LEVEL: 'info' });
  const d0 = dump(nsB, NAMES.rr);
  assertEqual(d0.peers[0]!.endpoint, `${WRONG_A}:${PORT_A}`, 'endpoint resolved at start');
  await sleep(2000);
  hosts(OUTER_A);
  await waitFor(() => dump(nsB, NAMES.rr).peers[0]!.latestHandshake > 0, 45_000, 'a handshake after re-resolution');
  const d1 = dump(nsB, NAMES.rr);
  assertEqual(d1.peers[0]!.endpoint, `${OUTER_A}:${PORT_A}`, 'endpoint after re-resolution');
  const log = r.output();
  assert(log.includes(`${HOSTNAME_A} re-resolved, endpoint ${WRONG_A}:${PORT_A} → ${OUTER_A}:${PORT_A}`), `log:\n${log}`);
  const ping = nsA.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.246.0.2'], { allowFail: true });
  assertEqual(pingCounts(ping.stdout).received, 2, 'pings after re-resolution');
  // SIGINT stops it as cleanly as SIGTERM.
  r.child.kill('SIGINT');
  assertEqual(await waitExit(r, 10_000), 0, 'exit code after SIGINT');
  assert(r.output().includes(`info: SIGINT: taking ${NAMES.rr} down`), r.output());
  assert(!existsSync(`/var/run/wireguard/${NAMES.rr}.sock`), 'socket left behind');
});

test('log levels: --log-level error and LOG_LEVEL=warn keep a clean run silent; --log-level beats LOG_LEVEL', async () => {
  const conf = writeConf(NAMES.quiet, `[Interface]\nPrivateKey = ${genkey()}\nAddress = 10.246.9.1/24\n`);
  for (const [env, args, expectInfo] of [
    [{ LOG_LEVEL: 'verbose' }, ['--log-level', 'error'], false],
    [{ LOG_LEVEL: 'warn' }, [], false],
    [{ LOG_LEVEL: '' }, [], true],
  ] as const) {
    const r = await wgtsUp(NAMES.quiet, conf, env, [...args]);
    r.child.kill('SIGTERM');
    assertEqual(await waitExit(r, 10_000), 0, 'exit code');
    const out = r.output();
    if (expectInfo) assert(out.includes(`info: ${NAMES.quiet} up (netstack)`) && out.includes(`info: ${NAMES.quiet} down`), `default level logs start and stop:\n${out}`);
    else assertEqual(out, '', `output with ${JSON.stringify(env)} ${args.join(' ')}`);
  }
});

test('SIGTERM the moment the UAPI socket appears (10 times): exit 0, socket and pid file removed', async () => {
  const conf = writeConf(NAMES.quiet, `[Interface]\nPrivateKey = ${genkey()}\nAddress = 10.246.9.1/24\n`);
  const sock = `/var/run/wireguard/${NAMES.quiet}.sock`;
  for (let i = 0; i < 10; i++) {
    rmSync(sock, { force: true }); // the socket seen below must be the new endpoint's
    const r = start(nsB, [process.execPath, WGTS, 'up', conf], { LOG_LEVEL: 'error' });
    // Polled every ~1 ms (not wgtsUp's 100 ms): the signal lands right after the socket is made.
    const deadline = Date.now() + 15_000;
    while (!existsSync(sock) && r.child.exitCode === null && Date.now() < deadline) await new Promise((res) => setTimeout(res, 1));
    assert(existsSync(sock), `no UAPI socket (round ${i}):\n${r.output()}`);
    r.child.kill('SIGTERM');
    assertEqual(await waitExit(r, 10_000), 0, `exit code (round ${i})`);
    assert(!existsSync(sock), `socket left behind (round ${i})`);
    assert(!existsSync(sock.replace(/\.sock$/, '.pid')), `pid file left behind (round ${i})`);
  }
});

test('without root: socket in $XDG_RUNTIME_DIR/wgts, found by wgts show; world-readable config warned about', async () => {
  const runtime = join(dir, 'runtime');
  const confDir = join(dir, 'userconf');
  mkdirSync(runtime, { mode: 0o700 });
  chownSync(runtime, USER_UID, USER_UID);
  mkdirSync(confDir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const conf = writeConf(NAMES.user, `[Interface]\nPrivateKey = ${genkey()}\nAddress = 10.246.8.1/24\n`, 0o644, confDir);
  const asUser = ['setpriv', `--reuid=${USER_UID}`, `--regid=${USER_UID}`, '--clear-groups', 'env', `XDG_RUNTIME_DIR=${runtime}`, 'HOME=/nonexistent'];
  const sock = join(runtime, 'wgts', `${NAMES.user}.sock`);
  const r = start(nsB, [...asUser, process.execPath, WGTS, 'up', conf]);
  try {
    await waitFor(() => existsSync(sock) || r.child.exitCode !== null, 15_000, 'the user socket');
    assert(r.child.exitCode === null, `wgts up (user) exited ${r.child.exitCode}:\n${r.output()}`);
    assert(r.output().includes(`Warning: \`${conf}' is world accessible`), `no permission warning:\n${r.output()}`);
    const show = nsB.exec([...asUser, process.execPath, WGTS, 'show', NAMES.user], { allowFail: true });
    assertEqual(show.code, 0, `wgts show as the user: ${show.stderr}`);
    assert(show.stdout.startsWith(`interface: ${NAMES.user}\n`), show.stdout);
    const listed = nsB.exec([...asUser, process.execPath, WGTS, 'show', 'interfaces']).stdout;
    assert(listed.split(/\s+/).includes(NAMES.user), `show interfaces: ${listed}`);
    const down = nsB.exec([...asUser, process.execPath, WGTS, 'down', NAMES.user], { allowFail: true });
    assertEqual(down.code, 0, `wgts down as the user: ${down.stderr}`);
    assertEqual(await waitExit(r, 10_000), 0, 'exit code');
    assert(!existsSync(sock), 'user socket left behind');
  } finally {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
  }
});

// ------------------------------------------------------------------ main

process.exitCode = await runCases(cases, {
  name: 'cli-netstack',
  only: process.env.CLI_NETSTACK_ONLY,
  setup,
  cleanup,
  beforeCleanup: () => {
    if (main && main.child.exitCode === null) main.child.kill('SIGKILL');
  },
});
