/**
 * Interop for `wgts up --mode tun` / `wgts down` (root, network namespaces).
 *
 * Two namespaces joined by a veth: A runs wireguard-go configured by wg-quick;
 * B runs the config under test. Each config is first brought up in B by the
 * real wg-quick (with wireguard-go) to record what it sets — addresses, MTU,
 * routes in every table, policy rules, fwmark, and what it feeds nft and
 * resolvconf (logging stubs on PATH; this machine has neither) — then taken
 * down, then run by `wgts up --mode tun`, and the two snapshots must be equal.
 * Traffic is checked with exact ping counts and sha256-hashed TCP both ways.
 * After `wgts down` (or SIGINT, or a crash followed by the state-file
 * teardown) B must look exactly as before.
 *
 *   node dist/interop/cli-tun.js          (interop/cli-tun.sh checks the prerequisites)
 *   CLI_TUN_ONLY=regex                     run only matching cases
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, assertEqual, background, Netns, run, sleep, suffix } from './lib.js';
import { runCases, type Case } from './suite.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const WGTS = join(REPO, 'bin', 'wgts');
const TCP_HASH = join(HERE, 'tcp-hash.js');

const id = suffix();
const dir = mkdtempSync(join(tmpdir(), 'wgts-cli-tun-'));
const stubDir = join(dir, 'stub');
const nsA = new Netns(`wgtca-${id}`);
const nsB = new Netns(`wgtcb-${id}`);
const vethA = `vca${id}`;
const vethB = `vcb${id}`;
const ifA = `wqa${id}`;
const OUTER_A = '192.168.243.1';
const OUTER_B = '192.168.243.2';
const PORT_A = 51830;
const PORT_B = 51831;

const keyA = run(['wg', 'genkey']).stdout.trim();
const keyB = run(['wg', 'genkey']).stdout.trim();
const pubA = run(['wg', 'pubkey'], { input: keyA + '\n' }).stdout.trim();
const pubB = run(['wg', 'pubkey'], { input: keyB + '\n' }).stdout.trim();

// ------------------------------------------------------------------ setup / teardown

function writeStubs(): void {
  mkdirSync(stubDir, { recursive: true });
  // nft: log argv and the script (from the file wg-quick passes, or stdin).
  writeFileSync(join(stubDir, 'nft'), '#!/bin/sh\n{ echo "== nft $*"; if [ "$1" = -f ]; then if [ "$2" = - ]; then cat; else cat "$2"; fi; fi; } >>"${STUB_LOG:-/dev/null}"\n');
  // resolvconf: log argv, and the records given with -a.
  writeFileSync(join(stubDir, 'resolvconf'), '#!/bin/sh\n{ echo "== resolvconf $*"; if [ "$1" = -a ]; then cat; fi; } >>"${STUB_LOG:-/dev/null}"\n');
  for (const f of ['nft', 'resolvconf']) chmodSync(join(stubDir, f), 0o755);
}

function setup(): void {
  writeStubs();
  for (const ns of [nsA, nsB]) {
    run(['ip', 'netns', 'add', ns.name]);
    ns.exec(['ip', 'link', 'set', 'lo', 'up']);
  }
  run(['ip', 'link', 'add', vethA, 'netns', nsA.name, 'type', 'veth', 'peer', 'name', vethB, 'netns', nsB.name]);
  nsA.exec(['ip', 'addr', 'add', `${OUTER_A}/24`, 'dev', vethA]);
  nsB.exec(['ip', 'addr', 'add', `${OUTER_B}/24`, 'dev', vethB]);
  nsA.exec(['ip', 'link', 'set', vethA, 'up']);
  // A jumbo veth on B's side: the auto MTU follows the route toward the endpoint.
  nsB.exec(['ip', 'link', 'set', 'mtu', '9000', 'dev', vethB]);
  nsA.exec(['ip', 'link', 'set', 'mtu', '9000', 'dev', vethA]);
  nsB.exec(['ip', 'link', 'set', vethB, 'up']);
  const confA = join(dir, `${ifA}.conf`);
  writeFileSync(
    confA,
    `[Interface]\nPrivateKey = ${keyA}\nListenPort = ${PORT_A}\nAddress = 10.243.0.1/24, fd43::1/64\nMTU = 1420\n\n[Peer]\nPublicKey = ${pubB}\nAllowedIPs = 10.243.0.2/32, fd43::2/128, 10.99.0.0/16\nEndpoint = ${OUTER_B}:${PORT_B}\n`,
    { mode: 0o600 },
  );
  const r = nsA.exec(['sh', '-c', 'wg-quick up "$0" >"$1" 2>&1', confA, join(dir, 'wg-quick-a.log')], { timeoutMs: 30_000, allowFail: true });
  assert(r.code === 0, `wg-quick up on side A: ${readFileSync(join(dir, 'wg-quick-a.log'), 'utf8')}`);
}

let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const ns of [nsB, nsA]) ns.destroy();
  for (const f of [ifA, ...Object.values(NAMES)]) {
    for (const ext of ['sock', 'pid', 'state.json']) rmSync(`/var/run/wireguard/${f}.${ext}`, { force: true });
  }
  rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------------ helpers

const NAMES = { basic: `wtb${id}`, dflt: `wtd${id}`, table: `wtt${id}`, save: `wts${id}`, crash: `wtc${id}`, user: `wtu${id}` };

function envB(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${stubDir}:${process.env.PATH ?? ''}`, LOG_LEVEL: 'info', ...extra };
}

/** Everything in B that wg-quick or wgts may change, normalized (no link-local addresses, no ifindex). */
function snapshot(iface: string): string {
  const out: string[] = [];
  const link = nsB.exec(['ip', '-o', 'link', 'show', 'dev', iface], { allowFail: true }).stdout;
  if (link) {
    const flags = /<([^>]*)>/.exec(link)?.[1] ?? '';
    out.push(`link ${iface} mtu ${/ mtu ([0-9]+)/.exec(link)?.[1]} ${flags.includes('UP') ? 'up' : 'down'}`);
    const brief = nsB.exec(['ip', '-brief', 'addr', 'show', 'dev', iface]).stdout.trim().split(/\s+/).slice(2);
    out.push(`addr ${brief.filter((a) => !a.startsWith('fe80:')).join(' ')}`);
    const fw = nsB.exec(['wg', 'show', iface, 'fwmark'], { allowFail: true }).stdout.trim();
    out.push(`fwmark ${fw}`);
  } else out.push(`link ${iface} absent`);
  for (const fam of ['-4', '-6']) {
    const routes = nsB.exec(['ip', fam, 'route', 'show', 'table', 'all']).stdout.split('\n');
    for (const r of routes) {
      if (!r.trim() || /^(local|broadcast|multicast|anycast) /.test(r) || r.includes('fe80::') || r.includes(vethB)) continue;
      out.push(`route${fam} ${r.trim()}`);
    }
    for (const r of nsB.exec(['ip', fam, 'rule', 'show']).stdout.split('\n')) if (r.trim()) out.push(`rule${fam} ${r.trim()}`);
  }
  return out.join('\n');
}

