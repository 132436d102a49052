/**
 * The wgts binary as a user runs it: child processes of bin/wgts (compiled output),
 * talking to fake UAPI endpoints in a temporary directory (WGTS_UAPI_DIR). No root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/wgts');
const FIX = join(import.meta.dirname, 'fixtures');
const fixture = (name: string): string => readFileSync(join(FIX, name), 'utf8');

/** Rebuild dist/ when our sources are newer than the compiled CLI (npm test builds first anyway). */
function ensureBuilt(): void {
  const out = join(ROOT, 'dist/src/cli/main.js');
  const newest = Math.max(
    ...['src/cli', 'src/config'].flatMap((d) => readdirSync(join(ROOT, d)).map((f) => statSync(join(ROOT, d, f)).mtimeMs)),
    statSync(join(ROOT, 'src/node/uapi-client.ts')).mtimeMs,
  );
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
  }
  if (!existsSync(out)) throw new Error('dist/src/cli/main.js missing after tsc');
}

interface Fake {
  name: string;
  server: Server;
  sets: string[];
  getReply: string;
  setReply: string;
}

let dir: string;
const fakes: Fake[] = [];

function startFake(name: string, getReply: string): Promise<Fake> {
  const fake: Fake = { name, server: undefined as unknown as Server, sets: [], getReply, setReply: 'errno=0\n\n' };
  fake.server = createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const req = buf.slice(0, i + 2);
        buf = buf.slice(i + 2);
        if (req === 'get=1\n\n') c.write(fake.getReply);
        else {
          fake.sets.push(req);
          c.write(fake.setReply);
        }
      }
    });
    c.on('error', () => {});
  });
  fakes.push(fake);
  return new Promise((resolve) => fake.server.listen(join(dir, `${name}.sock`), () => resolve(fake)));
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function wgts(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH, WGTS_UAPI_DIR: dir, ...opts.env }, timeout: 20_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin!.end(opts.input ?? '');
  });
}

let alpha: Fake;
let bravo: Fake;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'wgts-cli-'));
  alpha = await startFake('alpha', fixture('stateA.get'));
  bravo = await startFake('bravo', fixture('stateC.get'));
});

