/**
 * Config mistakes never partially apply: a UAPI set with one bad line —
 * any key, any position — changes nothing on a real Device: not the `get`
 * output, not the peers or their sessions, and nothing is sent (turning on
 * persistent keepalive would send at once).
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import { uapiGet, uapiSet } from '../../src/wireguard/uapi.js';
import { ipv4Packet, makePair } from '../wireguard/harness.js';

const K = (b: number): string => b.toString(16).padStart(2, '0').repeat(32);

/** A body that uses every key wireguard.com/xplatform defines for set. */
const GOOD_LINES = [
  `private_key=${K(0x48)}`,
  'listen_port=51821',
  'fwmark=7',
  'replace_peers=true',
  `public_key=${K(0x21)}`,
  `preshared_key=${K(0x33)}`,
  'endpoint=[2001:db8::5]:51820',
  'persistent_keepalive_interval=25',
  'replace_allowed_ips=true',
  'allowed_ip=10.9.0.0/16',
  'allowed_ip=fd09::/64',
  'protocol_version=1',
  `public_key=${K(0x22)}`,
  'update_only=true',
  'endpoint=192.0.2.77:1',
  `public_key=${K(0x23)}`,
  'remove=true',
  `public_key=${K(0x24)}`,
  'allowed_ip=-10.9.0.0/16',
];

const BAD_VALUES: Record<string, string[]> = {
  private_key: [K(0x48).slice(0, 63), 'zz'.repeat(32), ''],
  listen_port: ['65536', '-1', '0x10', ''],
  fwmark: ['4294967296', '0x10', ' 1'],
  replace_peers: ['false', 'TRUE', '1'],
  public_key: [K(0x21) + '0', 'x'],
  update_only: ['false'],
  remove: ['yes'],
  preshared_key: [K(0x33).slice(2), 'g'.repeat(64)],
  endpoint: ['192.0.2.1', '[::1]', '192.0.2.1:65536', 'example.com:1', '::1:5'],
  persistent_keepalive_interval: ['65536', '-1', '1.5'],
  replace_allowed_ips: ['no'],
  allowed_ip: ['10.0.0.0/33', '::/129', 'x/1', '10.0.0.1', '-'],
  protocol_version: ['2', '0', ''],
};

function snapshot(p: ReturnType<typeof makePair>) {
  const d = p.b.device;
  return {
    get: uapiGet(d),
    sent: p.b.sent.length,
    peers: [...d.peers()],
    sessions: [...d.peers()].map((x) => [x.keypairs.previous, x.keypairs.current, x.keypairs.next]),
    keepalive: [...d.peers()].map((x) => x.persistentKeepalive),
    index: d.indexCount,
  };
}

describe('a UAPI set with one bad line changes nothing (real Device)', () => {
  const p = makePair(nodeCrypto);
  p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), p.sim.now);
  p.sim.advance(50);
  // B has a live session with A and a second peer that the body would update.
  expect(uapiSet(p.b.device, `public_key=${K(0x22)}\nallowed_ip=10.22.0.0/16\n`, p.sim.now).errno).toBe(0);

  it('the good body itself applies (so each failure below is the bad line\'s doing)', () => {
    const q = makePair(nodeCrypto);
    expect(uapiSet(q.b.device, `${GOOD_LINES.join('\n')}\n`, q.sim.now)).toEqual({ errno: 0 });
    expect(uapiGet(q.b.device)).toContain('persistent_keepalive_interval=25');
  });

  const cases: [string, string][] = [];
  GOOD_LINES.forEach((line, i) => {
    const key = line.slice(0, line.indexOf('='));
    for (const bad of BAD_VALUES[key]!) {
      const lines = [...GOOD_LINES];
      lines[i] = `${key}=${bad}`;
      cases.push([`line ${i + 1} ${key}=${bad}`, `${lines.join('\n')}\n`]);
    }
  });
  // A bad line at the very end, after everything valid; and lines that are not key=value at all.
  for (const tail of ['unknown_key=1', 'private_key=1', 'no equals sign', `public_key=${K(0x25)}\nlisten_port=1`]) {
    cases.push([`tail ${tail.split('\n').at(-1)}`, `${GOOD_LINES.join('\n')}\n${tail}\n`]);
  }

  it.each(cases)('%s', (_name, body) => {
    const before = snapshot(p);
    const r = uapiSet(p.b.device, body, p.sim.now);
    expect(r.errno).toBeLessThan(0);
    p.sim.advance(10);
    const after = snapshot(p);
    expect(after.get).toBe(before.get);
    expect(after.sent).toBe(before.sent);
    expect(after.peers).toEqual(before.peers);
    after.peers.forEach((peer, i) => expect(peer).toBe(before.peers[i]));
    after.sessions.forEach((s, i) => s.forEach((kp, j) => expect(kp).toBe(before.sessions[i]![j])));
    expect(after.keepalive).toEqual(before.keepalive);
    expect(after.index).toBe(before.index);
  });

  it('covers every set key', () => {
    const keys = new Set(GOOD_LINES.map((l) => l.slice(0, l.indexOf('='))));
    expect([...keys].sort()).toEqual(Object.keys(BAD_VALUES).sort());
    expect(keys.size).toBe(13);
  });
});
