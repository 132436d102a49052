/** `wgts up --mode tun` re-resolves hostname endpoints over UAPI while handshakes fail. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { RERESOLVE_INTERVAL_MS } from '../../src/config/reresolve.js';
import { UapiServer } from '../../src/node/uapi-server.js';
import { createLogger } from '../../src/cli/tun-exec.js';
import { startTunReresolver } from '../../src/cli/tun-reresolve.js';

const K1 = 'iMD1/Ar7MMTx5tGNsBaiXj7c6NV8DBPoADux4fIneEM=';
const K2 = 'aezl40pjMHg6SHwJKYc8Jo7v0ZoazPwlVpiRfPTJPys=';
const K3 = 'YGkR5zeVKYoAJ0+DUu6RuwfcxTBhdRewcvwNCm+kwks=';
const hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

describe('tun-mode endpoint re-resolution', () => {
  it('sets the endpoint again when tx grows without a handshake and the name answers differently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgts-rr-'));
    const state = { endpoint: '192.0.2.1:51820', tx: 0, handshakeSec: 0 };
    const sets: string[] = [];
    const server = await UapiServer.listen(
      (req) => {
        if (req.startsWith('get=1')) {
          return (
            `private_key=${hex(K1)}\nlisten_port=51820\n` +
            `public_key=${hex(K2)}\nendpoint=${state.endpoint}\nlast_handshake_time_sec=${state.handshakeSec}\nlast_handshake_time_nsec=0\ntx_bytes=${state.tx}\nrx_bytes=0\npersistent_keepalive_interval=0\nallowed_ip=10.0.0.2/32\n` +
            `public_key=${hex(K3)}\nendpoint=192.0.2.9:51820\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=${state.tx}\nrx_bytes=0\npersistent_keepalive_interval=0\n` +
            `errno=0\n\n`
          );
        }
        sets.push(req);
        return 'errno=0\n\n';
      },
      { path: join(dir, 'rrt0.sock') },
    );
    try {
      const cfg = parseConfig(
        `[Interface]\nPrivateKey = ${K1}\n[Peer]\nPublicKey = ${K2}\nEndpoint = moving.example:51820\nAllowedIPs = 10.0.0.2/32\n[Peer]\nPublicKey = ${K3}\nEndpoint = 192.0.2.9:51820\n`,
        'rrt0.conf',
      );
      let clock = 1_700_000_000_000;
      const lines: string[] = [];
      const answers = ['192.0.2.1', '198.51.100.7'];
      const asked: string[] = [];
      const rr = startTunReresolver(
        'rrt0',
        cfg,
        {
          env: { WGTS_UAPI_DIR: dir },
          log: createLogger('debug', (l) => lines.push(l)),
          now: () => clock,
          lookup: async (h) => {
            asked.push(h);
            return answers.shift()!;
          },
        },
        false,
      )!;
      expect(rr).not.toBeNull();
      await rr.poll(); // first reading of tx
      clock += RERESOLVE_INTERVAL_MS;
      await rr.poll(); // tx unchanged: not trying
      expect(asked).toEqual([]);
      state.tx = 148;
      await rr.poll(); // trying, never a handshake: same answer, nothing set
      expect(asked).toEqual(['moving.example']);
      expect(sets).toEqual([]);
      state.tx = 296;
      clock += RERESOLVE_INTERVAL_MS - 1;
      await rr.poll();
      expect(asked).toHaveLength(1); // within the interval
      state.tx = 444;
      clock += 1;
      await rr.poll();
      expect(asked).toEqual(['moving.example', 'moving.example']);
      expect(sets).toEqual([`set=1\npublic_key=${hex(K2)}\nendpoint=198.51.100.7:51820\n\n`]);
      expect(lines.join('')).toContain('moving.example re-resolved, endpoint 192.0.2.1:51820 → 198.51.100.7:51820');
      rr.stop();
      expect(startTunReresolver('rrt0', parseConfig(`[Peer]\nPublicKey = ${K3}\nEndpoint = 192.0.2.9:1\n`, 'x.conf'), { env: {}, log: createLogger('silent') }, false)).toBeNull();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