afterAll(async () => {
  for (const f of fakes) await new Promise((r) => f.server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('basics', () => {
  it('--version, --help, unknown subcommand', async () => {
    const v = await wgts(['--version']);
    expect(v).toEqual({ code: 0, stdout: `wgts v${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`, stderr: '' });
    const h = await wgts(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Available subcommands:\n  up ');
    const bad = await wgts(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.startsWith("Invalid subcommand: `frobnicate'\nUsage: wgts <cmd>")).toBe(true);
  });

  it('every subcommand has --help', async () => {
    for (const cmd of ['up', 'down', 'show', 'showconf', 'set', 'setconf', 'addconf', 'syncconf', 'genkey', 'genpsk', 'pubkey', 'strip', 'completion']) {
      const r = await wgts([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout.startsWith(`Usage: wgts ${cmd}`), cmd).toBe(true);
      expect(r.stdout.split('\n').length, cmd).toBeGreaterThan(4);
    }
  });

  it('genkey | pubkey through the binary (and wg agrees)', async () => {
    const k = await wgts(['genkey']);
    const p = await wgts(['pubkey'], { input: k.stdout });
    expect(p.code).toBe(0);
    const wg = spawnSync('wg', ['pubkey'], { input: k.stdout, encoding: 'utf8' });
    if (wg.status === 0) expect(p.stdout).toBe(wg.stdout);
    const bad = await wgts(['pubkey'], { input: 'nope' });
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'wgts: Key is not the correct length or format\n' });
  });

  it('completion bash is valid bash', async () => {
    const r = await wgts(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('complete -F _wgts_completion wgts');
    expect(spawnSync('bash', ['-n'], { input: r.stdout }).status).toBe(0);
    expect((await wgts(['completion', 'zsh'])).code).toBe(2);
  });
});

describe('show / showconf over UAPI', () => {
  it('show NAME prints what wg prints', async () => {
    const r = await wgts(['show', 'bravo']);
    expect(r).toEqual({ code: 0, stdout: fixture('stateC.show.txt').replace('wgtsfx6', 'bravo'), stderr: '' });
  });

  it('show NAME dump and fields', async () => {
    const dump = fixture('stateA.fields.txt').split('== dump\n')[1];
    expect(await wgts(['show', 'alpha', 'dump'])).toEqual({ code: 0, stdout: dump, stderr: '' });
    expect((await wgts(['show', 'alpha', 'listen-port'])).stdout).toBe('51820\n');
  });

  it('show, show all FIELD, show interfaces', async () => {
    const all = await wgts(['show']);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('interface: alpha\n');
    expect(all.stdout).toContain('\ninterface: bravo\n');
    expect((await wgts(['show', 'all', 'listen-port'])).stdout).toBe('alpha\t51820\nbravo\t0\n');
    expect(await wgts(['show', 'interfaces'])).toEqual({ code: 0, stdout: 'alpha bravo\n', stderr: '' });
  });

  it('colours only when asked (stdout is not a terminal here)', async () => {
    const r = await wgts(['show', 'bravo'], { env: { WG_COLOR_MODE: 'always' } });
    expect(r.stdout).toBe(fixture('stateC.show-color.txt').replace('wgtsfx6', 'bravo'));
  });

  it('showconf', async () => {
    expect(await wgts(['showconf', 'alpha'])).toEqual({ code: 0, stdout: fixture('stateA.showconf.txt'), stderr: '' });
  });

  it('errors: missing interface (1), bad field or arguments (2)', async () => {
    const missing = await wgts(['show', 'nosuch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`Unable to access interface nosuch: no UAPI socket nosuch.sock in ${dir} (is it up?)\n`);
    const field = await wgts(['show', 'alpha', 'colour']);
    expect(field.code).toBe(2);
    expect(field.stderr.startsWith("Invalid parameter: `colour'\nUsage: wgts show")).toBe(true);
    expect((await wgts(['show', 'a', 'b', 'c'])).code).toBe(2);
    expect((await wgts(['showconf'])).code).toBe(2);
    expect((await wgts(['show', '../etc'])).code).toBe(2);
  });
});

describe('set / setconf / addconf / syncconf', () => {
  const B = '/l1risLub8HG6hQqde2xPQCg5Vv+SxOdzWba3TqUb5U=';

  it('set sends the body and reports errno', async () => {
    alpha.sets.length = 0;
    const ok = await wgts(['set', 'alpha', 'listen-port', '1234', 'peer', B, 'remove']);
    expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(alpha.sets).toEqual(['set=1\nlisten_port=1234\npublic_key=fe5d6b8ac2ee6fc1c6ea142a75edb13d00a0e55bfe4b139dcd66dadd3a946f95\nremove=true\n\n']);
    alpha.setReply = 'errno=-22\n\n';
    const refused = await wgts(['set', 'alpha', 'listen-port', '1']);
    alpha.setReply = 'errno=0\n\n';
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('Unable to modify interface alpha: the endpoint answered errno=22 (invalid argument)\n');
    const usage = await wgts(['set', 'alpha', 'bogus']);
    expect(usage.code).toBe(2);
    expect(usage.stderr.startsWith('Invalid argument: bogus\nUsage: wgts set')).toBe(true);
  });

  it('setconf, addconf and syncconf send what wg sends', async () => {
    alpha.sets.length = 0;
    for (const cmd of ['setconf', 'addconf', 'syncconf']) {
      const r = await wgts([cmd, 'alpha', join(FIX, 'conf1.conf')]);
      expect(r, cmd).toEqual({ code: 0, stdout: '', stderr: '' });
    }
    expect(alpha.sets).toEqual([fixture('conf1.setconf.txt'), fixture('conf1.addconf.txt'), fixture('conf1.syncconf.txt')]);
  });

  it('setconf refuses wg-quick keys, naming the line (2)', async () => {
    const r = await wgts(['setconf', 'alpha', join(ROOT, 'conf/server.conf')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${join(ROOT, 'conf/server.conf')}:9: Address: not a wg(8) key; this is a wg-quick or wgts config — use \`wgts strip ${join(ROOT, 'conf/server.conf')}\` first\n`);
  });

  it('setconf of an invalid or missing file', async () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, '[Interface]\nListenPort = 99999\n');
    const r = await wgts(['setconf', 'alpha', bad]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `${bad}:2: ListenPort: expected a UDP port number 0-65535, got \`99999'\n` });
    const missing = await wgts(['setconf', 'alpha', join(dir, 'missing.conf')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`\`${join(dir, 'missing.conf')}' does not exist\n`);
  });
});

describe('strip / up / down', () => {
  it('strip prints the wg part', async () => {
    const r = await wgts(['strip', join(ROOT, 'conf/server.conf')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[Interface]\nPrivateKey = ');
    expect(r.stdout).not.toMatch(/Address|Netstack|Status/);
    const bad = join(dir, 'wg9.conf');
    writeFileSync(bad, '[Interface]\n[Peer]\nEndpoint = 1.2.3.4:5\n');
    expect(await wgts(['strip', bad])).toEqual({ code: 2, stdout: '', stderr: `${bad}:2: PublicKey: [Peer] section has no PublicKey (required)\n` });
    expect((await wgts(['strip', join(dir, 'none.conf')])).code).toBe(1);
  });

  it('up: argument and config errors', async () => {
    expect((await wgts(['up'])).code).toBe(2);
    const mode = await wgts(['up', join(ROOT, 'conf/server.conf'), '--mode', 'bridge']);
    expect(mode.code).toBe(2);
    const usage = 'Usage: wgts up { PATH | NAME } [--mode netstack|tun] [--log-level LEVEL] [--user NAME[:GROUP]]\n';
    expect(mode.stderr).toBe(`Invalid --mode \`bridge' (expected netstack or tun)\n${usage}`);
    const user = await wgts(['up', join(ROOT, 'conf/server.conf'), '--mode', 'tun', '--user', 'no body']);
    expect(user).toEqual({ code: 2, stdout: '', stderr: `Invalid --user \`no body' (expected NAME or NAME:GROUP)\n${usage}` });
    const netstackUser = await wgts(['up', join(ROOT, 'conf/server.conf'), '--user=nobody']);
    expect(netstackUser).toEqual({ code: 2, stdout: '', stderr: `--user applies to --mode tun (netstack mode needs no root)\n${usage}` });
    expect((await wgts(['up', join(dir, 'not a name!.conf')])).code).toBe(2);
    expect((await wgts(['up', join(dir, 'absent.conf')])).code).toBe(1);
    const bad = join(dir, 'wg9.conf');
    writeFileSync(bad, '[Interface]\nMTU = 9\n');
    expect(await wgts(['up', bad, '--log-level=debug'])).toEqual({ code: 2, stdout: '', stderr: `${bad}:2: MTU: expected an MTU 576-65535, got \`9'\n` });
  });

  it('down: SIGTERM to the pid next to the socket', async () => {
    const sleeper: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => sleeper.on('exit', (_c, sig) => r(sig)));
    writeFileSync(join(dir, 'alpha.pid'), `${sleeper.pid}\n`);
    const r = await wgts(['down', 'alpha']);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await exited).toBe('SIGTERM');
    const stale = await wgts(['down', 'alpha']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('is not running (stale pid file)');
    const nopid = await wgts(['down', 'bravo']);
    expect(nopid.code).toBe(1);
    expect(nopid.stderr).toContain(`has no pid file ${join(dir, 'bravo.pid')}`);
    expect((await wgts(['down', 'nosuch'])).code).toBe(1);
  });
});
