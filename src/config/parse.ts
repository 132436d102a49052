/**
 * wg-quick config text → WgConfig. Accepts what `wg setconf` and `wg-quick`
 * accept (case-insensitive keys and section names, "#" comments, whitespace
 * anywhere in wg keys, repeated list keys) plus the wgts service sections.
 * The first problem throws a ConfigError naming file, line and key.
 */
import { ConfigError } from './errors.js';
import { hostBitsZero, parseIP, parsePrefix, formatPrefix, type IpPrefix } from './ip.js';
import { keyFromBase64 } from './keys.js';
import { redactSecrets } from './redact.js';
import { emptyConfig, type ClientTunnelConfig, type HostPort, type IcmpMode, type PeerConfig, type ServerTunnelConfig, type Socks5Config, type WgConfig } from './types.js';
import { isHostname, parseBool, parseFwMark, parseHostPort, parsePersistentKeepalive, parseUint } from './values.js';

export interface ParseOptions {
  /** Non-fatal findings (as wg prints them) are pushed here, e.g. AllowedIPs with host bits set. */
  warnings?: string[];
}

type SectionKind = 'interface' | 'peer' | 'socks5' | 'tcpclienttunnel' | 'tcpservertunnel' | 'udpclienttunnel' | 'udpservertunnel' | 'netstack';

const SECTION_NAMES: Record<string, SectionKind> = {
  '[interface]': 'interface',
  '[peer]': 'peer',
  '[socks5]': 'socks5',
  '[tcpclienttunnel]': 'tcpclienttunnel',
  '[tcpservertunnel]': 'tcpservertunnel',
  '[udpclienttunnel]': 'udpclienttunnel',
  '[udpservertunnel]': 'udpservertunnel',
  '[netstack]': 'netstack',
};

const SECTION_LIST = '[Interface], [Peer], [Socks5], [TCPClientTunnel], [TCPServerTunnel], [UDPClientTunnel], [UDPServerTunnel], [Netstack]';

/** Keys per section, by lowercase name → canonical spelling (for messages). */
const KEYS: Record<SectionKind, Record<string, string>> = {
  interface: canon(['PrivateKey', 'ListenPort', 'FwMark', 'Address', 'DNS', 'MTU', 'Table', 'PreUp', 'PostUp', 'PreDown', 'PostDown', 'SaveConfig']),
  peer: canon(['PublicKey', 'PresharedKey', 'AllowedIPs', 'Endpoint', 'PersistentKeepalive']),
  socks5: canon(['BindAddress', 'Username', 'Password']),
  tcpclienttunnel: canon(['BindAddress', 'Target']),
  udpclienttunnel: canon(['BindAddress', 'Target']),
  tcpservertunnel: canon(['ListenPort', 'Target']),
  udpservertunnel: canon(['ListenPort', 'Target']),
  netstack: canon(['ICMP', 'Promiscuous', 'Forward', 'Status']),
};

function canon(keys: string[]): Record<string, string> {
  const r: Record<string, string> = {};
  for (const k of keys) r[k.toLowerCase()] = k;
  return r;
}

const SECTION_TITLE: Record<SectionKind, string> = {
  interface: '[Interface]',
  peer: '[Peer]',
  socks5: '[Socks5]',
  tcpclienttunnel: '[TCPClientTunnel]',
  tcpservertunnel: '[TCPServerTunnel]',
  udpclienttunnel: '[UDPClientTunnel]',
  udpservertunnel: '[UDPServerTunnel]',
  netstack: '[Netstack]',
};

const KEY_EXPECTED = 'expected a base64-encoded 32-byte key (44 characters ending in "=", as printed by `wgts genkey`)';

/** Partially filled sections, checked for required keys when the section ends. */
interface OpenSection {
  kind: SectionKind;
  line: number;
  peer?: Partial<PeerConfig> & { allowedIPs: IpPrefix[] };
  socks5?: Partial<Socks5Config>;
  client?: Partial<ClientTunnelConfig>;
  server?: Partial<ServerTunnelConfig>;
}

