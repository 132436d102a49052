import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig, ConfigError, serializeConfig, keyToBase64, formatPrefix, type WgConfig, type IpPrefix } from '../../src/config/index.js';

const K1 = 'iMD1/Ar7MMTx5tGNsBaiXj7c6NV8DBPoADux4fIneEM=';
const K2 = 'aezl40pjMHg6SHwJKYc8Jo7v0ZoazPwlVpiRfPTJPys=';
const K3 = 'YGkR5zeVKYoAJ0+DUu6RuwfcxTBhdRewcvwNCm+kwks=';

describe('parseConfig: valid configs', () => {
  it('reads every wg and wg-quick key, case-insensitively, with comments and odd spacing', () => {
    const text = `# leading comment
[ Interface ]   # comment after header
PrivateKey = ${K1}
listenport=51820
FWMARK = 0x10
Address = 10.0.0.1/24, fd00::1/64
Address = 10.0.1.1
DNS = 1.1.1.1, 2606:4700::1111, corp.example
MTU = 1380
Table = off
PreUp = echo "pre # not a comment"
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PreDown = true
PostDown = iptables -D FORWARD -i %i -j ACCEPT
SaveConfig = false

[Peer]
Public Key = ${K2}
PresharedKey = ${K3}
AllowedIPs = 10.0.0.2/32, fd00::2/128
allowedips = 192.168.0.0/16
Endpoint = [2001:db8::1]:51820
Persistent Keepalive = 25

[PEER]
PublicKey = ${K3}
Endpoint = vpn.example.com:4500\r
PersistentKeepalive = off
`;
    const cfg = parseConfig(text, 'wg0.conf');
    const i = cfg.interface;
    expect(keyToBase64(i.privateKey!)).toBe(K1);
    expect(i.listenPort).toBe(51820);
    expect(i.fwMark).toBe(16);
    expect(i.addresses.map(formatPrefix)).toEqual(['10.0.0.1/24', 'fd00::1/64', '10.0.1.1/32']);
    expect(i.dns).toEqual(['1.1.1.1', '2606:4700::1111']);
    expect(i.dnsSearch).toEqual(['corp.example']);
    expect(i.mtu).toBe(1380);
    expect(i.table).toBe('off');
    expect(i.preUp).toEqual(['echo "pre # not a comment"']);
    expect(i.postUp).toEqual(['iptables -A FORWARD -i %i -j ACCEPT']);
    expect(i.preDown).toEqual(['true']);
    expect(i.postDown).toEqual(['iptables -D FORWARD -i %i -j ACCEPT']);
    expect(i.saveConfig).toBe(false);
    expect(cfg.peers).toHaveLength(2);
    const [a, b] = cfg.peers;
    expect(keyToBase64(a!.publicKey)).toBe(K2);
    expect(keyToBase64(a!.presharedKey!)).toBe(K3);
    expect(a!.allowedIPs.map(formatPrefix)).toEqual(['10.0.0.2/32', 'fd00::2/128', '192.168.0.0/16']);
    expect(a!.endpoint).toEqual({ host: '2001:db8::1', port: 51820 });
    expect(a!.persistentKeepalive).toBe(25);
    expect(b!.endpoint).toEqual({ host: 'vpn.example.com', port: 4500 });
    expect(b!.persistentKeepalive).toBe(0);
    expect(b!.allowedIPs).toEqual([]);
    expect(cfg.netstack).toEqual({ icmp: 'reachable', promiscuous: true, forward: false });
  });

  it('reads the wgts sections', () => {
    const cfg = parseConfig(
      `[Interface]
PrivateKey = ${K1}
[Socks5]
BindAddress = 127.0.0.1:1080
Username = alice
Password = s3cret pass
[Socks5]
BindAddress = [::1]:1081
[TCPClientTunnel]
BindAddress = 127.0.0.1:8080
Target = 10.0.0.2:80
[TCPServerTunnel]
ListenPort = 80
Target = 127.0.0.1:3000
[UDPClientTunnel]
BindAddress = localhost:5353
Target = 10.0.0.2:53
[UDPServerTunnel]
ListenPort = 53
Target = 127.0.0.1:5300
[Netstack]
ICMP = local
Promiscuous = False
Forward = TRUE
Status = 10.0.0.1:80
`,
      'svc.conf',
    );
    expect(cfg.socks5).toEqual([
      { bindAddress: { host: '127.0.0.1', port: 1080 }, username: 'alice', password: 's3cret pass' },
      { bindAddress: { host: '::1', port: 1081 } },
    ]);
    expect(cfg.tcpClientTunnels).toEqual([{ bindAddress: { host: '127.0.0.1', port: 8080 }, target: { host: '10.0.0.2', port: 80 } }]);
    expect(cfg.tcpServerTunnels).toEqual([{ listenPort: 80, target: { host: '127.0.0.1', port: 3000 } }]);
    expect(cfg.udpClientTunnels).toEqual([{ bindAddress: { host: 'localhost', port: 5353 }, target: { host: '10.0.0.2', port: 53 } }]);
    expect(cfg.udpServerTunnels).toEqual([{ listenPort: 53, target: { host: '127.0.0.1', port: 5300 } }]);
    expect(cfg.netstack).toEqual({ icmp: 'local', promiscuous: false, forward: true, status: { host: '10.0.0.1', port: 80 } });
  });

  it('accepts an empty file, FwMark off, an unbracketed IPv6 endpoint, and warns about host bits', () => {
    expect(parseConfig('', 'empty.conf').peers).toEqual([]);
    const warnings: string[] = [];
    const cfg = parseConfig(`[Interface]\nFwMark = off\n[Peer]\nPublicKey = ${K2}\nEndpoint = fd00::1:51820\nAllowedIPs = 10.0.0.1/24\n`, 'w.conf', { warnings });
    expect(cfg.interface.fwMark).toBe(0);
    expect(cfg.peers[0]!.endpoint).toEqual({ host: 'fd00::1', port: 51820 });
    expect(warnings).toEqual(['w.conf:6: AllowedIPs: 10.0.0.1/24 has a nonzero host part (means 10.0.0.0/24)']);
  });
});

