/**
 * `wgts up --mode tun` planning against what the real wg-quick runs.
 *
 * The expected lines are wg-quick's own `[#]` output, captured by running
 * Debian's /usr/bin/wg-quick (with wireguard-go, in a throwaway network
 * namespace, with logging stubs for nft/resolvconf/iptables-restore) on the
 * same configs. `fromWgQuick` applies the known, deliberate differences:
 * no `ip link add … type wireguard` attempt, our daemon instead of
 * wireguard-go, and nft reading its script from stdin.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import { formatShowconf } from '../../src/cli/show-format.js';
import { parseUapiGet } from '../../src/config/uapi.js';
import {
  allowedIPsFromConfig,
  autoMtu,
  kernelPrefixRoutes,
  planDns,
  planRoutes,
  planTeardown,
  planUp,
  resolvconfName,
  routeCovers,
  saveConfigText,
  showAction,
  sortAllowedIPs,
  substituteHook,
  type Action,
} from '../../src/cli/tun-plan.js';
import { effectiveLogLevel, createLogger, parseBriefAddrs, parseMtu, parseDev, parseOneLineAddrs, parseRoutePrefixes, parseUsedTables } from '../../src/cli/tun-exec.js';
import { readState, statePath, writeFileAtomic, writeState, type TunState } from '../../src/cli/tun-state.js';
import { parsePrefix } from '../../src/config/ip.js';

const PRIV = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const PEER1 = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const PEER2 = 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=';

/** wg-quick's `[#]` lines → ours (see the header comment). */
function fromWgQuick(text: string): string[] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.replace(/^\[#\] /, ''))
    .filter((l) => !/^ip link add \S+ type wireguard$/.test(l))
    .map((l) => l.replace(/^wireguard-go /, 'wireguard-ts ').replace(/^nft -f \/dev\/fd\/63$/, 'nft -f -'));
}

const lines = (actions: Action[]): string[] => actions.map(showAction);

const WGQ1 = `[Interface]
PrivateKey = ${PRIV}
ListenPort = 51000
Address = 10.9.0.1/24, fd09::1/64
DNS = 10.9.0.53, fd09::53, example.com
PreUp = echo preup %i
PostUp = echo postup %i; echo again %i
PreDown = echo predown %i
PostDown = echo postdown %i

[Peer]
PublicKey = ${PEER1}
AllowedIPs = 10.9.0.2/32, 10.9.0.0/24, 10.10.0.0/16, fd09::2/128, fd10::/48, 10.9.0.7/32
Endpoint = 192.168.77.2:51001

[Peer]
PublicKey = ${PEER2}
AllowedIPs = 172.16.5.5/32, 10.11.0.1/24
`;

const WGQ2 = `[Interface]
PrivateKey = ${PRIV}
Address = 10.9.0.1/32, fd09::1/128
[Peer]
PublicKey = ${PEER1}
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = 192.168.77.2:51001
`;

const WGQ3 = `[Interface]
PrivateKey = ${PRIV}
Address = 10.9.0.1/24
Table = 1234
MTU = 1380
[Peer]
PublicKey = ${PEER1}
AllowedIPs = 0.0.0.0/0, 10.10.0.0/16, fd10::/48
`;

const WGQ4 = `[Interface]
PrivateKey = ${PRIV}
FwMark = 0x1234
Address = 10.9.0.1/24
[Peer]
PublicKey = ${PEER1}
AllowedIPs = 0.0.0.0/0
Endpoint = 192.168.77.2:51001
`;

const WGQ5 = `[Interface]
PrivateKey = ${PRIV}
Address = 10.9.0.1/24
Table = off
[Peer]
PublicKey = ${PEER1}
AllowedIPs = 10.10.0.0/16
`;

const cfg = (text: string, name = 'wgq.conf') => parseConfig(text, name);

describe('planUp matches wg-quick', () => {
  it('addresses, MTU from the endpoint route, DNS with search domain, routes skipping covered prefixes, hooks with %i', () => {
    const plan = planUp(cfg(WGQ1), 'wgq1', { endpointRouteMtus: [1500], firewall: 'nft' });
    expect(lines(plan)).toEqual(
      fromWgQuick(`[#] echo preup wgq1
[#] ip link add wgq1 type wireguard
[#] wireguard-go wgq1
[#] wg setconf wgq1 /dev/fd/63
[#] ip -4 address add 10.9.0.1/24 dev wgq1
[#] ip -6 address add fd09::1/64 dev wgq1
[#] ip link set mtu 1420 up dev wgq1
[#] resolvconf -a wgq1 -m 0 -x
[#] ip -6 route add fd10::/48 dev wgq1
[#] ip -4 route add 172.16.5.5/32 dev wgq1
[#] ip -4 route add 10.11.0.0/24 dev wgq1
[#] ip -4 route add 10.10.0.0/16 dev wgq1
[#] echo postup wgq1; echo again wgq1`),
    );
    const dns = plan.find((a) => a.kind === 'cmd' && a.argv[0] === 'resolvconf');
    expect(dns).toEqual({ kind: 'cmd', argv: ['resolvconf', '-a', 'wgq1', '-m', '0', '-x'], stdin: 'nameserver 10.9.0.53\nnameserver fd09::53\nsearch example.com\n' });
    expect(plan[0]).toEqual({ kind: 'hook', script: 'echo preup wgq1' });
  });

  it('default routes for IPv4 and IPv6: fwmark 51820, table, rules, nft marks (::/0 first, as sort -r puts it)', () => {
    const plan = planUp(cfg(WGQ2), 'wgq2', {
      endpointRouteMtus: [1500],
      firewall: 'nft',
      existingRoutes: ['10.9.0.1/32', 'fd09::1/128', 'fe80::/64'],
      interfaceAddresses: { 4: ['10.9.0.1'], 6: ['fd09::1', 'fe80::80c4:50df:9837:b070'] },
    });
    expect(lines(plan)).toEqual(
      fromWgQuick(`[#] ip link add wgq2 type wireguard
[#] wireguard-go wgq2
[#] wg setconf wgq2 /dev/fd/63
[#] ip -4 address add 10.9.0.1/32 dev wgq2
[#] ip -6 address add fd09::1/128 dev wgq2
[#] ip link set mtu 1420 up dev wgq2
[#] wg set wgq2 fwmark 51820
[#] ip -6 route add ::/0 dev wgq2 table 51820
[#] ip -6 rule add not fwmark 51820 table 51820
[#] ip -6 rule add table main suppress_prefixlength 0
[#] nft -f /dev/fd/63
[#] ip -4 route add 0.0.0.0/0 dev wgq2 table 51820
[#] ip -4 rule add not fwmark 51820 table 51820
[#] ip -4 rule add table main suppress_prefixlength 0
[#] sysctl -q net.ipv4.conf.all.src_valid_mark=1
[#] nft -f /dev/fd/63`),
    );
    const nft = plan.filter((a): a is Extract<Action, { kind: 'cmd' }> => a.kind === 'cmd' && a.argv[0] === 'nft').map((a) => a.stdin);
    // Byte for byte what wg-quick fed to nft (note the space before the newline on the mark rules).
    expect(nft).toEqual([
      `add table ip6 wg-quick-wgq2
add chain ip6 wg-quick-wgq2 preraw { type filter hook prerouting priority -300; }
add chain ip6 wg-quick-wgq2 premangle { type filter hook prerouting priority -150; }
add chain ip6 wg-quick-wgq2 postmangle { type filter hook postrouting priority -150; }
add rule ip6 wg-quick-wgq2 preraw iifname != "wgq2" ip6 daddr fd09::1 fib saddr type != local drop
add rule ip6 wg-quick-wgq2 preraw iifname != "wgq2" ip6 daddr fe80::80c4:50df:9837:b070 fib saddr type != local drop
add rule ip6 wg-quick-wgq2 postmangle meta l4proto udp mark 51820 ct mark set mark 
add rule ip6 wg-quick-wgq2 premangle meta l4proto udp meta mark set ct mark 
`,
      `add table ip wg-quick-wgq2
add chain ip wg-quick-wgq2 preraw { type filter hook prerouting priority -300; }
add chain ip wg-quick-wgq2 premangle { type filter hook prerouting priority -150; }
add chain ip wg-quick-wgq2 postmangle { type filter hook postrouting priority -150; }
add rule ip wg-quick-wgq2 preraw iifname != "wgq2" ip daddr 10.9.0.1 fib saddr type != local drop
add rule ip wg-quick-wgq2 postmangle meta l4proto udp mark 51820 ct mark set mark 
add rule ip wg-quick-wgq2 premangle meta l4proto udp meta mark set ct mark 
`,
    ]);
    const fw = plan.find((a) => a.kind === 'uapi' && a.argv[1] === 'set');
    expect(fw).toEqual({ kind: 'uapi', argv: ['wg', 'set', 'wgq2', 'fwmark', '51820'], body: 'set=1\nfwmark=51820\n\n' });
  });

  it('default routes without nft: iptables-restore scripts as wg-quick writes them', () => {
    const c = cfg(WGQ2);
    const { actions, undo } = planRoutes(c, 'wgq2', allowedIPsFromConfig(c), {
      fwmark: 0,
      existingRoutes: [],
      usedTables: [],
      firewall: 'iptables',
      interfaceAddresses: { 4: ['10.9.0.1'], 6: ['fd09::1', 'fe80::a919:ec38:e9f8:e79c'] },
    });
    const ipt = actions.filter((a): a is Extract<Action, { kind: 'cmd' }> => a.kind === 'cmd' && a.argv[0]!.endsWith('tables-restore'));
    expect(ipt.map((a) => a.argv.join(' '))).toEqual(['ip6tables-restore -n', 'iptables-restore -n']);
    const m = '-m comment --comment "wg-quick(8) rule for wgq2"';
    expect(ipt[0]!.stdin).toBe(
      `*raw\n-I PREROUTING ! -i wgq2 -d fd09::1 -m addrtype ! --src-type LOCAL -j DROP ${m}\n-I PREROUTING ! -i wgq2 -d fe80::a919:ec38:e9f8:e79c -m addrtype ! --src-type LOCAL -j DROP ${m}\nCOMMIT\n*mangle\n-I POSTROUTING -m mark --mark 51820 -p udp -j CONNMARK --save-mark ${m}\n-I PREROUTING -p udp -j CONNMARK --restore-mark ${m}\nCOMMIT\n`,
    );
    expect(ipt[1]!.stdin).toBe(
      `*raw\n-I PREROUTING ! -i wgq2 -d 10.9.0.1 -m addrtype ! --src-type LOCAL -j DROP ${m}\nCOMMIT\n*mangle\n-I POSTROUTING -m mark --mark 51820 -p udp -j CONNMARK --save-mark ${m}\n-I PREROUTING -p udp -j CONNMARK --restore-mark ${m}\nCOMMIT\n`,
    );
    // The undo deletes the same rules (-D for -I).
    expect(undo.firewall[1]!.undo).toEqual({
      kind: 'cmd',
      argv: ['iptables-restore', '-n'],
      stdin: `*raw\n-D PREROUTING ! -i wgq2 -d 10.9.0.1 -m addrtype ! --src-type LOCAL -j DROP ${m}\nCOMMIT\n*mangle\n-D POSTROUTING -m mark --mark 51820 -p udp -j CONNMARK --save-mark ${m}\n-D PREROUTING -p udp -j CONNMARK --restore-mark ${m}\nCOMMIT\n`,
    });
  });

  it('Table = N: every prefix, /0 included, into table N, no rules; explicit MTU', () => {
    const plan = planUp(cfg(WGQ3), 'wgq3', { firewall: 'nft' });
    expect(lines(plan)).toEqual(
      fromWgQuick(`[#] ip link add wgq3 type wireguard
[#] wireguard-go wgq3
[#] wg setconf wgq3 /dev/fd/63
[#] ip -4 address add 10.9.0.1/24 dev wgq3
[#] ip link set mtu 1380 up dev wgq3
[#] ip -6 route add fd10::/48 dev wgq3 table 1234
[#] ip -4 route add 10.10.0.0/16 dev wgq3 table 1234
[#] ip -4 route add 0.0.0.0/0 dev wgq3 table 1234`),
    );
  });

  it('FwMark in the config becomes the table; no wg set', () => {
    const plan = planUp(cfg(WGQ4), 'wgq4', { endpointRouteMtus: [1500], firewall: 'nft' });
    expect(lines(plan)).toEqual(
      fromWgQuick(`[#] ip link add wgq4 type wireguard
[#] wireguard-go wgq4
[#] wg setconf wgq4 /dev/fd/63
[#] ip -4 address add 10.9.0.1/24 dev wgq4
[#] ip link set mtu 1420 up dev wgq4
[#] ip -4 route add 0.0.0.0/0 dev wgq4 table 4660
[#] ip -4 rule add not fwmark 4660 table 4660
[#] ip -4 rule add table main suppress_prefixlength 0
[#] sysctl -q net.ipv4.conf.all.src_valid_mark=1
[#] nft -f /dev/fd/63`),
    );
  });

  it('Table = off: no routes; MTU from the default route when no peer has an endpoint', () => {
    const plan = planUp(cfg(WGQ5), 'wgq5', { defaultRouteMtu: 1500 });
    expect(lines(plan)).toEqual(
      fromWgQuick(`[#] ip link add wgq5 type wireguard
[#] wireguard-go wgq5
[#] wg setconf wgq5 /dev/fd/63
[#] ip -4 address add 10.9.0.1/24 dev wgq5
[#] ip link set mtu 1420 up dev wgq5`),
    );
  });

  it('add_default skips tables that already hold routes', () => {
    const c = cfg(WGQ2);
    const { actions } = planRoutes(c, 'wg0', ['0.0.0.0/0'], { fwmark: 0, existingRoutes: [], usedTables: [51820, 51821, 51823], firewall: 'none', interfaceAddresses: { 4: [], 6: [] } });
    expect(lines(actions)).toEqual([
      'wg set wg0 fwmark 51822',
      'ip -4 route add 0.0.0.0/0 dev wg0 table 51822',
      'ip -4 rule add not fwmark 51822 table 51822',
      'ip -4 rule add table main suppress_prefixlength 0',
      'sysctl -q net.ipv4.conf.all.src_valid_mark=1',
    ]);
  });

  it('a route added for a shorter prefix does not hide a longer one; an added one covers later ones', () => {
    const c = cfg(WGQ5.replace('Table = off\n', ''));
    const { actions } = planRoutes(c, 'wg0', ['10.1.0.0/16', '10.1.2.3/32', '10.1.0.0/24', '10.2.0.0/16', '10.2.3.0/24'], {
      fwmark: 0,
      existingRoutes: ['10.2.0.0/16'],
      usedTables: [],
      firewall: 'none',
      interfaceAddresses: { 4: [], 6: [] },
    });
    // Longest first: /32 and /24 are added before the /16 that would have covered them.
    expect(lines(actions)).toEqual(['ip -4 route add 10.1.2.3/32 dev wg0', 'ip -4 route add 10.1.0.0/24 dev wg0', 'ip -4 route add 10.1.0.0/16 dev wg0']);
  });
});

describe('MTU, DNS, hooks', () => {
  it('autoMtu: largest endpoint route MTU, else the default route, else 1500; minus 80', () => {
    expect(autoMtu([1500])).toBe(1420);
    expect(autoMtu([1500, 9000, undefined])).toBe(8920);
    expect(autoMtu([undefined], 1400)).toBe(1320);
    expect(autoMtu([], 65536)).toBe(65456);
    expect(autoMtu([])).toBe(1420);
    expect(autoMtu([undefined], undefined)).toBe(1420);
    // The default route is only consulted when no endpoint gave an MTU.
    expect(autoMtu([1280], 9000)).toBe(1200);
  });

  it('IPv6 endpoint route MTU in the plan', () => {
    const c = cfg(WGQ1.replace('Endpoint = 192.168.77.2:51001', 'Endpoint = [fd77::2]:51001'));
    const plan = planUp(c, 'wg6', { endpointRouteMtus: [1280] });
    expect(lines(plan)).toContain('ip link set mtu 1200 up dev wg6');
  });

  it('%i is replaced everywhere, nothing else is touched', () => {
    expect(substituteHook('iptables -A FORWARD -i %i -j ACCEPT; ip link show %i', 'wg0')).toBe('iptables -A FORWARD -i wg0 -j ACCEPT; ip link show wg0');
    expect(substituteHook('echo %%i %I $i %', 'x')).toBe('echo %x %I $i %');
  });

  it('DNS: nothing without nameservers; search only with them; resolvconf interface-order prefix', () => {
    expect(planDns(cfg(WGQ5), 'wg0')).toEqual([]);
    expect(planDns(cfg(WGQ5.replace('Table = off', 'DNS = corp.example')), 'wg0')).toEqual([]);
    expect(resolvconfName('wg0', undefined)).toBe('wg0');
    expect(resolvconfName('wg0', '# comment\nlo.inet*\nlo.dnsmasq\ntun*\ntap*\nwg*\n*\n')).toBe('tun.wg0');
    expect(resolvconfName('wg0', 'lo.inet*\n*\n')).toBe('wg0');
  });
});

describe('sorting and matching like wg-quick', () => {
  it('sort -nr -k 2 -t / with C-locale tie breaks (reversed)', () => {
    expect(sortAllowedIPs(['10.0.0.2/32', '10.0.0.1/32', '0.0.0.0/0', '::/0', 'fd00::/64', '10.0.0.0/24', '192.168.0.0/16', 'fd00::1/128'])).toEqual([
      'fd00::1/128',
      'fd00::/64',
      '10.0.0.2/32',
      '10.0.0.1/32',
      '10.0.0.0/24',
      '192.168.0.0/16',
      '::/0',
      '0.0.0.0/0',
    ]);
  });

  it('agrees with GNU sort on random prefix lists', () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 32 })).map(([a, b, l]) => `${a}.${b}.0.0/${l}`);
    const v6 = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 128 })).map(([a, l]) => `fd${(a & 0xff).toString(16)}::${a.toString(16)}/${l}`);
    // One sort(1) run for many lists: checked afterwards, list by list.
    const lists = fc.sample(fc.uniqueArray(fc.oneof(v4, v6), { minLength: 1, maxLength: 12 }), { seed: 42, numRuns: 40 });
    for (const list of lists) {
      const r = spawnSync('sort', ['-nr', '-k', '2', '-t', '/'], { input: list.join('\n') + '\n', env: { LC_ALL: 'C', PATH: process.env.PATH }, encoding: 'utf8' });
      expect(sortAllowedIPs(list)).toEqual(r.stdout.trim().split('\n'));
    }
  });

  it('routeCovers is `ip route show match` containment', () => {
    const p = (s: string) => parsePrefix(s)!;
    expect(routeCovers(p('10.0.0.0/24'), p('10.0.0.7/32'))).toBe(true);
    expect(routeCovers(p('10.0.0.0/24'), p('10.0.0.0/24'))).toBe(true);
    expect(routeCovers(p('10.0.0.0/24'), p('10.0.0.0/16'))).toBe(false);
    expect(routeCovers(p('10.0.1.0/24'), p('10.0.0.7/32'))).toBe(false);
    expect(routeCovers(p('fd09::/64'), p('fd09::2/128'))).toBe(true);
    expect(routeCovers(p('fd09::/64'), p('10.0.0.0/8'))).toBe(false);
    expect(routeCovers(p('0.0.0.0/0'), p('1.2.3.4/32'))).toBe(true);
  });

  it('allowed IPs as wg show prints them: masked, once each', () => {
    expect(allowedIPsFromConfig(cfg(WGQ1))).toEqual(['10.9.0.2/32', '10.9.0.0/24', '10.10.0.0/16', 'fd09::2/128', 'fd10::/48', '10.9.0.7/32', '172.16.5.5/32', '10.11.0.0/24']);
    expect(kernelPrefixRoutes(cfg(WGQ2).interface.addresses)).toEqual(['fd09::1/128']);
    expect(kernelPrefixRoutes(cfg(WGQ1).interface.addresses)).toEqual(['10.9.0.0/24', 'fd09::/64']);
  });
});

