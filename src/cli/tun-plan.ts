/**
 * `wgts up --mode tun`: what wg-quick would run, as pure functions.
 *
 * wg-quick (Debian's wireguard-tools, /usr/bin/wg-quick) queries the kernel
 * between its steps (`ip route get`, `ip route show … match`, `wg show`). Here
 * those answers come in as "facts" and each phase is a pure function from
 * config + facts to the list of actions, so tests can compare against the
 * command lines the real script prints with its `[#]` echo. The runtime
 * (tun-up.ts) gathers the facts and runs the actions phase by phase.
 */
import { formatPrefix, parsePrefix, type IpFamily, type IpPrefix } from '../config/ip.js';
import type { WgConfig } from '../config/types.js';

/** One thing to run. `show` is the line wg-quick would echo after `[#] `. */
export type Action =
  | { kind: 'hook'; script: string }
  | { kind: 'cmd'; argv: string[]; stdin?: string }
  /** A device change wg-quick makes with `wg …`; we send the UAPI body instead. */
  | { kind: 'uapi'; argv: string[]; body: string };

/** The line wg-quick echoes for an action (after "[#] "). */
export function showAction(a: Action): string {
  if (a.kind === 'hook') return a.script;
  return a.argv.join(' ');
}

const cmd = (argv: string[], stdin?: string): Action => (stdin === undefined ? { kind: 'cmd', argv } : { kind: 'cmd', argv, stdin });

// ------------------------------------------------------------------ helpers

/** wg-quick's `[[ $1 == *:* ]] && proto=-6`. */
export function familyOf(prefixText: string): IpFamily {
  return prefixText.includes(':') ? 6 : 4;
}

function protoFlag(f: IpFamily): string {
  return f === 6 ? '-6' : '-4';
}

/** Clears host bits, as a device stores (and `wg show` prints) an AllowedIPs entry. */
export function maskPrefix(p: IpPrefix): IpPrefix {
  const out = new Uint8Array(p.address.length);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, p.prefix - i * 8));
    out[i] = p.address[i]! & ((0xff00 >> bits) & 0xff);
  }
  return { family: p.family, address: out, prefix: p.prefix };
}

/** `%i` → interface name, every occurrence (wg-quick's `${hook//%i/$INTERFACE}`). */
export function substituteHook(script: string, iface: string): string {
  return script.split('%i').join(iface);
}

/**
 * `… | sort -nr -k 2 -t /` under LC_ALL=C: longest prefix first; ties fall to
 * GNU sort's whole-line byte comparison, which -r reverses too.
 */
export function sortAllowedIPs(prefixes: readonly string[]): string[] {
  const len = (s: string): number => {
    const m = /\/([0-9]+)/.exec(s);
    return m ? Number(m[1]) : 0;
  };
  return [...prefixes].sort((a, b) => len(b) - len(a) || (a < b ? 1 : a > b ? -1 : 0));
}

/**
 * The AllowedIPs lines `wg show IFACE allowed-ips` yields after setconf:
 * masked, each prefix once (a device gives a prefix to one peer only), and
 * only what wg-quick's regex `^[0-9a-z:.]+/[0-9]+$` keeps.
 */
export function allowedIPsFromConfig(cfg: WgConfig): string[] {
  const seen = new Set<string>();
  for (const p of cfg.peers) for (const a of p.allowedIPs) seen.add(formatPrefix(maskPrefix(a)));
  return [...seen].filter((s) => /^[0-9a-z:.]+\/[0-9]+$/.test(s));
}

/** True if route `r` contains prefix `p` (what `ip route show match P` lists). */
export function routeCovers(r: IpPrefix, p: IpPrefix): boolean {
  if (r.family !== p.family || r.prefix > p.prefix) return false;
  const a = maskPrefix({ family: r.family, address: p.address, prefix: r.prefix });
  const b = maskPrefix(r);
  for (let i = 0; i < a.address.length; i++) if (a.address[i] !== b.address[i]) return false;
  return true;
}