const HOOKS = new Set(['preup', 'postup', 'predown', 'postdown']);

/** A line of input split into its parts. */
interface Line {
  no: number;
  /** Without comment, trimmed. */
  text: string;
}

export function parseConfig(text: string, fileName: string, opts: ParseOptions = {}): WgConfig {
  const cfg = emptyConfig();
  const warnings = opts.warnings;
  let section: OpenSection | undefined;

  const fail = (line: number | undefined, key: string | undefined, detail: string): never => {
    throw new ConfigError(fileName, line, key, detail);
  };

  const closeSection = (): void => {
    if (!section) return;
    const s = section;
    const need = (present: unknown, key: string): void => {
      if (present === undefined) fail(s.line, key, `${SECTION_TITLE[s.kind]} section has no ${key} (required)`);
    };
    switch (s.kind) {
      case 'peer': {
        const p = s.peer!;
        need(p.publicKey, 'PublicKey');
        const peer: PeerConfig = { publicKey: p.publicKey!, allowedIPs: p.allowedIPs };
        if (p.presharedKey) peer.presharedKey = p.presharedKey;
        if (p.endpoint) peer.endpoint = p.endpoint;
        if (p.persistentKeepalive !== undefined) peer.persistentKeepalive = p.persistentKeepalive;
        cfg.peers.push(peer);
        break;
      }
      case 'socks5': {
        const x = s.socks5!;
        need(x.bindAddress, 'BindAddress');
        if ((x.username === undefined) !== (x.password === undefined)) {
          fail(s.line, x.username === undefined ? 'Username' : 'Password', '[Socks5] needs both Username and Password, or neither');
        }
        const out: Socks5Config = { bindAddress: x.bindAddress! };
        if (x.username !== undefined) out.username = x.username;
        if (x.password !== undefined) out.password = x.password;
        cfg.socks5.push(out);
        break;
      }
      case 'tcpclienttunnel':
      case 'udpclienttunnel': {
        const x = s.client!;
        need(x.bindAddress, 'BindAddress');
        need(x.target, 'Target');
        (s.kind === 'tcpclienttunnel' ? cfg.tcpClientTunnels : cfg.udpClientTunnels).push({ bindAddress: x.bindAddress!, target: x.target! });
        break;
      }
      case 'tcpservertunnel':
      case 'udpservertunnel': {
        const x = s.server!;
        need(x.listenPort, 'ListenPort');
        need(x.target, 'Target');
        (s.kind === 'tcpservertunnel' ? cfg.tcpServerTunnels : cfg.udpServerTunnels).push({ listenPort: x.listenPort!, target: x.target! });
        break;
      }
      default:
        break;
    }
    section = undefined;
  };

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const hash = raw.indexOf('#');
    const line: Line = { no: i + 1, text: (hash === -1 ? raw : raw.slice(0, hash)).trim() };
    if (line.text === '') continue;

    if (line.text.startsWith('[')) {
      const name = line.text.replace(/\s+/g, '').toLowerCase();
      const kind = SECTION_NAMES[name];
      if (!kind) fail(line.no, undefined, `unknown section \`${redactSecrets(line.text)}' (expected one of ${SECTION_LIST})`);
      closeSection();
      section = { kind: kind!, line: line.no };
      if (kind === 'peer') section.peer = { allowedIPs: [] };
      else if (kind === 'socks5') section.socks5 = {};
      else if (kind === 'tcpclienttunnel' || kind === 'udpclienttunnel') section.client = {};
      else if (kind === 'tcpservertunnel' || kind === 'udpservertunnel') section.server = {};
      continue;
    }

    const eq = line.text.indexOf('=');
    if (eq === -1) fail(line.no, undefined, `expected \`Key = Value' or a [Section] header, got \`${redactSecrets(line.text)}'`);
    const keyText = line.text.slice(0, eq).replace(/\s+/g, '');
    // A missing "=" after the key can glue a secret onto it ("PrivateKey<base64>="): never echo much of it.
    const shownKey = redactSecrets(keyText.length > 24 ? `${keyText.slice(0, 20)}…` : keyText);
    const lkey = keyText.toLowerCase();
    if (!section) fail(line.no, shownKey, `key outside any section (expected an [Interface] or [Peer] header first)`);
    const s = section!;
    const key = KEYS[s.kind][lkey];
    if (key === undefined) {
      const glued = Object.keys(KEYS[s.kind]).find((k) => lkey.startsWith(k));
      if (glued) fail(line.no, KEYS[s.kind][glued], 'expected "=" between the key and its value');
      fail(line.no, shownKey, `unknown key in ${SECTION_TITLE[s.kind]} (expected one of ${Object.values(KEYS[s.kind]).join(', ')})`);
    }
    const k = key!;
    // Hooks keep everything after "=" including "#" (wg-quick passes them to bash as written).
    if (HOOKS.has(lkey)) {
      const rawValue = raw.slice(raw.indexOf('=') + 1).trim();
      if (rawValue === '') fail(line.no, k, 'expected a shell command');
      const list = lkey === 'preup' ? cfg.interface.preUp : lkey === 'postup' ? cfg.interface.postUp : lkey === 'predown' ? cfg.interface.preDown : cfg.interface.postDown;
      list.push(rawValue);
      continue;
    }
    const value = line.text.slice(eq + 1).trim();
    // wg removes all whitespace from a line before parsing, so "10.0.0.1/32, fd00::1/128" and "0x 10" both work there.
    const compact = value.replace(/\s+/g, '');
    const bad = (expected: string, show = true): never => fail(line.no, k, show ? `${expected}, got \`${redactSecrets(value)}'` : expected);

    switch (s.kind) {
      case 'interface': {
        const itf = cfg.interface;
        switch (lkey) {
          case 'privatekey': {
            const key32 = keyFromBase64(compact);
            if (!key32) bad(KEY_EXPECTED, false);
            itf.privateKey = key32!;
            break;
          }
          case 'listenport': {
            const v = parseUint(compact, 0, 65535);
            if (v === null) bad('expected a UDP port number 0-65535');
            itf.listenPort = v!;
            break;
          }
          case 'fwmark': {
            const v = parseFwMark(compact);
            if (v === null) bad('expected off, or a number 0-0xffffffff (decimal or 0x hex)');
            itf.fwMark = v!;
            break;
          }
          case 'address':
            for (const item of splitList(value)) {
              const p = parsePrefix(item);
              if (!p) fail(line.no, k, `expected IP addresses with an optional /prefix (10.0.0.1/24, fd00::1/64), got \`${redactSecrets(item)}'`);
              itf.addresses.push(p!);
            }
            break;
          case 'dns':
            for (const item of splitList(value)) {
              if (parseIP(item)) itf.dns.push(item);
              else if (isHostname(item)) itf.dnsSearch.push(item);
              else fail(line.no, k, `expected DNS server IP addresses or search domains, got \`${redactSecrets(item)}'`);
            }
            break;
          case 'mtu': {
            const v = parseUint(compact, 576, 65535);
            if (v === null) bad('expected an MTU 576-65535');
            itf.mtu = v!;
            break;
          }
          case 'table':
            if (!/^[A-Za-z0-9_.-]{1,64}$/.test(compact)) bad('expected off, auto, or a routing table number or name');
            itf.table = /^(off|auto)$/i.test(compact) ? compact.toLowerCase() : compact;
            break;
          case 'saveconfig': {
            const v = parseBool(compact);
            if (v === null) bad('expected true or false');
            itf.saveConfig = v!;
            break;
          }
        }
        break;
      }
      case 'peer': {
        const p = s.peer!;
        switch (lkey) {
          case 'publickey': {
            const key32 = keyFromBase64(compact);
            if (!key32) bad(KEY_EXPECTED);
            p.publicKey = key32!;
            break;
          }
          case 'presharedkey': {
            const key32 = keyFromBase64(compact);
            if (!key32) bad(KEY_EXPECTED, false);
            p.presharedKey = key32!;
            break;
          }
          case 'allowedips':
            if (compact === '') bad('expected comma-separated IP prefixes (10.0.0.2/32, fd00::/64)');
            for (const item of compact.split(',')) {
              const pr = parsePrefix(item);
              if (!pr) fail(line.no, k, `expected comma-separated IP prefixes (10.0.0.2/32, fd00::/64), got \`${redactSecrets(item)}'`);
              if (!hostBitsZero(pr!)) warnings?.push(`${fileName}:${line.no}: AllowedIPs: ${item} has a nonzero host part (means ${formatPrefix(masked(pr!))})`);
              p.allowedIPs.push(pr!);
            }
            break;
          case 'endpoint': {
            const hp = parseHostPort(compact, { allowHostname: true, minPort: 1 });
            if (!hp) bad('expected host:port, IPv4:port or [IPv6]:port with a port 1-65535');
            p.endpoint = hp!;
            break;
          }
          case 'persistentkeepalive': {
            const v = parsePersistentKeepalive(compact);
            if (v === null) bad('expected off, or an interval in seconds 0-65535');
            p.persistentKeepalive = v!;
            break;
          }
        }
        break;
      }
      case 'socks5': {
        const x = s.socks5!;
        if (lkey === 'bindaddress') x.bindAddress = hostPort(compact, true, bad);
        else {
          const len = Buffer.byteLength(value);
          if (len < 1 || len > 255) bad('expected 1-255 bytes (RFC 1929)', false);
          if (lkey === 'username') x.username = value;
          else x.password = value;
        }
        break;
      }
      case 'tcpclienttunnel':
      case 'udpclienttunnel': {
        const x = s.client!;
        if (lkey === 'bindaddress') x.bindAddress = hostPort(compact, true, bad);
        else x.target = hostPort(compact, true, bad);
        break;
      }
      case 'tcpservertunnel':
      case 'udpservertunnel': {
        const x = s.server!;
        if (lkey === 'listenport') {
          const v = parseUint(compact, 1, 65535);
          if (v === null) bad('expected a port number 1-65535');
          x.listenPort = v!;
        } else x.target = hostPort(compact, true, bad);
        break;
      }
      case 'netstack': {
        const n = cfg.netstack;
        if (lkey === 'icmp') {
          const m = compact.toLowerCase();
          if (m !== 'reachable' && m !== 'local' && m !== 'all') bad('expected reachable, local or all');
          n.icmp = m as IcmpMode;
        } else if (lkey === 'promiscuous' || lkey === 'forward') {
          const v = parseBool(compact);
          if (v === null) bad('expected true or false');
          if (lkey === 'promiscuous') n.promiscuous = v!;
          else n.forward = v!;
        } else {
          const hp = parseHostPort(compact, { allowHostname: false, minPort: 1 });
          if (!hp) bad('expected IPv4:port or [IPv6]:port (an address on the tunnel)');
          n.status = hp!;
        }
        break;
      }
    }
  }
  closeSection();
  return cfg;
}

function hostPort(compact: string, allowHostname: boolean, bad: (expected: string) => never): HostPort {
  const hp = parseHostPort(compact, { allowHostname, minPort: 1 });
  if (!hp) bad('expected host:port, IPv4:port or [IPv6]:port with a port 1-65535');
  return hp!;
}

/** wg-quick list values: commas and/or whitespace separate; empty items are ignored. */
function splitList(value: string): string[] {
  return value.split(/[\s,]+/).filter((x) => x !== '');
}

function masked(p: IpPrefix): IpPrefix {
  const a = new Uint8Array(p.address);
  for (let bit = p.prefix; bit < a.length * 8; bit++) a[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family: p.family, address: a, prefix: p.prefix };
}