/** [what, text, line, key, message fragment] */
const INVALID: [string, string, number | undefined, string | undefined, string][] = [
  ['key before any section', `PrivateKey = ${K1}\n`, 1, 'PrivateKey', 'key outside any section'],
  ['unknown section', `[Interface]\n\n[Peers]\n`, 3, undefined, "unknown section `[Peers]'"],
  ['unknown interface key', `[Interface]\nListenPrt = 1\n`, 2, 'ListenPrt', 'unknown key in [Interface] (expected one of PrivateKey, ListenPort'],
  ['peer key in interface', `[Interface]\nEndpoint = 1.2.3.4:5\n`, 2, 'Endpoint', 'unknown key in [Interface]'],
  ['line without =', `[Interface]\nListenPort 51820\n`, 2, undefined, "expected `Key = Value' or a [Section] header, got `ListenPort 51820'"],
  ['key glued to a key value', `[Interface]\nPrivateKey ${K1}\n`, 2, 'PrivateKey', 'expected "=" between the key and its value'],
  ['long unknown key is shortened', `[Interface]\nX${K1}\n`, 2, '<redacted>…', 'unknown key in [Interface]'],
  ['short private key', `[Interface]\nPrivateKey = abc\n`, 2, 'PrivateKey', 'expected a base64-encoded 32-byte key'],
  ['hex private key', `[Interface]\nPrivateKey = ${'ab'.repeat(32)}\n`, 2, 'PrivateKey', 'expected a base64-encoded 32-byte key'],
  ['empty private key', `[Interface]\nPrivateKey =\n`, 2, 'PrivateKey', 'expected a base64-encoded 32-byte key'],
  ['port too big', `[Interface]\nListenPort = 65536\n`, 2, 'ListenPort', "expected a UDP port number 0-65535, got `65536'"],
  ['port not a number', `[Interface]\nListenPort = http\n`, 2, 'ListenPort', 'expected a UDP port number'],
  ['fwmark too big', `[Interface]\nFwMark = 0x100000000\n`, 2, 'FwMark', 'expected off, or a number 0-0xffffffff'],
  ['bad address', `[Interface]\nAddress = 10.0.0.300/24\n`, 2, 'Address', "got `10.0.0.300/24'"],
  ['bad address prefix', `[Interface]\nAddress = 10.0.0.1/33\n`, 2, 'Address', 'expected IP addresses with an optional /prefix'],
  ['bad dns', `[Interface]\nDNS = 1.1.1.1, bad_host!\n`, 2, 'DNS', "got `bad_host!'"],
  ['mtu too small', `[Interface]\nMTU = 100\n`, 2, 'MTU', 'expected an MTU 576-65535'],
  ['bad table', `[Interface]\nTable = a b/c\n`, 2, 'Table', 'expected off, auto, or a routing table'],
  ['bad saveconfig', `[Interface]\nSaveConfig = yes\n`, 2, 'SaveConfig', 'expected true or false'],
  ['empty hook', `[Interface]\nPostUp =\n`, 2, 'PostUp', 'expected a shell command'],
  ['peer without public key', `[Interface]\n[Peer]\nAllowedIPs = 10.0.0.2/32\n\n[Peer]\nPublicKey = ${K2}\n`, 2, 'PublicKey', '[Peer] section has no PublicKey (required)'],
  ['last peer without public key', `[Peer]\nPublicKey = ${K2}\n[Peer]\nEndpoint = 1.2.3.4:5\n`, 3, 'PublicKey', 'has no PublicKey'],
  ['public key wrong length', `[Peer]\nPublicKey = ${K2.slice(1)}\n`, 2, 'PublicKey', 'expected a base64-encoded 32-byte key'],
  ['bad allowed ip', `[Peer]\nPublicKey = ${K2}\nAllowedIPs = 10.0.0.0/8, 300.0.0.0/8\n`, 3, 'AllowedIPs', "got `300.0.0.0/8'"],
  ['empty allowed ips entry', `[Peer]\nPublicKey = ${K2}\nAllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n`, 3, 'AllowedIPs', "got `'"],
  ['empty allowed ips', `[Peer]\nPublicKey = ${K2}\nAllowedIPs =\n`, 3, 'AllowedIPs', 'expected comma-separated IP prefixes'],
  ['incremental allowed ip in a file', `[Peer]\nPublicKey = ${K2}\nAllowedIPs = +10.0.0.0/8\n`, 3, 'AllowedIPs', "got `+10.0.0.0/8'"],
  ['endpoint without port', `[Peer]\nPublicKey = ${K2}\nEndpoint = 192.0.2.1\n`, 3, 'Endpoint', 'expected host:port'],
  ['endpoint port 0', `[Peer]\nPublicKey = ${K2}\nEndpoint = 192.0.2.1:0\n`, 3, 'Endpoint', 'port 1-65535'],
  ['endpoint unclosed bracket', `[Peer]\nPublicKey = ${K2}\nEndpoint = [fd00::1:51820\n`, 3, 'Endpoint', 'expected host:port'],
  ['endpoint bad IPv4', `[Peer]\nPublicKey = ${K2}\nEndpoint = 1.2.3.999:5\n`, 3, 'Endpoint', 'expected host:port'],
  ['keepalive too big', `[Peer]\nPublicKey = ${K2}\nPersistentKeepalive = 65536\n`, 3, 'PersistentKeepalive', 'expected off, or an interval in seconds 0-65535'],
  ['socks5 without bind', `[Socks5]\nUsername = a\nPassword = b\n`, 1, 'BindAddress', '[Socks5] section has no BindAddress'],
  ['socks5 user without password', `[Socks5]\nBindAddress = 127.0.0.1:1080\nUsername = a\n`, 1, 'Password', 'needs both Username and Password'],
  ['client tunnel without target', `[TCPClientTunnel]\nBindAddress = 127.0.0.1:8080\n`, 1, 'Target', 'has no Target'],
  ['server tunnel port 0', `[UDPServerTunnel]\nListenPort = 0\nTarget = 127.0.0.1:53\n`, 2, 'ListenPort', 'expected a port number 1-65535'],
  ['bad icmp mode', `[Netstack]\nICMP = some\n`, 2, 'ICMP', "expected reachable, local or all, got `some'"],
  ['bad promiscuous', `[Netstack]\nPromiscuous = 1\n`, 2, 'Promiscuous', 'expected true or false'],
  ['status with a hostname', `[Netstack]\nStatus = status.local:80\n`, 2, 'Status', 'expected IPv4:port or [IPv6]:port'],
  ['wg key in netstack', `[Netstack]\nListenPort = 1\n`, 2, 'ListenPort', 'unknown key in [Netstack]'],
];