/** The prefix routes the kernel adds on its own for interface addresses (main table). */
export function kernelPrefixRoutes(addresses: readonly IpPrefix[]): string[] {
  const out: string[] = [];
  for (const a of addresses) {
    const max = a.family === 4 ? 32 : 128;
    if (a.prefix < max) out.push(formatPrefix(maskPrefix(a)));
    else if (a.family === 6) out.push(formatPrefix(a));
  }
  return out;
}

// ------------------------------------------------------------------ up phases

export function planHooks(scripts: readonly string[], iface: string): Action[] {
  return scripts.map((s) => ({ kind: 'hook', script: substituteHook(s, iface) }));
}

/** `ip -4|-6 address add ADDR dev IFACE` for each Address, in file order. */
export function planAddresses(cfg: WgConfig, iface: string): Action[] {
  return cfg.interface.addresses.map((a) => cmd(['ip', protoFlag(a.family), 'address', 'add', formatPrefix(a), 'dev', iface]));
}

/**
 * wg-quick's get_mtu: the largest MTU of the routes toward the endpoints
 * (`ip route get`, else the route's device MTU); with none, the default
 * route's; with none, 1500. Minus 80 (IPv6 + UDP + WireGuard overhead).
 */
export function autoMtu(endpointRouteMtus: readonly (number | undefined)[], defaultRouteMtu?: number): number {
  let mtu = 0;
  for (const m of endpointRouteMtus) if (m !== undefined && m > mtu) mtu = m;
  if (mtu === 0 && defaultRouteMtu !== undefined && defaultRouteMtu > 0) mtu = defaultRouteMtu;
  if (mtu <= 0) mtu = 1500;
  return mtu - 80;
}

/** `ip link set mtu N up dev IFACE` (explicit MTU, or the auto value). */
export function planMtuUp(cfg: WgConfig, iface: string, auto: { endpointRouteMtus: readonly (number | undefined)[]; defaultRouteMtu?: number }): Action[] {
  const mtu = cfg.interface.mtu ?? autoMtu(auto.endpointRouteMtus, auto.defaultRouteMtu);
  return [cmd(['ip', 'link', 'set', 'mtu', String(mtu), 'up', 'dev', iface])];
}

/** The name resolvconf gets: a prefix from /etc/resolvconf/interface-order (e.g. "tun.") + IFACE. */
export function resolvconfName(iface: string, interfaceOrder?: string): string {
  if (interfaceOrder === undefined) return iface;
  for (const line of interfaceOrder.split('\n')) {
    const m = /^([A-Za-z0-9-]+)\*$/.exec(line.trim());
    if (m) return `${m[1]}.${iface}`;
  }
  return iface;
}

/** `resolvconf -a NAME -m 0 -x` fed nameserver/search lines; nothing without DNS servers. */
export function planDns(cfg: WgConfig, resolvName: string): Action[] {
  const { dns, dnsSearch } = cfg.interface;
  if (dns.length === 0) return [];
  let text = dns.map((d) => `nameserver ${d}\n`).join('');
  if (dnsSearch.length) text += `search ${dnsSearch.join(' ')}\n`;
  return [cmd(['resolvconf', '-a', resolvName, '-m', '0', '-x'], text)];
}

export function planDnsUndo(resolvName: string): Action {
  return cmd(['resolvconf', '-d', resolvName, '-f']);
}

export type FirewallTool = 'nft' | 'iptables' | 'none';

export interface RouteFacts {
  /** The device's fwmark after setconf (0 = off). */
  fwmark: number;
  /** Routes already on the device in the main table, per family, as prefixes ("10.0.0.0/24"). */
  existingRoutes: readonly string[];
  /** Routing table numbers that already hold routes (add_default skips them). */
  usedTables: readonly number[];
  firewall: FirewallTool;
  /** Addresses on the device per family (`ip -o addr show dev`), bare, for the firewall rules. */
  interfaceAddresses: { readonly 4: readonly string[]; readonly 6: readonly string[] };
}

