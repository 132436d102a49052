import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseConfig,
  toUapiSet,
  toUapiSync,
  parseUapiGet,
  parseUapiSetReply,
  UapiError,
  ConfigError,
  keyToHex,
  formatPrefix,
  resolveEndpoints,
} from '../../src/config/index.js';

const FIX = join(import.meta.dirname, '../cli/fixtures');
const fixture = (name: string): string => readFileSync(join(FIX, name), 'utf8');

// The *.setconf/addconf/syncconf.txt fixtures are what the installed `wg` (wireguard-tools
// v1.0.20210914) sent to a fake UAPI socket for these files (see fixtures/capture.sh).
describe('toUapiSet: byte-exact against wg setconf/addconf', () => {
  for (const c of ['conf1', 'conf2', 'conf3']) {
    it(`${c} setconf`, () => {
      const cfg = parseConfig(fixture(`${c}.conf`), `${c}.conf`);
      expect(toUapiSet(cfg)).toBe(fixture(`${c}.setconf.txt`));
    });
    it(`${c} addconf`, () => {
      const cfg = parseConfig(fixture(`${c}.conf`), `${c}.conf`);
      expect(toUapiSet(cfg, { mode: 'addconf' })).toBe(fixture(`${c}.addconf.txt`));
    });
  }
});

describe('toUapiSync: wg syncconf against the device in stateA.get', () => {
  const runtime = parseUapiGet(fixture('stateA.get'));
  it('conf1 (same bytes as wg)', () => {
    const cfg = parseConfig(fixture('conf1.conf'), 'conf1.conf');
    expect(toUapiSync(cfg, runtime)).toBe(fixture('conf1.syncconf.txt'));
  });
  it('conf2: also clears a keepalive the file dropped (current wireguard-tools)', () => {
    const cfg = parseConfig(fixture('conf2.conf'), 'conf2.conf');
    const expected = fixture('conf2.syncconf.txt').replace(
      'public_key=e42bbf8533f4f0b1d44e7fc1c9ac54a6ac368642dd1b8a10a1775255eed0c31a\n',
      'public_key=e42bbf8533f4f0b1d44e7fc1c9ac54a6ac368642dd1b8a10a1775255eed0c31a\npersistent_keepalive_interval=0\n',
    );
    expect(toUapiSync(cfg, runtime)).toBe(expected);
  });
  it('conf3: also clears the preshared key and keepalive the file dropped (current wireguard-tools)', () => {
    // wg v1.0.20210914 did not clear these yet; newer wireguard-tools (setconf.c sync_conf) does.
    const cfg = parseConfig(fixture('conf3.conf'), 'conf3.conf');
    const expected = fixture('conf3.syncconf.txt').replace(
      'public_key=698750a09b934337746f0973448167f364cae132e2f8b327ae4913e5b5445029\n',
      'public_key=698750a09b934337746f0973448167f364cae132e2f8b327ae4913e5b5445029\npreshared_key=' + '0'.repeat(64) + '\npersistent_keepalive_interval=0\n',
    );
    expect(toUapiSync(cfg, runtime)).toBe(expected);
  });
  it('a device without peers gets a plain setconf', () => {
    const cfg = parseConfig(fixture('conf1.conf'), 'conf1.conf');
    expect(toUapiSync(cfg, { listenPort: 0, fwmark: 0, peers: [] })).toBe(fixture('conf1.setconf.txt'));
  });
});

describe('endpoint hostnames', () => {
  const text = `[Peer]\nPublicKey = aezl40pjMHg6SHwJKYc8Jo7v0ZoazPwlVpiRfPTJPys=\nEndpoint = vpn.example:51820\n`;
  it('must be resolved before building the set body', async () => {
    const cfg = parseConfig(text, 'h.conf');
    expect(() => toUapiSet(cfg, { fileName: 'h.conf' })).toThrow(ConfigError);
    const resolved = await resolveEndpoints(cfg, 'h.conf', async (h) => (h === 'vpn.example' ? '2001:db8::7' : '0.0.0.0'));
    expect(toUapiSet(cfg, { resolved })).toContain('\nendpoint=[2001:db8::7]:51820\n');
  });
  it('a failed lookup names the host', async () => {
    const cfg = parseConfig(text, 'h.conf');
    await expect(
      resolveEndpoints(cfg, 'h.conf', async () => {
        throw new Error('ENOTFOUND');
      }),
    ).rejects.toThrow("h.conf: Endpoint: cannot resolve `vpn.example': ENOTFOUND");
  });
});

describe('parseUapiGet', () => {
  it('reads every field of a reply', () => {
    const dev = parseUapiGet(fixture('stateA.get'));
    expect(dev.listenPort).toBe(51820);
    expect(dev.fwmark).toBe(0x1234);
    expect(dev.peers).toHaveLength(4);
    const [p1, p2, p3] = dev.peers;
    expect(keyToHex(p1!.presharedKey!)).toBe('39f6cc9c7905258eefb12281deb580f3daaf0803686f02ad0a83bfa08f8526b4');
    expect(p1!.endpoint).toEqual({ host: '192.0.2.7', port: 51820 });
    expect(p1!.allowedIPs.map(formatPrefix)).toEqual(['10.0.0.2/32', 'fd00::2/128', '192.168.0.0/16']);
    expect(p1!.rxBytes).toBe(99999999n);
    expect(p1!.lastHandshakeNsec).toBe(5000);
    expect(p1!.protocolVersion).toBe(1);
    expect(p2!.presharedKey).toBeUndefined(); // all zeros means none
    expect(p2!.endpoint).toEqual({ host: '2001:db8::1', port: 4500 });
    expect(p3!.txBytes).toBe(1099511627776000n);
  });

  it('reports errno and malformed replies as UapiError', () => {
    expect(() => parseUapiGet('errno=-19\n\n')).toThrow(expect.objectContaining({ errno: 19 }));
    expect(() => parseUapiGet('listen_port=1\n')).toThrow('truncated UAPI reply');
    expect(() => parseUapiGet('listen_port=70000\nerrno=0\n\n')).toThrow(UapiError);
    expect(() => parseUapiGet('public_key=zz\nerrno=0\n\n')).toThrow(UapiError);
    expect(() => parseUapiGet('garbage\nerrno=0\n\n')).toThrow(UapiError);
    expect(parseUapiGet('unknown_key=whatever\nerrno=0\n\n').peers).toEqual([]);
    expect(parseUapiSetReply('errno=0\n\n')).toBe(0);
    expect(parseUapiSetReply('errno=-22\n\n')).toBe(22);
    expect(() => parseUapiSetReply('nonsense')).toThrow(UapiError);
  });

  it('takes arbitrary text without throwing anything but UapiError', () => {
    const piece = fc.constantFrom('public_key=', 'allowed_ip=', 'endpoint=', 'rx_bytes=', 'errno=', '0', '=', '\n', '/', ':', '[', ']', 'a'.repeat(64), '1'.repeat(25), '10.0.0.1/32', '-1');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(piece, { maxLength: 40 }).map((a) => a.join(''))), (t) => {
        try {
          parseUapiGet(t);
        } catch (e) {
          if (!(e instanceof UapiError)) throw e;
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});