describe('parseConfig: invalid configs name file, line and key', () => {
  for (const [what, text, line, key, fragment] of INVALID) {
    it(what, () => {
      let err: unknown;
      try {
        parseConfig(text, 'bad.conf');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const ce = err as ConfigError;
      expect(ce.file).toBe('bad.conf');
      expect(ce.line).toBe(line);
      expect(ce.key).toBe(key);
      expect(ce.message).toContain(fragment);
      expect(ce.message.startsWith(`bad.conf:${line}: ${key !== undefined ? key + ': ' : ''}`)).toBe(true);
    });
  }

  it('does not echo secret key material in messages', () => {
    const almost = K1.slice(0, 43) + 'x';
    expect(() => parseConfig(`[Interface]\nPrivateKey = ${almost}\n`, 'k.conf')).toThrow(ConfigError);
    try {
      parseConfig(`[Interface]\nPrivateKey = ${almost}\n`, 'k.conf');
    } catch (e) {
      expect((e as Error).message).not.toContain(almost);
    }
  });
});

describe('parseConfig: arbitrary input', () => {
  it('throws nothing but ConfigError', () => {
    const linePieces = fc.constantFrom('[Interface]', '[Peer]', '[Netstack]', '[Socks5]', 'PrivateKey', 'PublicKey', 'AllowedIPs', 'Endpoint', '=', ' = ', '#', ',', '/', ':', '[', ']', K1, '10.0.0.1', 'fd00::', '0x', '\n', '\r\n', 'off', '65535', 'ICMP', 'true');
    const text = fc.oneof(fc.string({ maxLength: 300 }), fc.array(linePieces, { maxLength: 40 }).map((a) => a.join('')), fc.array(fc.string({ maxLength: 20 }), { maxLength: 20 }).map((a) => a.join('\n')));
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseConfig(t, 'fuzz.conf');
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});

// ---------------------------------------------------------------- serialize ∘ parse

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const prefix: fc.Arbitrary<IpPrefix> = fc.oneof(
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([address, p]) => ({ family: 4 as const, address, prefix: p })),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([address, p]) => ({ family: 6 as const, address, prefix: p })),
);
const hostPort = fc.record({
  host: fc.constantFrom('192.0.2.1', 'fd00::1', 'vpn.example.com', 'localhost', '::ffff:1.2.3.4'),
  port: fc.integer({ min: 1, max: 65535 }),
});
const ipHostPort = fc.record({ host: fc.constantFrom('10.0.0.1', 'fd00::1'), port: fc.integer({ min: 1, max: 65535 }) });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const configArb: fc.Arbitrary<WgConfig> = fc
  .record({
    privateKey: opt(key32),
    listenPort: opt(fc.integer({ min: 0, max: 65535 })),
    fwMark: opt(fc.integer({ min: 0, max: 0xffffffff })),
    addresses: fc.array(prefix, { maxLength: 3 }),
    dns: fc.array(fc.constantFrom('1.1.1.1', '2606:4700::1111'), { maxLength: 2 }),
    dnsSearch: fc.array(fc.constantFrom('corp.example', 'lan'), { maxLength: 2 }),
    mtu: opt(fc.integer({ min: 576, max: 65535 })),
    table: opt(fc.constantFrom('off', 'auto', '1234', 'main')),
    preUp: fc.array(fc.constantFrom('echo up # with hash', 'ip link'), { maxLength: 2 }),
    postUp: fc.array(fc.constantFrom('true'), { maxLength: 1 }),
    preDown: fc.array(fc.constantFrom('false'), { maxLength: 1 }),
    postDown: fc.array(fc.constantFrom('echo %i'), { maxLength: 1 }),
    saveConfig: fc.boolean(),
    peers: fc.array(
      fc.record({
        publicKey: key32,
        presharedKey: opt(key32),
        allowedIPs: fc.array(prefix, { maxLength: 4 }),
        endpoint: opt(hostPort),
        persistentKeepalive: opt(fc.integer({ min: 0, max: 65535 })),
      }),
      { maxLength: 3 },
    ),
    socks5: fc.array(fc.record({ bindAddress: hostPort }), { maxLength: 1 }),
    tcpc: fc.array(fc.record({ bindAddress: hostPort, target: hostPort }), { maxLength: 2 }),
    tcps: fc.array(fc.record({ listenPort: fc.integer({ min: 1, max: 65535 }), target: hostPort }), { maxLength: 2 }),
    icmp: fc.constantFrom('reachable' as const, 'local' as const, 'all' as const),
    promiscuous: fc.boolean(),
    forward: fc.boolean(),
    status: opt(ipHostPort),
  })
  .map((r) => {
    const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
    const cfg: WgConfig = {
      interface: strip({
        privateKey: r.privateKey,
        listenPort: r.listenPort,
        fwMark: r.fwMark,
        addresses: r.addresses,
        dns: r.dns,
        dnsSearch: r.dnsSearch,
        mtu: r.mtu,
        table: r.table,
        preUp: r.preUp,
        postUp: r.postUp,
        preDown: r.preDown,
        postDown: r.postDown,
        saveConfig: r.saveConfig,
      }),
      peers: r.peers.map(strip),
      socks5: r.socks5,
      tcpClientTunnels: r.tcpc,
      tcpServerTunnels: r.tcps,
      udpClientTunnels: [],
      udpServerTunnels: r.tcps,
      netstack: strip({ icmp: r.icmp, promiscuous: r.promiscuous, forward: r.forward, status: r.status }),
    };
    return cfg;
  });

describe('serializeConfig', () => {
  it('parse(serialize(cfg)) equals cfg', () => {
    fc.assert(
      fc.property(configArb, (cfg) => {
        const text = serializeConfig(cfg);
        expect(parseConfig(text, 'rt.conf')).toEqual(cfg);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('writes the canonical layout', () => {
    const cfg = parseConfig(
      `[Interface]\nprivatekey=${K1}\nlistenport=51820\naddress=10.0.0.1/24\n[Peer]\npublickey=${K2}\nallowedips=10.0.0.2/32,fd00::2/128\nendpoint=[fd00::1]:51820\n[Netstack]\nicmp=all\n`,
      'c.conf',
    );
    expect(serializeConfig(cfg)).toBe(
      `[Interface]\nPrivateKey = ${K1}\nListenPort = 51820\nAddress = 10.0.0.1/24\n\n[Peer]\nPublicKey = ${K2}\nAllowedIPs = 10.0.0.2/32, fd00::2/128\nEndpoint = [fd00::1]:51820\n\n[Netstack]\nICMP = all\n`,
    );
  });
});