describe('down and SaveConfig', () => {
  it('teardown: rules (IPv4 first), link, DNS, firewall', () => {
    const c = cfg(WGQ2);
    const { undo } = planRoutes(c, 'wgq2', allowedIPsFromConfig(c), { fwmark: 0, existingRoutes: [], usedTables: [], firewall: 'nft', interfaceAddresses: { 4: ['10.9.0.1'], 6: ['fd09::1'] } });
    const td = planTeardown({ iface: 'wgq2', dnsName: 'tun.wgq2', rules: undo.rules, firewall: undo.firewall });
    expect(td.map((a) => showAction(a) + (a.kind === 'cmd' && a.stdin ? ` <<< ${a.stdin.trim()}` : ''))).toEqual([
      'ip -4 rule delete not fwmark 51820 table 51820',
      'ip -4 rule delete table main suppress_prefixlength 0',
      'ip -6 rule delete not fwmark 51820 table 51820',
      'ip -6 rule delete table main suppress_prefixlength 0',
      'ip link delete dev wgq2',
      'resolvconf -d tun.wgq2 -f',
      'nft -f - <<< delete table ip6 wg-quick-wgq2',
      'nft -f - <<< delete table ip wg-quick-wgq2',
    ]);
    expect(lines(planTeardown({ iface: 'wg0', rules: [], firewall: [] }))).toEqual(['ip link delete dev wg0']);
  });

  const SHOWCONF_GET = [
    `private_key=${Buffer.from(PRIV, 'base64').toString('hex')}`,
    'listen_port=51001',
    'fwmark=51820',
    `public_key=${Buffer.from(PEER1, 'base64').toString('hex')}`,
    'preshared_key=0000000000000000000000000000000000000000000000000000000000000000',
    'endpoint=192.168.77.1:51000',
    'persistent_keepalive_interval=25',
    'allowed_ip=10.9.0.1/32',
    'allowed_ip=fd09::1/128',
    'errno=0',
    '',
    '',
  ].join('\n');

  it('the file wg-quick save_config writes', () => {
    const c = cfg(`[Interface]
PrivateKey = ${PRIV}
Address = 10.9.0.2/24
MTU = 1400
Table = auto
DNS = 10.9.0.53
SaveConfig = true
PreUp = echo %i up
PostDown = echo %i down

[Peer]
PublicKey = ${PEER1}
AllowedIPs = 10.9.0.1/32
`);
    const showconf = formatShowconf(parseUapiGet(SHOWCONF_GET));
    const text = saveConfigText({ showconf, addresses: ['10.9.0.2/24', 'fd09::2/64'], dns: ['10.9.0.53'], mtu: 1380, cfg: c });
    expect(text).toBe(`[Interface]
Address = 10.9.0.2/24
Address = fd09::2/64
DNS = 10.9.0.53
MTU = 1380
Table = auto
SaveConfig = true
PreUp = echo %i up
PostDown = echo %i down
ListenPort = 51001
FwMark = 0xca6c
PrivateKey = ${PRIV}

[Peer]
PublicKey = ${PEER1}
AllowedIPs = 10.9.0.1/32, fd09::1/128
Endpoint = 192.168.77.1:51000
PersistentKeepalive = 25
`);
    // What it writes parses back, and the running values win over the file's.
    const back = parseConfig(text, 'saved.conf');
    expect(back.interface.mtu).toBe(1380);
    expect(back.interface.fwMark).toBe(51820);
    expect(back.peers[0]!.persistentKeepalive).toBe(25);
  });

  it('no MTU line when the config had none; a device without peers', () => {
    const c = cfg(`[Interface]\nPrivateKey = ${PRIV}\nSaveConfig = true\n`);
    const showconf = formatShowconf(parseUapiGet(`private_key=${'11'.repeat(32)}\nlisten_port=4000\nerrno=0\n\n`));
    const text = saveConfigText({ showconf, addresses: [], dns: [], mtu: 1420, cfg: c });
    expect(text).toMatch(/^\[Interface\]\nSaveConfig = true\nListenPort = 4000\nPrivateKey = \S+\n$/);
  });
});