/** What a route phase did that must be undone (the link deletion takes the routes themselves). */
export interface RouteUndo {
  rules: { family: IpFamily; spec: string[] }[];
  firewall: { tool: 'nft' | 'iptables'; family: IpFamily; undo: Action }[];
  fwmark?: number;
}

function nftScript(iface: string, family: IpFamily, table: number, addresses: readonly string[]): string {
  const pf = family === 6 ? 'ip6' : 'ip';
  const t = `wg-quick-${iface}`;
  let s = `add table ${pf} ${t}\n`;
  s += `add chain ${pf} ${t} preraw { type filter hook prerouting priority -300; }\n`;
  s += `add chain ${pf} ${t} premangle { type filter hook prerouting priority -150; }\n`;
  s += `add chain ${pf} ${t} postmangle { type filter hook postrouting priority -150; }\n`;
  for (const a of addresses) s += `add rule ${pf} ${t} preraw iifname != "${iface}" ${pf} daddr ${a} fib saddr type != local drop\n`;
  s += `add rule ${pf} ${t} postmangle meta l4proto udp mark ${table} ct mark set mark \n`;
  s += `add rule ${pf} ${t} premangle meta l4proto udp meta mark set ct mark \n`;
  return s;
}

function iptablesLines(iface: string, table: number, addresses: readonly string[]): { raw: string[]; mangle: string[] } {
  const marker = `-m comment --comment "wg-quick(8) rule for ${iface}"`;
  return {
    raw: addresses.map((a) => `-I PREROUTING ! -i ${iface} -d ${a} -m addrtype ! --src-type LOCAL -j DROP ${marker}`),
    mangle: [`-I POSTROUTING -m mark --mark ${table} -p udp -j CONNMARK --save-mark ${marker}`, `-I PREROUTING -p udp -j CONNMARK --restore-mark ${marker}`],
  };
}

function iptablesRestore(lines: { raw: string[]; mangle: string[] }, op: '-I' | '-D'): string {
  const fix = (l: string): string => (op === '-D' ? l.replace(/^-I /, '-D ') : l);
  return `*raw\n${lines.raw.map((l) => fix(l) + '\n').join('')}COMMIT\n*mangle\n${lines.mangle.map((l) => fix(l) + '\n').join('')}COMMIT\n`;
}

/**
 * Routes for AllowedIPs, longest prefix first (wg-quick's add_route / add_default):
 * Table=off adds none; Table=N puts every prefix, /0 included, into table N;
 * otherwise a /0 takes the policy-routing path (fwmark, table, `not fwmark`
 * and `suppress_prefixlength 0` rules, firewall marks), and other prefixes get
 * a main-table route unless a route on the device already covers them.
 */
