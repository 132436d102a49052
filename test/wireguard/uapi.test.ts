import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { x25519 } from '@noble/curves/ed25519.js';
import { AllowedIPs, parseCidr } from '../../src/wireguard/allowedips.js';
import { handleUapiRequest, parseEndpoint, uapiGet, uapiSet, type UapiDevice, type UapiEndpoint, type UapiPeer } from '../../src/wireguard/uapi.js';

// A stand-in with the agreed Device/Peer shape (the real Device is tested in device tests too).
class FakePeer implements UapiPeer {
  presharedKey: Uint8Array | null = null;
  endpoint: UapiEndpoint | null = null;
  persistentKeepalive = 0;
  lastHandshakeTime = 0;
  txBytes: number | bigint = 0;
  rxBytes: number | bigint = 0;
  keepaliveSetAt: number[] = [];
  constructor(readonly publicKey: Uint8Array) {}
  setPresharedKey(k: Uint8Array | null): void { this.presharedKey = k; }
  setEndpoint(e: UapiEndpoint | null): void { this.endpoint = e; }
  setPersistentKeepalive(s: number, now: number): void { this.persistentKeepalive = s; this.keepaliveSetAt.push(now); }
}
const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex');
class FakeDevice implements UapiDevice<FakePeer> {
  allowedIPs = new AllowedIPs<FakePeer>();
  privateKey: Uint8Array | null = null;
  publicKey: Uint8Array | null = null;
  listenPort = 0;
  fwmark = 0;
  private map = new Map<string, FakePeer>();
  setPrivateKey(k: Uint8Array | null): void {
    this.privateKey = k;
    this.publicKey = k ? x25519.getPublicKey(k) : null;
  }
  peers(): Iterable<FakePeer> { return this.map.values(); }
  get peerCount(): number { return this.map.size; }
  getPeer(pub: Uint8Array): FakePeer | undefined { return this.map.get(hx(pub)); }
  addPeer(pub: Uint8Array): FakePeer {
    if (this.map.has(hx(pub))) throw new Error('exists');
    const p = new FakePeer(pub);
    this.map.set(hx(pub), p);
    return p;
  }
  removePeer(pub: Uint8Array): boolean {
    const p = this.map.get(hx(pub));
    if (!p) return false;
    this.allowedIPs.removeByValue(p);
    this.map.delete(hx(pub));
    return true;
  }
  removeAllPeers(): void { for (const p of [...this.map.values()]) this.removePeer(p.publicKey); }
}

const key = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const K = (b: number): string => hx(key(b));
const ZERO = '0'.repeat(64);

function configured(): FakeDevice {
  const d = new FakeDevice();
  d.setPrivateKey(key(1));
  d.listenPort = 51820;
  const a = d.addPeer(key(0xaa));
  a.setPresharedKey(key(0x55));
  a.setEndpoint({ address: '192.0.2.1', port: 51821 });
  a.lastHandshakeTime = 1_700_000_000_123.5;
  a.txBytes = 1234;
  a.rxBytes = 5678n;
  a.persistentKeepalive = 25;
  for (const c of ['10.0.0.2/32', 'fd00::2/128', '10.1.0.0/16']) { const p = parseCidr(c); d.allowedIPs.insert(p.ip, p.bits, a); }
  const b = d.addPeer(key(0xbb));
  b.setEndpoint({ address: '2001:db8::1', port: 51820 });
  for (const c of ['0.0.0.0/0', '::/0']) { const p = parseCidr(c); d.allowedIPs.insert(p.ip, p.bits, b); }
  return d;
}

const EXPECTED_GET =
  `private_key=${K(1)}\n` +
  'listen_port=51820\n' +
  `public_key=${K(0xaa)}\n` +
  `preshared_key=${K(0x55)}\n` +
  'protocol_version=1\n' +
  'endpoint=192.0.2.1:51821\n' +
  'last_handshake_time_sec=1700000000\n' +
  'last_handshake_time_nsec=123500000\n' +
  'tx_bytes=1234\n' +
  'rx_bytes=5678\n' +
  'persistent_keepalive_interval=25\n' +
  'allowed_ip=10.0.0.2/32\n' +
  'allowed_ip=fd00::2/128\n' +
  'allowed_ip=10.1.0.0/16\n' +
  `public_key=${K(0xbb)}\n` +
  `preshared_key=${ZERO}\n` +
  'protocol_version=1\n' +
  'endpoint=[2001:db8::1]:51820\n' +
  'last_handshake_time_sec=0\n' +
  'last_handshake_time_nsec=0\n' +
  'tx_bytes=0\n' +
  'rx_bytes=0\n' +
  'persistent_keepalive_interval=0\n' +
  'allowed_ip=0.0.0.0/0\n' +
  'allowed_ip=::/0\n' +
  'errno=0\n\n';