describe('kernel output parsers', () => {
  it('ip route / link / addr output', () => {
    expect(parseMtu('192.168.77.2 dev h8va src 192.168.77.1 uid 0 \n    cache mtu 9000')).toBe(9000);
    expect(parseMtu('192.168.77.2 dev h8va src 192.168.77.1 uid 0 \n    cache ')).toBeUndefined();
    expect(parseDev('192.168.77.2 dev h8va src 192.168.77.1 uid 0')).toBe('h8va');
    expect(parseMtu('2: h8va@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP')).toBe(1500);
    expect(parseRoutePrefixes('10.9.0.0/24 proto kernel scope link src 10.9.0.1 \n172.16.5.5 scope link \ndefault scope link \n', 4)).toEqual(['10.9.0.0/24', '172.16.5.5/32', '0.0.0.0/0']);
    expect(parseRoutePrefixes('fd09::1 proto kernel metric 256 pref medium\nfe80::/64 proto kernel metric 256 pref medium\nunreachable fd11::/64 metric 1024\n', 6)).toEqual([
      'fd09::1/128',
      'fe80::/64',
      'fd11::/64',
    ]);
    expect(parseUsedTables('default dev wgq2 table 51820 scope link \n10.10.0.0/16 dev x table 1234 scope link \nlocal 10.0.0.1 dev x table local\n').sort()).toEqual([1234, 51820]);
    expect(parseOneLineAddrs('5: wgq2    inet 10.9.0.1/32 scope global wgq2\\       valid_lft forever preferred_lft forever\n')).toEqual(['10.9.0.1']);
    expect(parseOneLineAddrs('5: wgq2    inet6 fd09::1/128 scope global \\       valid_lft forever\n5: wgq2    inet6 fe80::b56a:5ea6:28e3:c18e/64 scope link')).toEqual(['fd09::1', 'fe80::b56a:5ea6:28e3:c18e']);
    expect(parseBriefAddrs('wgq1             UNKNOWN        10.9.0.1/24 fd09::1/64 fe80::ad1d:e8c6:5d60:cb9c/64 \n')).toEqual(['10.9.0.1/24', 'fd09::1/64', 'fe80::ad1d:e8c6:5d60:cb9c/64']);
    expect(parseBriefAddrs('')).toEqual([]);
  });

  it('log levels: --log-level wins over LOG_LEVEL unless left at the default', () => {
    expect(effectiveLogLevel('info', { LOG_LEVEL: 'debug' })).toBe('debug');
    expect(effectiveLogLevel('error', { LOG_LEVEL: 'debug' })).toBe('error');
    expect(effectiveLogLevel('info', { LOG_LEVEL: 'nonsense' })).toBe('info');
    const out: string[] = [];
    const log = createLogger('warn', (l) => out.push(l));
    log.error('e');
    log.warn('w');
    log.info('i');
    log.debug('d');
    expect(out).toEqual(['error: e\n', 'warn: w\n']);
  });
});

