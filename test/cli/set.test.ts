import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSetArgs, readKeyFile } from '../../src/cli/set.js';
import { formatUapiSet } from '../../src/config/uapi.js';
import { UsageError } from '../../src/cli/context.js';

const FIX = join(import.meta.dirname, 'fixtures');
const readKey = (p: string): Uint8Array => readKeyFile(p.startsWith('/') ? p : join(FIX, p));

/** Minimal shell word splitting: whitespace separates, "..." groups. */
function words(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2]!);
  return out;
}

const B = '/l1risLub8HG6hQqde2xPQCg5Vv+SxOdzWba3TqUb5U=';
const B_HEX = 'fe5d6b8ac2ee6fc1c6ea142a75edb13d00a0e55bfe4b139dcd66dadd3a946f95';

describe('wgts set sends what wg set sends', () => {
  // fixtures/set-cases.txt: "== ARGS" then the set=1 body wg produced for `wg set IFACE ARGS`.
  const cases = readFileSync(join(FIX, 'set-cases.txt'), 'utf8').split(/^== /m).filter(Boolean);
  expect(cases.length).toBe(7);
  for (const c of cases) {
    const nl = c.indexOf('\n');
    const args = c.slice(0, nl);
    it(args, () => {
      expect(formatUapiSet(parseSetArgs(words(args), readKey))).toBe(c.slice(nl + 1));
    });
  }
});

describe('wgts set: incremental allowed-ips and errors', () => {
  it('+/- entries change the list instead of replacing it (current wireguard-tools)', () => {
    expect(formatUapiSet(parseSetArgs(['peer', B, 'allowed-ips', '10.0.0.0/8, +fd00::/64,-10.1.0.0/16']))).toBe(
      `set=1\npublic_key=${B_HEX}\nallowed_ip=10.0.0.0/8\nallowed_ip=fd00::/64\nallowed_ip=-10.1.0.0/16\n\n`,
    );
  });
  const bad: [string[], string][] = [
    [['listen-port', '65536'], 'Listen port is not a number 0-65535'],
    [['fwmark', 'x'], 'Fwmark is neither 0/off nor 0-0xffffffff'],
    [['peer', 'short'], 'Key is not the correct length or format'],
    [['remove'], 'Invalid argument: remove'],
    [['endpoint', '1.2.3.4:5'], 'Invalid argument: endpoint'],
    [['peer', B, 'listen-port', '1'], 'Invalid argument: listen-port'],
    [['peer', B, 'endpoint', '1.2.3.4'], 'Unable to parse endpoint'],
    [['peer', B, 'allowed-ips', '10.0.0.0/40'], "AllowedIP is not in the correct format: `10.0.0.0/40'"],
    [['peer', B, 'persistent-keepalive', '-1'], 'Persistent keepalive interval is neither 0/off nor 1-65535'],
    [['peer', B, 'endpoint'], "Missing value for `endpoint'"],
    [['private-key', join(FIX, 'conf1.conf')], 'Found trailing character in key file'],
    [['private-key', join(FIX, 'no-such-file')], 'Unable to read key file'],
  ];
  for (const [args, msg] of bad) {
    it(args.join(' '), () => {
      expect(() => parseSetArgs(args)).toThrow(UsageError);
      expect(() => parseSetArgs(args)).toThrow(msg);
    });
  }
});
