/**
 * Ephemerals prepared ahead of a handshake message (noise.prepareEphemeral,
 * Device.prepareHandshakes / prepareEphemerals): the same bytes as an ephemeral
 * made in the message, used at most once, wiped after use, expiry and removal.
 */
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { INITIATION, RESPONSE } from '../../src/wireguard/messages.js';
import { PREPARED_EPHEMERAL_MAX_AGE } from '../../src/wireguard/device.js';
import {
  Handshake,
  HandshakeState,
  PreparedEphemeral,
  consumeInitiation,
  createInitiation,
  createResponse,
  prepareEphemeral,
  responderInitialHash,
} from '../../src/wireguard/noise.js';
import { ipv4Packet, keyFrom, makePair, type Pair } from './harness.js';

const isZero = (b: Uint8Array) => b.every((x) => x === 0);
const ephemeralOf = (msg: Uint8Array, offset: number) => Uint8Array.from(msg.subarray(offset, offset + 32));

for (const crypto of [nodeCrypto, nobleCrypto]) {
  describe(`prepared ephemerals (${crypto.name})`, () => {
    const i = keyFrom(1, crypto);
    const r = keyFrom(2, crypto);
    const e = keyFrom(3, crypto);
    const timestamp = Uint8Array.from({ length: 12 }, (_, k) => k + 1);

    function initiation(eph: Uint8Array | PreparedEphemeral): { msg: Uint8Array; hs: Handshake } {
      const hs = new Handshake(r.pub, crypto);
      hs.precomputedStaticStatic = crypto.sharedSecret(i.priv, r.pub);
      const msg = new Uint8Array(148);
      expect(createInitiation(crypto, hs, i.pub, eph, timestamp, 0x01020304, msg)).toBe(true);
      return { msg, hs };
    }

    it('an initiation from a prepared ephemeral is byte-identical and consumes it', () => {
      const raw = initiation(Uint8Array.from(e.priv));
      const p = prepareEphemeral(crypto, r.pub, Uint8Array.from(e.priv), 5)!;
      expect(p.publicKey).toEqual(e.pub);
      expect(p.remoteStaticDh).toEqual(crypto.sharedSecret(e.priv, r.pub));
      const prepared = initiation(p);
      expect(prepared.msg).toEqual(raw.msg);
      expect(prepared.hs.hash).toEqual(raw.hs.hash);
      expect(prepared.hs.chainKey).toEqual(raw.hs.chainKey);
      // The private key became the handshake's ephemeral; the DH result is wiped.
      expect(prepared.hs.localEphemeral).toBe(p.privateKey);
      expect(isZero(p.remoteStaticDh)).toBe(true);
      prepared.hs.clear();
      expect(isZero(p.privateKey)).toBe(true);
    });

    it('a response from a prepared ephemeral is byte-identical', () => {
      const { msg } = initiation(Uint8Array.from(keyFrom(4, crypto).priv));
      const responses = [Uint8Array.from(e.priv), prepareEphemeral(crypto, i.pub, Uint8Array.from(e.priv), 0)!].map((eph) => {
        const hs = new Handshake(i.pub, crypto);
        const c = consumeInitiation(crypto, msg, r.priv, responderInitialHash(crypto, r.pub), () => crypto.sharedSecret(r.priv, i.pub));
        expect(c).not.toBeNull();
        hs.hash = c!.hash;
        hs.chainKey = c!.chainKey;
        hs.remoteEphemeral = c!.remoteEphemeral;
        hs.remoteIndex = c!.remoteIndex;
        hs.state = HandshakeState.InitiationConsumed;
        const out = new Uint8Array(92);
        expect(createResponse(crypto, hs, eph, 7, out)).toBe(true);
        return out;
      });
      expect(responses[1]).toEqual(responses[0]);
    });

    it('a prepared ephemeral that cannot be used is wiped', () => {
      const hs = new Handshake(r.pub, crypto); // no static-static DH
      const p = prepareEphemeral(crypto, r.pub, Uint8Array.from(e.priv), 0)!;
      expect(createInitiation(crypto, hs, i.pub, p, timestamp, 1, new Uint8Array(148))).toBe(false);
      expect(isZero(p.privateKey) && isZero(p.remoteStaticDh)).toBe(true);
      const q = prepareEphemeral(crypto, i.pub, Uint8Array.from(e.priv), 0)!;
      expect(createResponse(crypto, hs, q, 1, new Uint8Array(92))).toBe(false); // not InitiationConsumed
      expect(isZero(q.privateKey) && isZero(q.remoteStaticDh)).toBe(true);
    });

    it('an ephemeral that meets a zero DH in its message is wiped, not kept for reuse', () => {
      const hs = new Handshake(i.pub, crypto);
      hs.state = HandshakeState.InitiationConsumed;
      hs.remoteEphemeral = new Uint8Array(32); // low-order: ee is all zeros
      const p = prepareEphemeral(crypto, i.pub, Uint8Array.from(e.priv), 0)!;
      expect(createResponse(crypto, hs, p, 1, new Uint8Array(92))).toBe(false);
      expect(isZero(p.privateKey) && isZero(p.remoteStaticDh)).toBe(true);
      const raw = Uint8Array.from(e.priv);
      const hsI = new Handshake(new Uint8Array(32), crypto); // low-order peer static: es is zero
      hsI.precomputedStaticStatic = new Uint8Array(32).fill(1);
      expect(createInitiation(crypto, hsI, i.pub, raw, timestamp, 1, new Uint8Array(148))).toBe(false);
      expect(isZero(raw)).toBe(true);
      expect(hsI.state).toBe(HandshakeState.Zeroed);
    });

    it('a low-order peer key gives no prepared ephemeral', () => {
      const priv = Uint8Array.from(e.priv);
      expect(prepareEphemeral(crypto, new Uint8Array(32), priv, 0)).toBeNull();
      expect(isZero(priv)).toBe(true);
    });
  });
}

