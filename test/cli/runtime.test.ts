import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { netstackIgnoredKeys } from '../../src/cli/runtime.js';

const K1 = 'iMD1/Ar7MMTx5tGNsBaiXj7c6NV8DBPoADux4fIneEM=';

describe('netstack mode: wg-quick keys that only act on a kernel interface', () => {
  it('are named so `wgts up` can warn that they are ignored', () => {
    expect(netstackIgnoredKeys(parseConfig(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.1/24\nDNS = 1.1.1.1\nMTU = 1400\n`, 'a.conf'))).toEqual([]);
    const cfg = parseConfig(
      `[Interface]\nPrivateKey = ${K1}\nPostUp = echo up\nPreDown = echo down\nTable = off\nSaveConfig = true\nDNS = 1.1.1.1, corp.example\n`,
      'b.conf',
    );
    expect(netstackIgnoredKeys(cfg)).toEqual(['PostUp', 'PreDown', 'Table', 'SaveConfig', 'DNS search domains']);
  });
});