export function planRoutes(cfg: WgConfig, iface: string, allowedIPs: readonly string[], facts: RouteFacts): { actions: Action[]; undo: RouteUndo } {
  const table = cfg.interface.table;
  const actions: Action[] = [];
  const undo: RouteUndo = { rules: [], firewall: [] };
  if (table === 'off') return { actions, undo };
  const existing: IpPrefix[] = [];
  for (const r of facts.existingRoutes) {
    const p = parsePrefix(r);
    if (p) existing.push(p);
  }
  let fwmark = facts.fwmark;
  const used = new Set(facts.usedTables);
  for (const text of sortAllowedIPs(allowedIPs)) {
    const p = parsePrefix(text);
    if (!p) continue;
    const fam = familyOf(text);
    const pf = protoFlag(fam);
    if (table !== undefined && table !== 'auto') {
      actions.push(cmd(['ip', pf, 'route', 'add', text, 'dev', iface, 'table', table]));
    } else if (text.endsWith('/0')) {
      if (fwmark === 0) {
        let t = 51820;
        while (used.has(t)) t++;
        fwmark = t;
        undo.fwmark = t;
        actions.push({ kind: 'uapi', argv: ['wg', 'set', iface, 'fwmark', String(t)], body: `set=1\nfwmark=${t}\n\n` });
      }
      const t = fwmark;
      actions.push(cmd(['ip', pf, 'route', 'add', text, 'dev', iface, 'table', String(t)]));
      // Any table with routes is skipped by the next search, ours included.
      used.add(t);
      const notFwmark = ['not', 'fwmark', String(t), 'table', String(t)];
      const suppress = ['table', 'main', 'suppress_prefixlength', '0'];
      actions.push(cmd(['ip', pf, 'rule', 'add', ...notFwmark]));
      undo.rules.push({ family: fam, spec: notFwmark });
      actions.push(cmd(['ip', pf, 'rule', 'add', ...suppress]));
      undo.rules.push({ family: fam, spec: suppress });
      const addrs = facts.interfaceAddresses[fam];
      if (fam === 4) actions.push(cmd(['sysctl', '-q', 'net.ipv4.conf.all.src_valid_mark=1']));
      if (facts.firewall === 'nft') {
        actions.push(cmd(['nft', '-f', '-'], nftScript(iface, fam, t, addrs)));
        undo.firewall.push({ tool: 'nft', family: fam, undo: cmd(['nft', '-f', '-'], `delete table ${fam === 6 ? 'ip6' : 'ip'} wg-quick-${iface}\n`) });
      } else if (facts.firewall === 'iptables') {
        const ipt = fam === 6 ? 'ip6tables-restore' : 'iptables-restore';
        const lines = iptablesLines(iface, t, addrs);
        actions.push(cmd([ipt, '-n'], iptablesRestore(lines, '-I')));
        undo.firewall.push({ tool: 'iptables', family: fam, undo: cmd([ipt, '-n'], iptablesRestore(lines, '-D')) });
      }
    } else if (!existing.some((r) => routeCovers(r, p))) {
      actions.push(cmd(['ip', pf, 'route', 'add', text, 'dev', iface]));
      existing.push(p);
    }
  }
  return { actions, undo };
}

export interface UpFacts {
  endpointRouteMtus?: readonly (number | undefined)[];
  defaultRouteMtu?: number;
  /** Default: the prefix routes the kernel derives from the config's addresses. */
  existingRoutes?: readonly string[];
  usedTables?: readonly number[];
  firewall?: FirewallTool;
  /** Default: the config's addresses, in file order. */
  interfaceAddresses?: { 4: string[]; 6: string[] };
  /** Default: from the config (masked, deduplicated). */
  allowedIPs?: readonly string[];
  /** /etc/resolvconf/interface-order contents, if that file exists. */
  resolvconfInterfaceOrder?: string;
  /** The command that creates the interface (default wireguard-ts). */
  daemon?: string;
}

export function configAddressesByFamily(cfg: WgConfig): { 4: string[]; 6: string[] } {
  const out: { 4: string[]; 6: string[] } = { 4: [], 6: [] };
  for (const a of cfg.interface.addresses) out[a.family].push(formatPrefix(a).replace(/\/[0-9]+$/, ''));
  return out;
}

/**
 * The whole of wg-quick's cmd_up for a config, with the kernel's answers
 * given as facts: what tests compare against the real script's `[#]` lines.
 * The daemon start and setconf appear as the lines wg-quick prints for them
 * (its failing `ip link add IFACE type wireguard` try is left out).
 */