describe('state file', () => {
  it('round-trips, is written atomically with mode 0600, and rejects what is not ours', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgts-tunstate-'));
    try {
      const s: TunState = {
        version: 1,
        mode: 'tun',
        iface: 'wg7',
        pid: 1234,
        daemonPid: 1235,
        configPath: '/etc/wireguard/wg7.conf',
        preDown: ['echo %i'],
        postDown: [],
        saveConfig: false,
        complete: true,
        dnsName: 'wg7',
        rules: [{ family: 4, spec: ['table', 'main', 'suppress_prefixlength', '0'] }],
        firewall: [{ tool: 'nft', family: 4, undo: { kind: 'cmd', argv: ['nft', '-f', '-'], stdin: 'delete table ip wg-quick-wg7\n' } }],
      };
      writeState(s, dir);
      expect(statSync(statePath('wg7', dir)).mode & 0o777).toBe(0o600);
      expect(readState('wg7', dir)).toEqual(s);
      expect(readState('wg8', dir)).toBeNull();
      writeFileAtomic(statePath('wg7', dir), JSON.stringify({ ...s, rules: [{ family: 5, spec: [] }] }));
      expect(readState('wg7', dir)).toBeNull();
      writeFileAtomic(statePath('wg7', dir), JSON.stringify({ ...s, dnsName: ['x'] }));
      expect(readState('wg7', dir)).toBeNull();
      writeFileAtomic(statePath('wg7', dir), '{not json');
      expect(readState('wg7', dir)).toBeNull();
      expect(readFileSync(statePath('wg7', dir), 'utf8')).toBe('{not json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
