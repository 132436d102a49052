import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUapiGet } from '../../src/config/uapi.js';
import { nobleCrypto } from '../../src/crypto/index.js';
import { formatField, formatPretty, formatShowconf, prettyBytes, prettyTime, SHOW_FIELDS, type ShownDevice } from '../../src/cli/show-format.js';

// Expected texts are what the installed wg (wireguard-tools v1.0.20210914) printed for
// the same get=1 replies served by a fake UAPI socket (fixtures/capture.sh).
const FIX = join(import.meta.dirname, 'fixtures');
const fixture = (name: string): string => readFileSync(join(FIX, name), 'utf8');

function shown(state: string): { d: ShownDevice; now: number } {
  const device = parseUapiGet(fixture(`${state}.get`));
  const d: ShownDevice = { name: 'wgtsfx6', device };
  if (device.privateKey) d.publicKey = nobleCrypto.publicKey(device.privateKey);
  return { d, now: Number(fixture(`${state}.now`).trim()) };
}

describe('wg show, byte for byte', () => {
  for (const state of ['stateA', 'stateB', 'stateC']) {
    it(`${state}: pretty, coloured, keys shown`, () => {
      const { d, now } = shown(state);
      expect(formatPretty(d, { color: false, hideKeys: true, nowSec: now })).toBe(fixture(`${state}.show.txt`));
      expect(formatPretty(d, { color: true, hideKeys: true, nowSec: now })).toBe(fixture(`${state}.show-color.txt`));
      expect(formatPretty(d, { color: false, hideKeys: false, nowSec: now })).toBe(fixture(`${state}.show-keys.txt`));
    });
    it(`${state}: every field and dump`, () => {
      const { d } = shown(state);
      const text = SHOW_FIELDS.map((f) => `== ${f}\n${formatField(d, f, false)}`).join('');
      expect(text).toBe(fixture(`${state}.fields.txt`));
    });
    it(`${state}: showconf`, () => {
      expect(formatShowconf(shown(state).d.device)).toBe(fixture(`${state}.showconf.txt`));
    });
  }

  it('prefixes the interface name for `show all FIELD`', () => {
    const { d } = shown('stateA');
    const lines = formatField(d, 'transfer', true).split('\n').filter(Boolean);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l.startsWith('wgtsfx6\t')).toBe(true);
    expect(formatField(d, 'listen-port', true)).toBe('wgtsfx6\t51820\n');
  });

  it('says so when the clock is behind the handshake', () => {
    const { d, now } = shown('stateA');
    expect(formatPretty(d, { color: false, hideKeys: true, nowSec: now - 100 })).toContain('latest handshake: (System clock wound backward; connection problems may ensue.)\n');
    expect(formatPretty(d, { color: false, hideKeys: true, nowSec: d.device.peers[3]!.lastHandshakeSec })).toContain('latest handshake: Now\n');
  });
});

describe('human units', () => {
  const plain = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
  it('prints times like wg', () => {
    expect(plain(prettyTime(63))).toBe('1 minute, 3 seconds');
    expect(plain(prettyTime(3600))).toBe('1 hour');
    expect(plain(prettyTime(365 * 86400 + 86400 + 1))).toBe('1 year, 1 day, 1 second');
    expect(plain(prettyTime(2 * 365 * 86400 + 2 * 86400 + 2 * 3600 + 120 + 2))).toBe('2 years, 2 days, 2 hours, 2 minutes, 2 seconds');
  });
  it('prints amounts like printf("%.2f"), ties to even', () => {
    const cases: [bigint, string][] = [
      [0n, '0 B'],
      [1023n, '1023 B'],
      [1024n, '1.00 KiB'],
      [1152n, '1.12 KiB'], // 1.125: C rounds half to even, toFixed would say 1.13
      [1160n, '1.13 KiB'], // 1.1328125
      [1047552n, '1023.00 KiB'],
      [1048575n, '1024.00 KiB'],
      [1048576n, '1.00 MiB'],
      [99999999n, '95.37 MiB'],
      [5368709120n, '5.00 GiB'],
      [1099511627776000n, '1000.00 TiB'],
      [18446744073709551615n, '16777216.00 TiB'],
    ];
    for (const [b, s] of cases) expect(plain(prettyBytes(b))).toBe(s);
  });
});