describe('uapiGet', () => {
  it('empty device', () => {
    expect(uapiGet(new FakeDevice())).toBe('errno=0\n\n');
  });
  it('byte-exact output for a device with peers', () => {
    expect(uapiGet(configured())).toBe(EXPECTED_GET);
  });
  it('fwmark only when non-zero; no private key line when unset', () => {
    const d = new FakeDevice();
    d.fwmark = 7;
    expect(uapiGet(d)).toBe('fwmark=7\nerrno=0\n\n');
  });
});

describe('uapiSet', () => {
  const SET_BODY =
    `private_key=${K(1)}\n` +
    'listen_port=51820\n' +
    'replace_peers=true\n' +
    `public_key=${K(0xaa)}\n` +
    `preshared_key=${K(0x55)}\n` +
    'endpoint=192.0.2.1:51821\n' +
    'persistent_keepalive_interval=25\n' +
    'replace_allowed_ips=true\n' +
    'allowed_ip=10.0.0.2/32\n' +
    'allowed_ip=fd00::2/128\n' +
    'allowed_ip=10.1.2.3/16\n' +
    `public_key=${K(0xbb)}\n` +
    'protocol_version=1\n' +
    'endpoint=[2001:DB8:0::1]:51820\n' +
    'replace_allowed_ips=true\n' +
    'allowed_ip=0.0.0.0/0\n' +
    'allowed_ip=::/0\n' +
    '\n';

  it('round trips through get', () => {
    const d = new FakeDevice();
    expect(handleUapiRequest(d, 'set=1\n' + SET_BODY, 5000)).toBe('errno=0\n\n');
    const a = d.getPeer(key(0xaa))!;
    a.lastHandshakeTime = 1_700_000_000_123.5;
    a.txBytes = 1234;
    a.rxBytes = 5678;
    expect(a.keepaliveSetAt).toEqual([5000]);
    expect(handleUapiRequest(d, 'get=1\n\n', 0)).toBe(EXPECTED_GET);
    // applying the same config again is idempotent
    expect(uapiSet(d, SET_BODY, 6000)).toEqual({ errno: 0 });
    expect(uapiGet(d)).toBe(EXPECTED_GET.replace('last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=123500000\ntx_bytes=1234\nrx_bytes=5678', 'last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0'));
  });

  it('zero keys and fwmark 0 clear', () => {
    const d = configured();
    d.fwmark = 9;
    expect(uapiSet(d, `private_key=${ZERO}\nfwmark=0\npublic_key=${K(0xaa)}\npreshared_key=${ZERO}\n\n`, 0).errno).toBe(0);
    expect(d.privateKey).toBeNull();
    expect(d.fwmark).toBe(0);
    expect(d.getPeer(key(0xaa))!.presharedKey).toBeNull();
    expect(uapiGet(d).startsWith(`listen_port=51820\npublic_key=${K(0xaa)}\npreshared_key=${ZERO}\n`)).toBe(true);
  });

  it('remove, update_only, own key, allowed_ip removal', () => {
    const d = configured();
    const body =
      `public_key=${K(0xbb)}\nremove=true\n` +
      `public_key=${K(0xcc)}\nupdate_only=true\nendpoint=1.1.1.1:1\nallowed_ip=10.9.0.0/16\n` + // new: not created
      `public_key=${K(0xaa)}\nupdate_only=true\nendpoint=1.1.1.1:2\nallowed_ip=-10.0.0.2/32\nallowed_ip=-10.1.0.0/16\n` +
      `public_key=${hx(x25519.getPublicKey(key(1)))}\nendpoint=1.1.1.1:3\nallowed_ip=10.8.0.0/16\n` + // own key: ignored
      '\n';
    expect(uapiSet(d, body, 0)).toEqual({ errno: 0 });
    expect([...d.peers()].map((p) => hx(p.publicKey))).toEqual([K(0xaa)]);
    const a = d.getPeer(key(0xaa))!;
    expect(a.endpoint).toEqual({ address: '1.1.1.1', port: 2 });
    expect(d.allowedIPs.entriesFor(a).length).toBe(1);
    expect(d.allowedIPs.size).toBe(1);
    expect(d.allowedIPs.lookupIP(new Uint8Array([10, 8, 0, 1]))).toBeUndefined();
  });

  it('allowed_ip=- only removes the prefix from its own peer', () => {
    const d = configured();
    expect(uapiSet(d, `public_key=${K(0xbb)}\nallowed_ip=-10.0.0.2/32\n\n`, 0).errno).toBe(0);
    expect(d.allowedIPs.size).toBe(5);
  });

  it('replace_allowed_ips before allowed_ip; a re-insert moves a prefix between peers', () => {
    const d = configured();
    expect(uapiSet(d, `public_key=${K(0xbb)}\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n\n`, 0).errno).toBe(0);
    const a = d.getPeer(key(0xaa))!;
    const b = d.getPeer(key(0xbb))!;
    expect(d.allowedIPs.lookupIP(new Uint8Array([10, 0, 0, 2]))).toBe(b);
    expect(d.allowedIPs.entriesFor(a).length).toBe(2);
    expect(d.allowedIPs.entriesFor(b).length).toBe(1);
  });

  it('remove then re-add in one body gives a fresh peer', () => {
    const d = configured();
    expect(uapiSet(d, `public_key=${K(0xaa)}\nremove=true\npublic_key=${K(0xaa)}\nallowed_ip=10.5.0.0/16\n\n`, 0).errno).toBe(0);
    const a = d.getPeer(key(0xaa))!;
    expect(a.endpoint).toBeNull();
    expect(d.allowedIPs.entriesFor(a).map((e) => e.bits)).toEqual([16]);
  });

  it('body framing: no trailing blank line, CRLF, text after the blank line ignored', () => {
    const d = new FakeDevice();
    expect(uapiSet(d, 'listen_port=1\r\nfwmark=2', 0).errno).toBe(0);
    expect([d.listenPort, d.fwmark]).toEqual([1, 2]);
    expect(uapiSet(d, 'listen_port=3\n\nbogus\n', 0).errno).toBe(0);
    expect(d.listenPort).toBe(3);
    expect(uapiSet(d, '', 0).errno).toBe(0);
    expect(uapiSet(d, 'listen_port=0080\n', 0).errno).toBe(0);
    expect(d.listenPort).toBe(80);
  });

  it('endpoint forms', () => {
    expect(parseEndpoint('1.2.3.4:51820')).toEqual({ address: '1.2.3.4', port: 51820 });
    expect(parseEndpoint('[::1]:0')).toEqual({ address: '::1', port: 0 });
    expect(parseEndpoint('[FE80::1%eth0]:5')).toEqual({ address: 'fe80::1%eth0', port: 5 });
    expect(parseEndpoint('[::ffff:1.2.3.4]:5')).toEqual({ address: '::ffff:1.2.3.4', port: 5 });
    for (const s of ['1.2.3.4', '1.2.3.4:', '1.2.3.4:65536', '::1:5', '[1.2.3.4]:5', '[::1]', '[::1]:x', 'example.com:5', '[fe80::1%]:5', '1.2.3.4%eth0:5', '[::1]:+5', '[::1]:123456'])
      expect(parseEndpoint(s), s).toBeNull();
    const d = configured();
    d.setPrivateKey(key(1));
    expect(uapiSet(d, `public_key=${K(0xaa)}\nendpoint=[fe80::1%eth0]:7\n\n`, 0).errno).toBe(0);
    expect(uapiGet(d)).toContain('endpoint=[fe80::1%eth0]:7\n');
  });

  const BAD: Array<[string, number]> = [
    ['listen_port=65536', -22], ['listen_port=-1', -22], ['listen_port=', -22], ['listen_port=0x10', -22], ['listen_port= 1', -22], ['listen_port=+1', -22],
    ['fwmark=4294967296', -22], ['fwmark=abc', -22], ['fwmark=99999999999999999999999', -22],
    ['private_key=' + 'zz'.repeat(32), -22], ['private_key=' + 'ab'.repeat(31), -22], ['private_key=' + 'ab'.repeat(33), -22],
    ['replace_peers=false', -22], ['replace_peers=1', -22], ['replace_peers=TRUE', -22],
    ['bogus=1', -22], ['=1', -22], ['protocol_version=1', -22], ['endpoint=1.2.3.4:5', -22], ['PRIVATE_KEY=' + K(1), -22],
    ['public_key=short', -22], ['public_key=', -22],
    ['noequals', -71], ['listen_port', -71],
  ];
  const BAD_PEER: string[] = [
    'remove=false', 'update_only=yes', 'preshared_key=xyz', 'preshared_key=' + 'g'.repeat(64),
    'endpoint=1.2.3.4', 'endpoint=1.2.3.4:65536', 'endpoint=::1:51820', 'endpoint=[1.2.3.4]:5', 'endpoint=host.example:51820', 'endpoint=',
    'persistent_keepalive_interval=65536', 'persistent_keepalive_interval=-1', 'persistent_keepalive_interval=',
    'replace_allowed_ips=false', 'allowed_ip=10.0.0.0/33', 'allowed_ip=', 'allowed_ip=-', 'allowed_ip=10.0.0.1/08', 'allowed_ip=fe80::1%eth0/64',
    'allowed_ip=10.0.0.0/8 ', 'allowed_ip=--10.0.0.0/8', 'protocol_version=2', 'protocol_version=', 'listen_port=1', 'private_key=' + K(3), 'replace_peers=true', 'fwmark=1', 'x=y',
  ];

  it('every bad key or value answers an errno and changes nothing', () => {
    const cases: Array<[string, number]> = [
      ...BAD.map(([l, e]): [string, number] => [`private_key=${ZERO}\nlisten_port=9\nreplace_peers=true\n${l}\n\n`, e]),
      ...BAD_PEER.map((l): [string, number] => [
        `fwmark=5\npublic_key=${K(0xaa)}\nremove=true\npublic_key=${K(0xbb)}\nreplace_allowed_ips=true\nallowed_ip=1.0.0.0/8\npublic_key=${K(0xdd)}\nendpoint=9.9.9.9:9\n${l}\n\n`,
        -22,
      ]),
    ];
    for (const [body, errno] of cases) {
      const d = configured();
      const before = uapiGet(d);
      expect(handleUapiRequest(d, `set=1\n${body}`, 0), body).toBe(`errno=${errno}\n\n`);
      expect(uapiSet(d, body, 0).errno, body).toBe(errno);
      expect(uapiGet(d), body).toBe(before);
    }
  });

  it('the peer limit is checked before anything changes', () => {
    const d = configured(); // 2 peers
    const before = uapiGet(d);
    const r = uapiSet(d, `listen_port=1\npublic_key=${K(1)}\npublic_key=${K(2)}\n\n`, 0, { maxPeers: 3 });
    expect(r.errno).toBe(-22);
    expect(uapiGet(d)).toBe(before);
    // removing one first makes room; update_only and own-key sections never count
    const own = hx(x25519.getPublicKey(key(1)));
    const ok = uapiSet(d, `public_key=${K(0xaa)}\nremove=true\npublic_key=${K(1)}\npublic_key=${K(2)}\npublic_key=${K(3)}\nupdate_only=true\npublic_key=${own}\n\n`, 0, { maxPeers: 3 });
    expect(ok.errno).toBe(0);
    expect([...d.peers()].length).toBe(3);
    expect(uapiSet(d, `replace_peers=true\npublic_key=${K(4)}\npublic_key=${K(5)}\npublic_key=${K(6)}\n\n`, 0, { maxPeers: 3 }).errno).toBe(0);
    expect([...d.peers()].map((p) => p.publicKey[0])).toEqual([4, 5, 6]);
  });

  it('the peer limit agrees with counting every peer at every section (property)', () => {
    // Reference: the device's peers as a set of keys, changed section by section as applying
    // would, the limit checked when a section that creates a peer ends.
    const reference = (start: number[], sections: { key: number; remove: boolean; updateOnly: boolean }[], replace: boolean, max: number): boolean => {
      const peers = new Set(replace ? [] : start);
      for (const s of sections) {
        const isNew = !peers.has(s.key);
        if (s.remove) peers.delete(s.key);
        else if (isNew && !s.updateOnly) {
          peers.add(s.key);
          if (peers.size > max) return false;
        }
      }
      return true;
    };
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { maxLength: 5 }),
        fc.array(fc.record({ key: fc.integer({ min: 1, max: 8 }), remove: fc.boolean(), updateOnly: fc.boolean() }), { maxLength: 10 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 6 }),
        (start, sections, replace, max) => {
          const d = new FakeDevice();
          for (const k of start) d.addPeer(Uint8Array.from({ length: 32 }, () => k));
          const body =
            (replace ? 'replace_peers=true\n' : '') +
            sections.map((s) => `public_key=${K(s.key)}\n${s.updateOnly ? 'update_only=true\n' : ''}${s.remove ? 'remove=true\n' : ''}`).join('') +
            '\n';
          const ok = uapiSet(d, body, 0, { maxPeers: max }).errno === 0;
          expect(ok, body).toBe(reference(start, sections, replace, max));
        },
      ),
      { seed: 5, numRuns: 2000 },
    );
  });
});

