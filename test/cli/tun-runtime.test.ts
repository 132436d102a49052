/**
 * The tun-mode runtime without root: teardown order and hook handling with a
 * recording executor and canned kernel facts, the daemon command, the
 * non-root refusal, and `down` falling through when there is no state.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import { teardown, downFromState, type TeardownContext } from '../../src/cli/tun-down.js';
import { daemonCommand } from '../../src/cli/tun-up.js';
import { runEndpoint } from '../../src/cli/runtime.js';
import { createLogger, type Executor, type KernelFacts } from '../../src/cli/tun-exec.js';
import { showAction, type Action } from '../../src/cli/tun-plan.js';
import type { TunState } from '../../src/cli/tun-state.js';
import type { Cli } from '../../src/cli/context.js';
import { Readable } from 'node:stream';

const PRIV = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PEER1 = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

function recorder(failing: RegExp | null = null): { exec: Executor; ran: string[] } {
  const ran: string[] = [];
  const one = async (a: Action) => {
    ran.push(showAction(a));
    const code = failing && failing.test(showAction(a)) ? 1 : 0;
    return { code, stdout: '', stderr: code ? 'boom' : '' };
  };
  return { ran, exec: { run: one, tryRun: one } };
}

function fakeFacts(linkUp: boolean): KernelFacts {
  return {
    linkExists: async () => linkUp,
    briefAddresses: async () => ['10.9.0.2/24'],
    resolvconfNameservers: async () => undefined,
    linkMtu: async () => 1420,
  } as unknown as KernelFacts;
}

function tmpState(dir: string, conf: string): TunState {
  const configPath = join(dir, 'wgtst9.conf');
  writeFileSync(configPath, conf, { mode: 0o600 });
  return {
    version: 1,
    mode: 'tun',
    // Random enough not to meet a real interface; teardown only removes files named after it.
    iface: `wgtst${process.pid % 100000}`,
    pid: 999999999,
    configPath,
    preDown: ['echo old-predown %i'],
    postDown: ['echo old-postdown %i'],
    saveConfig: false,
    complete: true,
    dnsName: 'tun.x',
    rules: [
      { family: 6, spec: ['table', 'main', 'suppress_prefixlength', '0'] },
      { family: 4, spec: ['not', 'fwmark', '51820', 'table', '51820'] },
    ],
    firewall: [{ tool: 'nft', family: 4, undo: { kind: 'cmd', argv: ['nft', '-f', '-'], stdin: 'delete table ip wg-quick-x\n' } }],
  };
}

const CONF = `[Interface]\nPrivateKey = ${PRIV}\nAddress = 10.9.0.2/24\nPreDown = echo predown %i\nPostDown = echo postdown %i\n\n[Peer]\nPublicKey = ${PEER1}\nAllowedIPs = 0.0.0.0/0\n`;

describe('teardown', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('cmd_down order: PreDown (from the file as it is now), rules, link, DNS, firewall, PostDown', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wgts-td-'));
    const st = tmpState(dir, CONF);
    const { exec, ran } = recorder();
    const ctx: TeardownContext = { log: createLogger('silent'), exec, facts: fakeFacts(true), env: {}, stopDaemon: async () => undefined };
    expect(await teardown(st, ctx)).toBe(true);
    const i = st.iface;
    expect(ran).toEqual([
      `echo predown ${i}`,
      'ip -4 rule delete not fwmark 51820 table 51820',
      'ip -6 rule delete table main suppress_prefixlength 0',
      `ip link delete dev ${i}`,
      'resolvconf -d tun.x -f',
      'nft -f -',
      `echo postdown ${i}`,
    ]);
  });

  it('a failing step is reported but the rest still runs; the link already gone skips PreDown and the delete', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wgts-td-'));
    const st = tmpState(dir, CONF);
    const { exec, ran } = recorder(/^ip -4 rule/);
    const ok = await teardown(st, { log: createLogger('silent'), exec, facts: fakeFacts(false), env: {}, stopDaemon: async () => undefined });
    expect(ok).toBe(false);
    expect(ran).toEqual(['ip -4 rule delete not fwmark 51820 table 51820', 'ip -6 rule delete table main suppress_prefixlength 0', 'resolvconf -d tun.x -f', 'nft -f -', `echo postdown ${st.iface}`]);
  });

  it('after a failed up (skipHooks): undo only, no hooks; an unreadable config falls back to the recorded hooks', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wgts-td-'));
    const st = tmpState(dir, CONF);
    const r1 = recorder();
    await teardown(st, { log: createLogger('silent'), exec: r1.exec, facts: fakeFacts(true), env: {}, stopDaemon: async () => undefined, skipHooks: true });
    expect(r1.ran.some((l) => l.startsWith('echo'))).toBe(false);
    expect(r1.ran).toContain(`ip link delete dev ${st.iface}`);
    writeFileSync(st.configPath, 'garbage without sections');
    const r2 = recorder();
    await teardown(st, { log: createLogger('silent'), exec: r2.exec, facts: fakeFacts(true), env: {}, stopDaemon: async () => undefined });
    expect(r2.ran[0]).toBe(`echo old-predown ${st.iface}`);
    expect(r2.ran[r2.ran.length - 1]).toBe(`echo old-postdown ${st.iface}`);
  });

  it('SaveConfig needs the live device: with the link gone nothing is written', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wgts-td-'));
    const st = tmpState(dir, CONF.replace('Address', 'SaveConfig = true\nAddress'));
    const before = readFileSync(st.configPath, 'utf8');
    const mtime = statSync(st.configPath).mtimeMs;
    const { exec } = recorder();
    await teardown(st, { log: createLogger('silent'), exec, facts: fakeFacts(false), env: {}, stopDaemon: async () => undefined });
    expect(readFileSync(st.configPath, 'utf8')).toBe(before);
    expect(statSync(st.configPath).mtimeMs).toBe(mtime);
  });
});

describe('runtime entry', () => {
  afterEach(() => vi.restoreAllMocks());

  function cli(): Cli & { errText: () => string } {
    let err = '';
    return {
      prog: 'wgts',
      env: {},
      stdin: Readable.from([]),
      stdoutIsTTY: false,
      out: () => undefined,
      err: (t) => void (err += t),
      errText: () => err,
    };
  }

  it('tun mode refuses to run without root', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    const c = cli();
    const code = await runEndpoint({ configPath: '/x/wg0.conf', interfaceName: 'wg0', mode: 'tun', logLevel: 'info', config: parseConfig(CONF, 'wg0.conf'), configText: CONF, cli: c });
    expect(code).toBe(1);
    expect(c.errText()).toBe('error: wgts up --mode tun must be run as root (it creates wg0 and changes routes)\n');
  });

  it('the daemon: WGTS_TUN_DAEMON, else bin/wireguard-ts under this node', () => {
    expect(daemonCommand({ WGTS_TUN_DAEMON: 'wireguard-go' })).toEqual(['wireguard-go']);
    const [node, script] = daemonCommand({});
    expect(node).toBe(process.execPath);
    expect(script).toMatch(/\/bin\/wireguard-ts$/);
  });

  it('down without a state file for the name falls through (null)', async () => {
    expect(await downFromState(cli(), 'wgtsnostate')).toBeNull();
  });
});

describe('executor', () => {
  it('hooks run in bash with set -e -o pipefail, as inside wg-quick; output is logged', async () => {
    const { createExecutor } = await import('../../src/cli/tun-exec.js');
    const lines: string[] = [];
    const exec = createExecutor('wgx', createLogger('info', (l) => lines.push(l)), process.env);
    await exec.run({ kind: 'hook', script: 'echo out; echo err >&2' });
    expect(lines).toEqual(['info: [#] echo out; echo err >&2\n', 'info: out\n', 'info: err\n']);
    await expect(exec.run({ kind: 'hook', script: 'false; echo never' })).rejects.toThrow("`false; echo never' failed (exit 1)");
    await expect(exec.run({ kind: 'hook', script: 'false | true' })).rejects.toThrow('failed (exit 1)');
    const r = await exec.tryRun({ kind: 'hook', script: 'exit 7' });
    expect(r.code).toBe(7);
    expect(lines[lines.length - 1]).toBe("warn: `exit 7' failed (exit 7)\n");
  });

  it('runCommand: stdin in, missing program 127, bounded in time', async () => {
    const { runCommand } = await import('../../src/cli/tun-exec.js');
    expect(await runCommand(['cat'], { stdin: 'nameserver 10.0.0.53\n' })).toEqual({ code: 0, stdout: 'nameserver 10.0.0.53\n', stderr: '' });
    expect((await runCommand(['/nonexistent/wgts-no-such-tool'])).code).toBe(127);
    const t = await runCommand(['sleep', '5'], { timeoutMs: 100 });
    expect(t.code).toBe(128);
    expect(t.stderr).toContain('killed after 100 ms');
  });
});
