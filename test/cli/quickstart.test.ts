/**
 * `wgts` with no arguments (npm start): the quickstart as a user runs it — a
 * child process of bin/wgts with HOME/XDG_CONFIG_HOME in a temp dir — and a
 * second, in-process endpoint that connects with the printed client config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { WireGuard } from '../../src/node/endpoint-runtime.js';
import { CLIENT_BEGIN, CLIENT_END, CLIENT_FILE, READY_LINE, SERVER_FILE, quickstartDir } from '../../src/cli/quickstart.js';
import { runInProcess } from './helpers.js';
import { freeUdpPort } from '../sockets.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/wgts');

/** Rebuild dist/ when the quickstart source is newer than its compiled form. */
function ensureBuilt(): void {
  const out = join(ROOT, 'dist/src/cli/quickstart.js');
  const src = statSync(join(ROOT, 'src/cli/quickstart.ts')).mtimeMs;
  if (!existsSync(out) || statSync(out).mtimeMs < src) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
  if (!existsSync(out)) throw new Error('dist/src/cli/quickstart.js missing after tsc');
}

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `node bin/wgts` and waits (bounded) for the ready line. */
async function startQuickstart(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [BIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!out.includes(READY_LINE)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`quickstart did not become ready (exit ${child.exitCode})\nstdout: ${out}\nstderr: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function stop(s: Started, signal: NodeJS.Signals): Promise<number | null> {
  s.child.kill(signal);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
  try {
    return await s.exit;
  } finally {
    clearTimeout(timer);
  }
}

function clientConfigOf(stdout: string): string {
  const a = stdout.indexOf(CLIENT_BEGIN);
  const b = stdout.indexOf(CLIENT_END);
  expect(a).toBeGreaterThanOrEqual(0);
  expect(b).toBeGreaterThan(a);
  return stdout.slice(a + CLIENT_BEGIN.length, b).trim() + '\n';
}

function publicKeyOf(stdout: string): string {
  const m = /public key:\s+(\S+)/.exec(stdout);
  expect(m).not.toBeNull();
  return m![1]!;
}

function httpGet(wg: WireGuard, host: string, path: string): Promise<{ status: number; body: string }> {
  const agent = wg.httpAgent();
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: 80, path, agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('http timeout')));
    req.on('error', reject);
  }).finally(() => agent.destroy()) as Promise<{ status: number; body: string }>;
}

async function tcpEcho(wg: WireGuard, host: string, port: number, text: string): Promise<string> {
  const sock = await wg.connect({ host, port });
  return new Promise<string>((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => reject(new Error(`echo timeout, got ${JSON.stringify(got)}`)), 5000);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      got += d;
      if (got.length >= text.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(got);
      }
    });
    sock.on('error', reject);
    sock.write(text);
  });
}

function udpEcho(wg: WireGuard, host: string, port: number, text: string): Promise<string> {
  const s = wg.createSocket('udp4');
  return new Promise<string>((resolve, reject) => {
    // Datagrams can be lost; resend a few times within the bound.
    let tries = 0;
    const send = (): void => {
      if (tries++ >= 10) {
        clearInterval(timer);
        s.close();
        reject(new Error('udp echo: no answer'));
        return;
      }
      s.send(text, port, host);
    };
    const timer = setInterval(send, 300);
    s.on('message', (msg) => {
      clearInterval(timer);
      s.close();
      resolve(Buffer.from(msg).toString('utf8'));
    });
    s.bind(0, send);
  });
}

describe('quickstart (wgts with no arguments)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'wgts-qs-'));
    env = {
      PATH: process.env.PATH,
      HOME: join(dir, 'home'),
      XDG_CONFIG_HOME: join(dir, 'xdg'),
      WGTS_UAPI_DIR: join(dir, 'run'),
      WGTS_QUICKSTART_HOST: '127.0.0.1',
      WGTS_QUICKSTART_PORT: String(await freeUdpPort()),
      WGTS_QUICKSTART_NAME: `qs${process.pid % 100000}`,
      WGTS_CRYPTO: process.env.WGTS_CRYPTO,
    };
    mkdirSync(env.HOME!, { recursive: true });
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates a config once, serves ping, the status page and echo to a client using the printed config, stops on SIGTERM/SIGINT with 0', async () => {
    const first = await startQuickstart(env);
    let client: WireGuard | null = null;
    try {
      const out = first.stdout();
      expect(out).toContain('created now with fresh keys');
      // XDG_CONFIG_HOME wins over HOME; dir 0700, files 0600.
      const cfgDir = join(dir, 'xdg', 'wgts');
      expect(statSync(cfgDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(cfgDir, SERVER_FILE)).mode & 0o777).toBe(0o600);
      expect(statSync(join(cfgDir, CLIENT_FILE)).mode & 0o777).toBe(0o600);
      expect(existsSync(join(dir, 'home', '.config'))).toBe(false);

      const clientText = clientConfigOf(out);
      expect(clientText).toBe(readFileSync(join(cfgDir, CLIENT_FILE), 'utf8'));
      const clientCfg = parseConfig(clientText, 'printed client config');
      const serverKey = publicKeyOf(out);
      expect(Buffer.from(clientCfg.peers[0]!.publicKey).toString('base64')).toBe(serverKey);
      expect(clientCfg.peers[0]!.endpoint).toEqual({ host: '127.0.0.1', port: Number(env.WGTS_QUICKSTART_PORT) });

      client = await WireGuard.fromParsedConfig(clientCfg, { name: 'qs-client' });
      const rtt = await client.ping('10.77.0.1', { timeout: 5000 });
      expect(rtt).toBeGreaterThanOrEqual(0);
      // Nobody else is on the quickstart subnet: no reply (the reachability policy).
      await expect(client.ping('10.77.0.99', { timeout: 500 })).rejects.toThrow();

      const page = await httpGet(client, '10.77.0.1', '/status.json');
      expect(page.status).toBe(200);
      const status = JSON.parse(page.body) as { publicKey: string; listenPort: number; peers: { publicKey: string; up: boolean }[]; stats: { icmp: Record<string, number> } };
      expect(status.publicKey).toBe(serverKey);
      expect(status.listenPort).toBe(Number(env.WGTS_QUICKSTART_PORT));
      expect(status.peers).toHaveLength(1);
      expect(status.peers[0]!.publicKey).toBe(client.publicKey);
      expect(status.peers[0]!.up).toBe(true);
      expect(status.stats.icmp['icmp.echo.replied{reason=local}']).toBe(1);
      expect(status.stats.icmp['icmp.echo.suppressed{reason=no-route}']).toBe(1);

      expect(await tcpEcho(client, '10.77.0.1', 7, 'hello through the quickstart')).toBe('hello through the quickstart');
      expect(await udpEcho(client, '10.77.0.1', 7, 'udp hello')).toBe('udp hello');

      // The UAPI socket answers `wgts show` (in-process CLI, same socket dir).
      const show = await runInProcess(['show', env.WGTS_QUICKSTART_NAME!, 'public-key'], { env: { WGTS_UAPI_DIR: env.WGTS_UAPI_DIR } });
      expect(show.stdout.trim()).toBe(serverKey);
    } finally {
      await client?.close();
      const code = await stop(first, 'SIGTERM');
      expect(code, first.stderr()).toBe(0);
    }
    expect(existsSync(join(dir, 'run', `${env.WGTS_QUICKSTART_NAME}.sock`))).toBe(false);
    expect(existsSync(join(dir, 'run', `${env.WGTS_QUICKSTART_NAME}.pid`))).toBe(false);

    const before = readFileSync(join(dir, 'xdg', 'wgts', SERVER_FILE), 'utf8');
    const second = await startQuickstart(env);
    const out2 = second.stdout();
    const code2 = await stop(second, 'SIGINT');
    expect(code2, second.stderr()).toBe(0);
    expect(out2).toContain('(reused)');
    expect(publicKeyOf(out2)).toBe(publicKeyOf(first.stdout()));
    expect(clientConfigOf(out2)).toBe(clientConfigOf(first.stdout()));
    expect(readFileSync(join(dir, 'xdg', 'wgts', SERVER_FILE), 'utf8')).toBe(before);
  }, 60_000);

  it('uses ~/.config/wgts without XDG_CONFIG_HOME, ignores a relative XDG_CONFIG_HOME', () => {
    expect(quickstartDir({ HOME: '/home/u' })).toBe('/home/u/.config/wgts');
    expect(quickstartDir({ HOME: '/home/u', XDG_CONFIG_HOME: 'rel' })).toBe('/home/u/.config/wgts');
    expect(quickstartDir({ HOME: '/home/u', XDG_CONFIG_HOME: '/x/cfg' })).toBe('/x/cfg/wgts');
  });

  it('refuses a half-made quickstart (one of the two files) with exit 2, and a broken config names file and line', async () => {
    const home = mkdtempSync(join(tmpdir(), 'wgts-qs-half-'));
    try {
      const cfgDir = join(home, '.config', 'wgts');
      mkdirSync(cfgDir, { recursive: true, mode: 0o700 });
      writeFileSync(join(cfgDir, SERVER_FILE), '[Interface]\n', { mode: 0o600 });
      const r = await runInProcess([], { env: { HOME: home } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${join(cfgDir, CLIENT_FILE)} is missing`);

      writeFileSync(join(cfgDir, CLIENT_FILE), '[Interface]\nPrivateKey = x\n', { mode: 0o600 });
      writeFileSync(join(cfgDir, SERVER_FILE), '[Interface]\nBogus = 1\n', { mode: 0o600 });
      const r2 = await runInProcess([], { env: { HOME: home } });
      expect(r2.code).toBe(2);
      expect(r2.stderr).toContain(`${join(cfgDir, SERVER_FILE)}:2: Bogus: unknown key`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
