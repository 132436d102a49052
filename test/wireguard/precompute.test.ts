import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import { Device } from '../../src/wireguard/device.js';

const io = { sendDatagram: () => {}, deliverPacket: () => {} };

describe('Device.precomputeStaticStatic', () => {
  it('computes at most max pending static-static DHs and reports how many remain', () => {
    const d = new Device({ crypto: nodeCrypto, io });
    const priv = nodeCrypto.generatePrivateKey();
    d.setPrivateKey(priv);
    const pubs = [0, 1, 2].map(() => nodeCrypto.publicKey(nodeCrypto.generatePrivateKey()));
    const peers = pubs.map((p) => d.addPeer(p));
    expect(d.precomputeStaticStatic(0)).toBe(3);
    expect(peers.every((p) => p.handshake.precomputedStaticStatic === null)).toBe(true);
    expect(d.precomputeStaticStatic(2)).toBe(1);
    expect(peers.filter((p) => p.handshake.precomputedStaticStatic !== null)).toHaveLength(2);
    expect(d.precomputeStaticStatic(10)).toBe(0);
    for (let i = 0; i < 3; i++) expect(peers[i]!.handshake.precomputedStaticStatic).toEqual(nodeCrypto.sharedSecret(priv, pubs[i]!));
    // A removed peer is no longer pending; a new private key makes every peer pending again.
    d.removePeer(pubs[0]!);
    d.setPrivateKey(nodeCrypto.generatePrivateKey());
    expect(d.precomputeStaticStatic(0)).toBe(2);
  });

  it('has nothing to compute without a private key', () => {
    const d = new Device({ crypto: nodeCrypto, io });
    d.addPeer(nodeCrypto.publicKey(nodeCrypto.generatePrivateKey()));
    expect(d.precomputeStaticStatic(10)).toBe(0);
  });
});
