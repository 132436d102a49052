/** Two real endpoints over UDP on 127.0.0.1 (dgram bind), for API tests. */
import { nodeCrypto } from '../../src/crypto/index.js';
import { WireGuard, type WireGuardOptions } from '../../src/node/endpoint-runtime.js';

export interface Pair {
  a: WireGuard;
  b: WireGuard;
  close(): Promise<void>;
}

const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');

/** a = 10.7.0.1 (server), b = 10.7.0.2 (client pointing at a). */
export async function makePair(extraA: Partial<WireGuardOptions> = {}, extraB: Partial<WireGuardOptions> = {}): Promise<Pair> {
  const ka = nodeCrypto.generatePrivateKey();
  const kb = nodeCrypto.generatePrivateKey();
  const a = await WireGuard.create({
    privateKey: ka,
    listenPort: 0,
    addresses: ['10.7.0.1/24', 'fd07::1/64'],
    bind: 'dgram',
    peers: [{ publicKey: b64(nodeCrypto.publicKey(kb)), allowedIPs: ['10.7.0.2/32', 'fd07::2/128'] }],
    ...extraA,
  });
  const b = await WireGuard.create({
    privateKey: kb,
    listenPort: 0,
    addresses: ['10.7.0.2/24', 'fd07::2/64'],
    bind: 'dgram',
    peers: [{ publicKey: b64(nodeCrypto.publicKey(ka)), allowedIPs: ['10.7.0.0/24', 'fd07::/64'], endpoint: `127.0.0.1:${a.listenPort}` }],
    ...extraB,
  });
  return {
    a,
    b,
    close: async () => {
      await b.close();
      await a.close();
    },
  };
}