describe('handleUapiRequest', () => {
  it('dispatches get and set, rejects anything else', () => {
    const d = configured();
    expect(handleUapiRequest(d, 'get=1\n\n', 0)).toBe(EXPECTED_GET);
    expect(handleUapiRequest(d, 'get=1\nx\n\n', 0)).toBe('errno=-22\n\n');
    expect(handleUapiRequest(d, 'get=1\n', 0)).toBe('errno=-22\n\n');
    expect(handleUapiRequest(d, 'set=1\nlisten_port=2\n\n', 0)).toBe('errno=0\n\n');
    expect(d.listenPort).toBe(2);
    expect(handleUapiRequest(d, 'get=2\n\n', 0)).toBe('errno=-22\n\n');
    expect(handleUapiRequest(d, '\n', 0)).toBe('errno=-22\n\n');
    expect(handleUapiRequest(d, '', 0)).toBe('errno=-22\n\n');
  });

  it('handles 100k allowed_ip lines', () => {
    const d = new FakeDevice();
    const lines = ['set=1', `public_key=${K(0xaa)}`, 'replace_allowed_ips=true'];
    for (let i = 0; i < 100_000; i++) lines.push(`allowed_ip=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
    expect(handleUapiRequest(d, lines.join('\n') + '\n\n', 0)).toBe('errno=0\n\n');
    expect(d.allowedIPs.size).toBe(100_000);
    const out = uapiGet(d);
    expect(out.split('\n').filter((l) => l.startsWith('allowed_ip=')).length).toBe(100_000);
  });

  it('arbitrary text never throws and never changes state when it fails', () => {
    const lineArb = fc.oneof(
      fc.constantFrom(
        `private_key=${K(7)}`, `private_key=${ZERO}`, 'listen_port=1234', 'fwmark=3', 'fwmark=0', 'replace_peers=true',
        `public_key=${K(0xaa)}`, `public_key=${K(0xbb)}`, `public_key=${K(0xcc)}`, `public_key=${hx(x25519.getPublicKey(key(1)))}`,
        'remove=true', 'update_only=true', `preshared_key=${K(9)}`, `preshared_key=${ZERO}`, 'endpoint=10.0.0.1:1', 'endpoint=[::1]:2',
        'persistent_keepalive_interval=5', 'persistent_keepalive_interval=0', 'replace_allowed_ips=true', 'allowed_ip=10.0.0.0/8',
        'allowed_ip=-10.1.0.0/16', 'allowed_ip=::/0', 'allowed_ip=-::/0', 'protocol_version=1', '', 'get=1', 'set=1',
      ),
      fc.tuple(
        fc.constantFrom('private_key', 'listen_port', 'fwmark', 'public_key', 'endpoint', 'allowed_ip', 'remove', 'protocol_version', 'persistent_keepalive_interval', 'x'),
        fc.string({ maxLength: 70 }),
      ).map(([k, v]) => `${k}=${v}`),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.constantFrom('set=1\n', 'get=1\n', '', 'set=1'), fc.array(lineArb, { maxLength: 25 }), (head, lines) => {
        const d = configured();
        const before = uapiGet(d);
        let answer = '';
        expect(() => { answer = handleUapiRequest(d, head + lines.join('\n') + '\n\n', 1); }).not.toThrow();
        expect(answer).toMatch(/(^|\n)errno=-?\d+\n\n$/);
        if (!answer.endsWith('errno=0\n\n') || head !== 'set=1\n') expect(uapiGet(d)).toBe(before);
      }),
      { seed: 42, numRuns: 600 },
    );
  });
});

describe('against the real Device', async () => {
  const { Device } = await import('../../src/wireguard/device.js');
  const { nobleCrypto } = await import('../../src/crypto/index.js');
  function makeDevice(): { dev: InstanceType<typeof Device>; sent: Array<{ to: UapiEndpoint; len: number }> } {
    const sent: Array<{ to: UapiEndpoint; len: number }> = [];
    const dev = new Device({
      io: { sendDatagram: (data, to) => sent.push({ to: { ...to }, len: data.length }), deliverPacket: () => {} },
      crypto: nobleCrypto,
      random: (n) => new Uint8Array(n).fill(7),
    });
    return { dev, sent };
  }
  const BODY =
    `private_key=${K(1)}\nlisten_port=51820\nreplace_peers=true\n` +
    `public_key=${K(0xaa)}\npreshared_key=${K(0x55)}\nendpoint=192.0.2.1:51821\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\nallowed_ip=fd00::2/128\n` +
    `public_key=${K(0xbb)}\nendpoint=[2001:db8::1]:51820\nreplace_allowed_ips=true\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n\n`;

  it('set then get, byte-exact', () => {
    const { dev } = makeDevice();
    expect(handleUapiRequest(dev, 'set=1\n' + BODY, 1000)).toBe('errno=0\n\n');
    expect(handleUapiRequest(dev, 'get=1\n\n', 1000)).toBe(
      `private_key=${K(1)}\nlisten_port=51820\n` +
        `public_key=${K(0xaa)}\npreshared_key=${K(0x55)}\nprotocol_version=1\nendpoint=192.0.2.1:51821\n` +
        'last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n' +
        'allowed_ip=10.0.0.2/32\nallowed_ip=fd00::2/128\n' +
        `public_key=${K(0xbb)}\npreshared_key=${ZERO}\nprotocol_version=1\nendpoint=[2001:db8::1]:51820\n` +
        'last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n' +
        'allowed_ip=0.0.0.0/0\nallowed_ip=::/0\nerrno=0\n\n',
    );
    const buf = new Uint8Array([10, 0, 0, 2]);
    expect(dev.allowedIPs.lookup(4, buf, 0)).toBe(dev.getPeer(key(0xaa)));
  });

  it('turning on persistent keepalive starts traffic to the endpoint', () => {
    const { dev, sent } = makeDevice();
    expect(uapiSet(dev, BODY, 1000).errno).toBe(0);
    expect(sent.length).toBe(0);
    expect(uapiSet(dev, `public_key=${K(0xaa)}\npersistent_keepalive_interval=25\n\n`, 2000).errno).toBe(0);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]!.to).toEqual({ address: '192.0.2.1', port: 51821 });
  });

  it('own key section ignored; failures leave the real device untouched', () => {
    const { dev } = makeDevice();
    expect(uapiSet(dev, BODY, 0).errno).toBe(0);
    const own = hx(dev.publicKey!);
    expect(uapiSet(dev, `public_key=${own}\nallowed_ip=10.7.0.0/16\n\n`, 0).errno).toBe(0);
    expect(dev.peerCount).toBe(2);
    const before = uapiGet(dev);
    expect(uapiSet(dev, `private_key=${ZERO}\nreplace_peers=true\npublic_key=${K(3)}\nallowed_ip=1.2.3.4/40\n\n`, 0).errno).toBe(-22);
    expect(uapiGet(dev)).toBe(before);
    expect(uapiSet(dev, `private_key=${ZERO}\n\n`, 0).errno).toBe(0);
    expect(dev.privateKey).toBeNull();
    expect(uapiGet(dev).startsWith('listen_port=51820\npublic_key=')).toBe(true);
  });
});