export function planUp(cfg: WgConfig, iface: string, facts: UpFacts = {}): Action[] {
  const out: Action[] = [];
  out.push(...planHooks(cfg.interface.preUp, iface));
  out.push(cmd([facts.daemon ?? 'wireguard-ts', iface]));
  out.push({ kind: 'uapi', argv: ['wg', 'setconf', iface, '/dev/fd/63'], body: '' });
  out.push(...planAddresses(cfg, iface));
  out.push(...planMtuUp(cfg, iface, { endpointRouteMtus: facts.endpointRouteMtus ?? [], defaultRouteMtu: facts.defaultRouteMtu }));
  out.push(...planDns(cfg, resolvconfName(iface, facts.resolvconfInterfaceOrder)));
  const routes = planRoutes(cfg, iface, facts.allowedIPs ?? allowedIPsFromConfig(cfg), {
    fwmark: cfg.interface.fwMark ?? 0,
    existingRoutes: facts.existingRoutes ?? kernelPrefixRoutes(cfg.interface.addresses),
    usedTables: facts.usedTables ?? [],
    firewall: facts.firewall ?? 'nft',
    interfaceAddresses: facts.interfaceAddresses ?? configAddressesByFamily(cfg),
  });
  out.push(...routes.actions);
  out.push(...planHooks(cfg.interface.postUp, iface));
  return out;
}

// ------------------------------------------------------------------ down

/** What `wgts up` applied, recorded so that `down` can undo it (also after a crash). */
export interface AppliedState {
  iface: string;
  /** resolvconf name, when DNS was set. */
  dnsName?: string;
  rules: { family: IpFamily; spec: string[] }[];
  firewall: { tool: 'nft' | 'iptables'; family: IpFamily; undo: Action }[];
}

/**
 * wg-quick's cmd_down, from what was recorded: the policy rules (IPv4 first,
 * exactly the ones we added, once each — wg-quick deletes every rule naming
 * the table), the link (its routes go with it), then DNS and the firewall.
 */
export function planTeardown(s: AppliedState): Action[] {
  const out: Action[] = [];
  const rules = [...s.rules.filter((r) => r.family === 4), ...s.rules.filter((r) => r.family === 6)];
  for (const r of rules) out.push(cmd(['ip', protoFlag(r.family), 'rule', 'delete', ...r.spec]));
  out.push(cmd(['ip', 'link', 'delete', 'dev', s.iface]));
  if (s.dnsName !== undefined) out.push(planDnsUndo(s.dnsName));
  for (const f of s.firewall) out.push(f.undo);
  return out;
}

// ------------------------------------------------------------------ SaveConfig

export interface SaveConfigInput {
  /** `wg showconf IFACE` output. */
  showconf: string;
  /** Addresses now on the interface (`ip -brief address show dev`), e.g. "10.0.0.1/24". */
  addresses: readonly string[];
  /** Nameservers to record (wg-quick takes them from `resolvconf -l`). */
  dns: readonly string[];
  /** The interface MTU now, recorded only when the config had an MTU. */
  mtu?: number;
  cfg: WgConfig;
}

/**
 * wg-quick's save_config: an [Interface] head with Address, DNS, MTU, Table,
 * SaveConfig and the hooks (unexpanded), spliced in place of showconf's
 * "[Interface]\n"; `$(…)` drops trailing newlines and echo adds one.
 */
export function saveConfigText(inp: SaveConfigInput): string {
  const itf = inp.cfg.interface;
  let head = '[Interface]\n';
  for (const a of inp.addresses) head += `Address = ${a}\n`;
  for (const d of inp.dns) head += `DNS = ${d}\n`;
  if (itf.mtu !== undefined && inp.mtu !== undefined) head += `MTU = ${inp.mtu}\n`;
  if (itf.table !== undefined) head += `Table = ${itf.table}\n`;
  if (itf.saveConfig) head += 'SaveConfig = true\n';
  for (const c of itf.preUp) head += `PreUp = ${c}\n`;
  for (const c of itf.postUp) head += `PostUp = ${c}\n`;
  for (const c of itf.preDown) head += `PreDown = ${c}\n`;
  for (const c of itf.postDown) head += `PostDown = ${c}\n`;
  const current = inp.showconf.replace(/\n+$/, '');
  return current.replace('[Interface]\n', () => head) + '\n';
}