describe('Device: ephemerals prepared ahead', () => {
  const A_IP = '10.0.0.1';
  const B_IP = '10.0.0.2';
  const initiationsOf = (p: Pair) => p.a.sentOfType(1).map((s) => ephemeralOf(s.data, INITIATION.ephemeral));
  const responsesOf = (p: Pair) => p.b.sentOfType(2).map((s) => ephemeralOf(s.data, RESPONSE.ephemeral));

  it('the first handshake after prepareHandshakes uses the prepared ephemerals once, and completes', () => {
    const p = makePair(nodeCrypto);
    expect(p.a.device.prepareHandshakes(64, p.sim.now)).toBe(0);
    expect(p.b.device.prepareHandshakes(64, p.sim.now)).toBe(0);
    const pa = p.peerB.handshake.preparedEphemeral!;
    const pb = p.peerA.handshake.preparedEphemeral!;
    expect(pa).toBeInstanceOf(PreparedEphemeral);
    expect(pb).toBeInstanceOf(PreparedEphemeral);
    const paPub = Uint8Array.from(pa.publicKey);
    const pbPub = Uint8Array.from(pb.publicKey);

    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(50);
    expect(p.a.handshakes).toHaveLength(1);
    expect(p.b.delivered).toHaveLength(1);
    expect(initiationsOf(p)).toEqual([paPub]);
    expect(responsesOf(p)).toEqual([pbPub]);
    // Taken (single use), the DH results wiped, the peers pending for the next one.
    expect(p.peerB.handshake.preparedEphemeral).toBeNull();
    expect(p.peerA.handshake.preparedEphemeral).toBeNull();
    expect(isZero(pa.remoteStaticDh) && isZero(pb.remoteStaticDh)).toBe(true);
    expect(p.a.device.ephemeralsPending).toBe(1);
    expect(p.b.device.ephemeralsPending).toBe(1);

    // The next handshake gets a freshly prepared ephemeral, never the used one.
    expect(p.a.device.prepareEphemerals(64, p.sim.now)).toBe(0);
    const next = p.peerB.handshake.preparedEphemeral!;
    expect(next).not.toBe(pa);
    expect(next.publicKey).not.toEqual(paPub);
    p.sim.advance(200_000); // past REJECT_AFTER_TIME: the next packet needs a handshake
    p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
    p.sim.advance(50);
    expect(p.a.handshakes).toHaveLength(2); // the prepared one had expired: not taken, wiped
    const sent = initiationsOf(p);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent[1]).not.toEqual(next.publicKey);
    expect(sent[1]).not.toEqual(paPub);
    expect(isZero(next.privateKey)).toBe(true);
  });

  it('without preparation every message makes its own ephemeral, all distinct', () => {
    const p = makePair(nodeCrypto);
    for (let k = 0; k < 3; k++) {
      p.a.device.sendPacket(ipv4Packet(A_IP, B_IP), p.sim.now);
      p.sim.advance(50);
      p.sim.advance(200_000);
    }
    const all = [...initiationsOf(p), ...responsesOf(p)].map((x) => Buffer.from(x).toString('hex'));
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(new Set(all).size).toBe(all.length);
  });

  it('prepared ephemerals expire (wiped by prepareEphemerals) and go with their peer', () => {
    const p = makePair(nodeCrypto);
    p.a.device.prepareHandshakes(64, p.sim.now);
    const old = p.peerB.handshake.preparedEphemeral!;
    expect(p.a.device.ephemeralsPrepared).toBe(1);
    p.a.device.prepareEphemerals(0, p.sim.now + PREPARED_EPHEMERAL_MAX_AGE);
    expect(p.peerB.handshake.preparedEphemeral).toBe(old); // still fresh
    p.a.device.prepareEphemerals(0, p.sim.now + PREPARED_EPHEMERAL_MAX_AGE + 1);
    expect(p.peerB.handshake.preparedEphemeral).toBeNull();
    expect(isZero(old.privateKey) && isZero(old.remoteStaticDh)).toBe(true);
    expect(p.a.device.ephemeralsPrepared).toBe(0);

    p.b.device.prepareHandshakes(64, p.sim.now);
    const held = p.peerA.handshake.preparedEphemeral!;
    p.b.device.removePeer(p.peerA.publicKey);
    expect(isZero(held.privateKey) && isZero(held.remoteStaticDh)).toBe(true);
    expect(p.b.device.ephemeralsPrepared).toBe(0);
    expect(p.b.device.ephemeralsPending).toBe(0);
  });

  it('prepareHandshakes readies at most max new peers', () => {
    const p = makePair(nodeCrypto);
    const extra = [5, 6, 7].map((s) => p.a.device.addPeer(keyFrom(s, nodeCrypto).pub));
    expect(p.a.device.prepareHandshakes(2, p.sim.now)).toBe(2);
    expect([p.peerB, ...extra].filter((x) => x.handshake.preparedEphemeral !== null)).toHaveLength(2);
    expect(p.a.device.prepareHandshakes(64, p.sim.now)).toBe(0);
    expect([p.peerB, ...extra].every((x) => x.handshake.preparedEphemeral !== null)).toBe(true);
    const pubs = new Set([p.peerB, ...extra].map((x) => Buffer.from(x.handshake.preparedEphemeral!.publicKey).toString('hex')));
    expect(pubs.size).toBe(4);
  });
});