function stubLog(file: string): string {
  if (!existsSync(file)) return '';
  // Same scripts, different delivery: wg-quick hands nft a /dev/fd path, we pipe it.
  return readFileSync(file, 'utf8').replace(/^== nft -f \/dev\/fd\/[0-9]+$/gm, '== nft -f -').replace(/^== nft list tables\n/gm, '');
}

/** Link-local addresses the kernel gave the interface (wg-quick feeds them to nft; so do we). */
function stubLogNormalized(file: string): string {
  return stubLog(file).replace(/fe80::[0-9a-f:]+/g, 'fe80::LL');
}

function writeConf(name: string, body: string): string {
  const f = join(dir, `${name}.conf`);
  writeFileSync(f, `[Interface]\nPrivateKey = ${keyB}\nListenPort = ${PORT_B}\n${body}`, { mode: 0o600 });
  return f;
}

function wgQuick(verb: 'up' | 'down', conf: string, log: string): void {
  const r = nsB.exec(['sh', '-c', 'wg-quick "$0" "$1" >>"$2" 2>&1', verb, conf, join(dir, 'wg-quick-b.log')], { env: envB({ STUB_LOG: log }), timeoutMs: 30_000, allowFail: true });
  assert(r.code === 0, `wg-quick ${verb} ${conf}: ${readFileSync(join(dir, 'wg-quick-b.log'), 'utf8').split('\n').slice(-15).join('\n')}`);
}

interface Running {
  pid: number;
  output(): string;
  finished: Promise<{ code: number }>;
  stop(): void;
}

/** `wgts up CONF --mode tun` in B, in the background; resolves once it says it is up. */
async function wgtsUp(conf: string, iface: string, stub: string, extra: string[] = []): Promise<Running> {
  const bg = background(['ip', 'netns', 'exec', nsB.name, 'node', WGTS, 'up', conf, '--mode', 'tun', ...extra], envB({ STUB_LOG: stub }));
  let text = '';
  bg.child.stderr!.on('data', (d: Buffer | string) => (text += d.toString()));
  bg.child.stdout!.on('data', (d: Buffer | string) => (text += d.toString()));
  const until = Date.now() + 20_000;
  let exited = false;
  void bg.finished.then(() => (exited = true));
  while (!text.includes(`${iface} is up`)) {
    if (exited || Date.now() > until) {
      bg.stop();
      throw new Error(`wgts up ${iface} did not come up:\n${text}`);
    }
    await sleep(50);
  }
  return { pid: bg.child.pid!, output: () => text, finished: bg.finished, stop: bg.stop };
}

async function waitExit(r: Running, ms = 10_000): Promise<number> {
  const res = await Promise.race([r.finished, sleep(ms).then(() => null)]);
  if (!res) {
    r.stop();
    throw new Error(`wgts up did not exit within ${ms} ms:\n${r.output()}`);
  }
  return res.code;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Peers in a saved config, in a stable order (wireguard-go lists them in Go map order). */
function sortPeers(text: string): string {
  const [head, ...peers] = text.trimEnd().split('\n\n[Peer]\n');
  return [head, ...peers.sort()].join('\n\n[Peer]\n') + '\n';
}

/** `wgts down` run asynchronously: our event loop must stay free to reap the exiting `wgts up` (a zombie looks alive). */
async function wgtsDown(iface: string): Promise<void> {
  const bg = nsB.bg(['node', WGTS, 'down', iface], envB());
  const r = await Promise.race([bg.finished, sleep(20_000).then(() => null)]);
  bg.stop();
  assert(r !== null, `wgts down ${iface} did not finish`);
  assert(r.code === 0, `wgts down ${iface}: exit ${r.code}: ${r.stderr}`);
}

function pingCount(from: Netns, to: string, count: number, size?: number): number {
  const args = ['ping', '-n', '-q', '-c', String(count), '-i', '0.02', '-W', '2'];
  if (size) args.push('-s', String(size), '-M', 'do');
  const r = from.exec([...args, to], { allowFail: true, timeoutMs: 30_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return m ? Number(m[2]) : 0;
}

async function tcpHash(from: Netns, to: Netns, addr: string, bytes: number): Promise<void> {
  const srv = to.bg(['node', TCP_HASH, 'server', '5401']);
  await sleep(400);
  const cli = from.exec(['node', TCP_HASH, 'client', addr, '5401', String(bytes)], { timeoutMs: 60_000, allowFail: true });
  const s = await Promise.race([srv.finished, sleep(10_000).then(() => null)]);
  srv.stop();
  assert(cli.code === 0, `tcp client to ${addr}: ${cli.stderr}`);
  assert(s !== null, `tcp server at ${addr} did not finish`);
  assertEqual(s.stdout.trim(), cli.stdout.trim(), `sha256 of ${bytes} bytes to ${addr}`);
  assert(cli.stdout.startsWith(`${bytes} `), `sent ${cli.stdout}`);
}

/** Brings the config up with wg-quick, records, takes it down; then the same with wgts; compares. */
async function compareWithWgQuick(name: string, conf: string): Promise<Running> {
  const before = snapshot(name);
  const quickLog = join(dir, `${name}.wg-quick.stub`);
  wgQuick('up', conf, quickLog);
  const quickState = snapshot(name);
  const quickStub = stubLogNormalized(quickLog);
  wgQuick('down', conf, join(dir, `${name}.wg-quick-down.stub`));
  assertEqual(snapshot(name), before, `${name}: wg-quick down restores B`);
  const ourLog = join(dir, `${name}.wgts.stub`);
  const r = await wgtsUp(conf, name, ourLog);
  if (process.env.CLI_TUN_DEBUG) console.log(`# ${name} after wg-quick up:\n${quickState}\n# stubs:\n${quickStub}`);
  assertEqual(snapshot(name), quickState, `${name}: ip addr/link/route/rule after wgts up vs wg-quick up`);
  assertEqual(stubLogNormalized(ourLog), quickStub, `${name}: what nft/resolvconf were given`);
  return r;
}

// ------------------------------------------------------------------ cases

const cases: Case[] = [];
const test = (name: string, fn: () => Promise<void>): void => void cases.push({ name, fn });

test('addresses, auto MTU (9000-80), routes, DNS, hooks: same as wg-quick; ping and TCP both ways; down leaves nothing', async () => {
  const name = NAMES.basic;
  const hookLog = join(dir, `${name}.hooks`);
  const conf = writeConf(
    name,
    `Address = 10.243.0.2/24, fd43::2/64\nDNS = 10.243.0.53, corp.example\nPreUp = echo "preup %i" >> ${hookLog}\nPostUp = echo "postup %i" >> ${hookLog}\nPreDown = echo "predown %i" >> ${hookLog}\nPostDown = echo "postdown %i" >> ${hookLog}\n\n[Peer]\nPublicKey = ${pubA}\nAllowedIPs = 10.243.0.1/32, fd43::1/128, 10.98.0.0/16, 10.243.0.0/24, fd98::/48\nEndpoint = ${OUTER_A}:${PORT_A}\n`,
  );
  const before = snapshot(name);
  const r = await compareWithWgQuick(name, conf);
  assert(snapshot(name).includes(`link ${name} mtu 8920 up`), `auto MTU: ${snapshot(name)}`);
  assertEqual(pingCount(nsB, '10.243.0.1', 20), 20, 'ping IPv4 B→A');
  assertEqual(pingCount(nsA, '10.243.0.2', 20), 20, 'ping IPv4 A→B');
  assertEqual(pingCount(nsB, 'fd43::1', 20), 20, 'ping IPv6 B→A');
  assertEqual(pingCount(nsB, '10.243.0.1', 5, 1392), 5, 'ping at A\'s tunnel MTU (1420)');
  await tcpHash(nsB, nsA, '10.243.0.1', 8 << 20);
  await tcpHash(nsA, nsB, 'fd43::2', 8 << 20);
  writeFileSync(hookLog, '');
  await wgtsDown(name);
  assertEqual(await waitExit(r), 0, 'wgts up exit code after wgts down');
  assertEqual(snapshot(name), before, `${name}: B after wgts down`);
  assertEqual(readFileSync(hookLog, 'utf8'), `predown ${name}\npostdown ${name}\n`, 'down hooks, %i expanded');
  for (const ext of ['sock', 'pid', 'state.json']) assert(!existsSync(`/var/run/wireguard/${name}.${ext}`), `${name}.${ext} left behind`);
  assert(stubLog(join(dir, `${name}.wgts.stub`)).includes(`== resolvconf -d ${name} -f`), 'DNS removed with resolvconf -d');
});

test('default route (0.0.0.0/0, ::/0): fwmark, table 51820, rules and nft marks as wg-quick; outer traffic still direct; SIGINT takes it down', async () => {
  const name = NAMES.dflt;
  const conf = writeConf(name, `Address = 10.243.0.2/32, fd43::2/128\n\n[Peer]\nPublicKey = ${pubA}\nAllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = ${OUTER_A}:${PORT_A}\n`);
  const before = snapshot(name);
  const r = await compareWithWgQuick(name, conf);
  const snap = snapshot(name);
  assert(snap.includes('rule-4 32765:\tnot from all fwmark 0xca6c lookup 51820') || /not from all fwmark 0xca6c lookup 51820/.test(snap), `rules: ${snap}`);
  assertEqual(pingCount(nsB, '10.243.0.1', 10), 10, 'ping A through the default route');
  assertEqual(pingCount(nsB, OUTER_A, 3), 3, 'the outer network is still reached directly');
  await tcpHash(nsB, nsA, '10.243.0.1', 4 << 20);
  process.kill(r.pid, 'SIGINT');
  assertEqual(await waitExit(r), 0, 'exit code after SIGINT');
  assertEqual(snapshot(name), before, `${name}: B after SIGINT`);
});

test('Table = 1234 and MTU = 1300: same as wg-quick; down leaves nothing', async () => {
  const name = NAMES.table;
  const conf = writeConf(name, `Address = 10.243.0.2/24\nTable = 1234\nMTU = 1300\n\n[Peer]\nPublicKey = ${pubA}\nAllowedIPs = 10.243.0.1/32, 0.0.0.0/0, fd43::1/128\nEndpoint = ${OUTER_A}:${PORT_A}\n`);
  const before = snapshot(name);
  const r = await compareWithWgQuick(name, conf);
  assert(snapshot(name).includes(`link ${name} mtu 1300 up`), 'explicit MTU');
  nsB.exec(['ip', 'rule', 'add', 'to', '10.243.0.1', 'table', '1234', 'priority', '100']);
  try {
    assertEqual(pingCount(nsB, '10.243.0.1', 5), 5, 'ping through table 1234');
  } finally {
    nsB.exec(['ip', 'rule', 'del', 'to', '10.243.0.1', 'table', '1234', 'priority', '100']);
  }
  await wgtsDown(name);
  assertEqual(await waitExit(r), 0, 'exit code');
  assertEqual(snapshot(name), before, `${name}: B after down`);
});

test('SaveConfig: the file written on down equals what wg-quick saves for the same live state', async () => {
  const name = NAMES.save;
  const body = `Address = 10.243.0.2/24\nMTU = 1400\nSaveConfig = true\nPostUp = true %i\n\n[Peer]\nPublicKey = ${pubA}\nAllowedIPs = 10.243.0.1/32\nEndpoint = ${OUTER_A}:${PORT_A}\n`;
  const extraPeer = run(['wg', 'pubkey'], { input: run(['wg', 'genkey']).stdout }).stdout.trim();
  const change = (): void => {
    nsB.exec(['wg', 'set', name, 'peer', extraPeer, 'allowed-ips', '10.77.0.0/16', 'persistent-keepalive', '25']);
    nsB.exec(['ip', 'link', 'set', 'mtu', '1380', 'dev', name]);
    nsB.exec(['ip', 'addr', 'add', '10.243.5.2/24', 'dev', name]);
  };
  const conf = writeConf(name, body);
  wgQuick('up', conf, join(dir, `${name}.q.stub`));
  change();
  wgQuick('down', conf, join(dir, `${name}.q.stub`));
  // wg-quick keeps the kernel's link-local address too; we leave it out.
  const quickSaved = sortPeers(readFileSync(conf, 'utf8').replace(/^Address = fe80:.*\n/gm, ''));
  writeConf(name, body);
  const r = await wgtsUp(conf, name, join(dir, `${name}.w.stub`));
  change();
  await wgtsDown(name);
  assertEqual(await waitExit(r), 0, 'exit code');
  assertEqual(sortPeers(readFileSync(conf, 'utf8')), quickSaved, 'saved config');
  const mode = run(['stat', '-c', '%a', conf]).stdout.trim();
  assertEqual(mode, '600', 'saved config mode');
});

test('--user nobody: the daemon runs as uid 65534 after setup; ping, TCP, wg show and SaveConfig work; down leaves nothing', async () => {
  const name = NAMES.user;
  const conf = writeConf(name, `Address = 10.243.0.2/24\nSaveConfig = true\n\n[Peer]\nPublicKey = ${pubA}\nAllowedIPs = 10.243.0.1/32\nEndpoint = ${OUTER_A}:${PORT_A}\n`);
  const before = snapshot(name);
  const r = await wgtsUp(conf, name, join(dir, `${name}.stub`), ['--user', 'nobody']);
  const state = JSON.parse(readFileSync(`/var/run/wireguard/${name}.state.json`, 'utf8')) as { daemonPid: number };
  const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${state.daemonPid}/status`, 'utf8'));
  assertEqual(uids?.slice(1).join(' '), '65534 65534 65534', 'daemon real/effective/saved uid');
  assertEqual(pingCount(nsB, '10.243.0.1', 10), 10, 'ping B→A through the unprivileged daemon');
  await tcpHash(nsA, nsB, '10.243.0.2', 4 << 20);
  assert(nsB.exec(['wg', 'show', name, 'latest-handshakes']).stdout.trim().split(/\s+/)[1] !== '0', 'wg show: handshake');
  const extraPeer = run(['wg', 'pubkey'], { input: run(['wg', 'genkey']).stdout }).stdout.trim();
  nsB.exec(['wg', 'set', name, 'peer', extraPeer, 'allowed-ips', '10.78.0.0/16']);
  await wgtsDown(name);
  assertEqual(await waitExit(r), 0, 'exit code');
  assertEqual(snapshot(name), before, `${name}: B after down`);
  assert(readFileSync(conf, 'utf8').includes(`PublicKey = ${extraPeer}`), 'SaveConfig read the live peers from the unprivileged daemon');
  for (const ext of ['sock', 'pid', 'state.json']) assert(!existsSync(`/var/run/wireguard/${name}.${ext}`), `${name}.${ext} left behind`);
});

test('crash: wgts up killed with SIGKILL; the state-file teardown undoes routes, rules and link', async () => {
  const name = NAMES.crash;
  const conf = writeConf(name, `Address = 10.243.0.2/32\nPostDown = echo postdown %i > ${join(dir, 'crash.hooks')}\n\n[Peer]\nPublicKey = ${pubA}\nAllowedIPs = 0.0.0.0/0, 10.97.0.0/16\nEndpoint = ${OUTER_A}:${PORT_A}\n`);
  const before = snapshot(name);
  const r = await wgtsUp(conf, name, join(dir, `${name}.stub`));
  const daemonPid = (JSON.parse(readFileSync(`/var/run/wireguard/${name}.state.json`, 'utf8')) as { daemonPid: number }).daemonPid;
  process.kill(r.pid, 'SIGKILL');
  // Not r.finished: the surviving daemon still holds the output pipes it inherited.
  for (let i = 0; i < 100 && pidAlive(r.pid); i++) await sleep(50);
  assert(!pidAlive(r.pid), 'wgts up survived SIGKILL');
  assert(nsB.exec(['ip', 'link', 'show', name], { allowFail: true }).code === 0, 'the interface outlives the killed process (the daemon keeps it)');
  assertEqual(pingCount(nsB, '10.243.0.1', 3), 3, 'tunnel still works after the crash');
  // `wgts down NAME` undoes from the state file once src/cli/down.ts calls downFromState;
  // until then the case calls downFromState itself (and says so).
  const downUsesState = readFileSync(join(REPO, 'dist/src/cli/down.js'), 'utf8').includes('downFromState');
  if (downUsesState) {
    await wgtsDown(name);
  } else {
    console.log('#   note: src/cli/down.ts does not call downFromState yet; calling it directly');
    const helper = `const m = await import(${JSON.stringify(join(REPO, 'dist/src/cli/tun-down.js'))}); const c = await import(${JSON.stringify(join(REPO, 'dist/src/cli/context.js'))}); process.exitCode = (await m.downFromState(c.processCli('wgts'), process.argv[1])) ?? 3;`;
    const d = nsB.exec(['node', '--input-type=module', '-e', helper, name], { env: envB(), timeoutMs: 30_000, allowFail: true });
    assertEqual(d.code, 0, `state-file teardown: ${d.stderr}`);
  }
  assertEqual(snapshot(name), before, `${name}: B after the teardown`);
  assertEqual(readFileSync(join(dir, 'crash.hooks'), 'utf8'), `postdown ${name}\n`, 'PostDown ran');
  assert(!pidAlive(daemonPid), `daemon ${daemonPid} still running`);
  r.stop();
  assert(!existsSync(`/var/run/wireguard/${name}.state.json`), 'state file left behind');
});

test('restart after a crash: up refuses while the old daemon holds the name, then cleans the stale rules itself', async () => {
  const name = NAMES.crash;
  const conf = join(dir, `${name}.conf`);
  const before = snapshot(name);
  const r = await wgtsUp(conf, name, join(dir, `${name}.stub2`));
  process.kill(r.pid, 'SIGKILL');
  for (let i = 0; i < 100 && pidAlive(r.pid); i++) await sleep(50);
  const again = nsB.exec(['node', WGTS, 'up', conf, '--mode', 'tun'], { env: envB(), timeoutMs: 20_000, allowFail: true });
  assertEqual(again.code, 1, `second up while the old daemon runs: ${again.stderr}`);
  assert(again.stderr.includes('is already running'), `message: ${again.stderr}`);
  // The interface goes away on its own (the daemon exits with it); the policy rules stay behind.
  nsB.exec(['ip', 'link', 'del', name]);
  await sleep(300);
  assert(/suppress_prefixlength/.test(snapshot(name)), 'stale rules expected before the restart');
  const r2 = await wgtsUp(conf, name, join(dir, `${name}.stub3`));
  assert(r2.output().includes('cleaning up after a previous run'), r2.output());
  const rules = snapshot(name).split('\n').filter((l) => l.includes('suppress_prefixlength'));
  assertEqual(rules.length, 1, `one suppress_prefixlength rule after the restart: ${rules.join(' | ')}`);
  assertEqual(pingCount(nsB, '10.243.0.1', 3), 3, 'tunnel after the restart');
  r.stop();
  await wgtsDown(name);
  assertEqual(await waitExit(r2), 0, 'exit code');
  assertEqual(snapshot(name), before, `${name}: B after down`);
});

// ------------------------------------------------------------------ main

process.exitCode = await runCases(cases, {
  name: 'cli-tun',
  only: process.env.CLI_TUN_ONLY,
  setup,
  cleanup,
  // Leave B clean for the next case.
  afterFailure: () => {
    for (const n of Object.values(NAMES)) nsB.exec(['ip', 'link', 'del', n], { allowFail: true });
  },
});
