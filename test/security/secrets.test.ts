/**
 * Secret hygiene: private and preshared keys never appear in error messages
 * (config parsing, UAPI both ways) or in `show` output unless asked for; key
 * buffers are zeroed when sessions expire (540 s), rotate out, or a peer is
 * removed; MACs are compared in constant time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nodeCrypto } from '../../src/crypto/index.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { UapiError, parseUapiGet } from '../../src/config/uapi.js';
import { formatDump, formatField, formatPretty, formatShowconf } from '../../src/cli/show-format.js';
import { uapiGet, uapiSet } from '../../src/wireguard/uapi.js';
import { REJECT_AFTER_TIME, ZERO_KEY_MATERIAL_AFTER } from '../../src/wireguard/constants.js';
import { Device } from '../../src/wireguard/device.js';
import type { Keypair } from '../../src/wireguard/keypair.js';
import { INITIATION_SIZE } from '../../src/wireguard/messages.js';
import { constantTimeEqual } from '../../src/wireguard/noise.js';
import { ipv4Packet, makePair, type Pair } from '../wireguard/harness.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const zero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** Fails if `text` contains any 10-character window of the key's base64 or hex form. */
function expectNoKey(text: string, key: Uint8Array): void {
  for (const form of [b64(key), hex(key), hex(key).toUpperCase()]) {
    for (let i = 0; i + 10 <= form.length; i++) {
      if (text.includes(form.slice(i, i + 10))) throw new Error(`key text ${form.slice(i, i + 10)} leaked into: ${text}`);
    }
  }
}

const arbKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => !zero(k));

describe('config parse errors never quote key material', () => {
  const PUB = b64(new Uint8Array(32).fill(7));
  const mistakes: ((k: Uint8Array) => string)[] = [
    (k) => `[Interface]\nPrivateKey ${b64(k)}\n`, // "=" forgotten: key glued to its name
    (k) => `[Interface]\n${b64(k)}\n`, // bare key line
    (k) => `[Interface]\n${hex(k)}\n`,
    (k) => `${b64(k)}\n[Interface]\n`, // before any section
    (k) => `[Interface]\nPrivateKey: ${b64(k)}\n`,
    (k) => `[Interface]\nPrivatKey = ${b64(k)}\n`, // typo'd key name
    (k) => `[Interface]\nPrivateKey = ${b64(k).slice(0, 43)}\n`, // truncated
    (k) => `[Interface]\nPrivateKey = ${b64(k)}x\n`,
    (k) => `[Interface]\nPrivateKey = ${hex(k)}\n`,
    (k) => `[Interface]\nPrivateKey = ${b64(k)} ${b64(k)}\n`,
    (k) => `[Interface]\nAddress = ${b64(k)}\n`, // pasted into the wrong field
    (k) => `[Interface]\nDNS = ${b64(k)}\n`,
    (k) => `[Interface]\nListenPort = ${b64(k)}\n`,
    (k) => `[Interface]\nTable = ${b64(k)}\n`,
    (k) => `[${b64(k)}]\n`,
    (k) => `[Peer]\nPublicKey = ${PUB}\nPresharedKey = ${b64(k)}!\n`,
    (k) => `[Peer]\nPublicKey = ${PUB}\nPresharedKey ${b64(k)}\n`,
    (k) => `[Peer]\nPublicKey = ${PUB}\nEndpoint = ${b64(k)}\n`,
    (k) => `[Peer]\nPublicKey = ${PUB}\nAllowedIPs = ${b64(k)}\n`,
    (k) => `[Peer]\nPublicKey = ${PUB}\nPersistentKeepalive = ${hex(k)}\n`,
    (k) => `[Socks5]\nBindAddress = ${b64(k)}\n`,
    (k) => `[Netstack]\nStatus = ${b64(k)}\n`,
  ];

  it.each(mistakes.map((m, i) => [i, m] as const))('mistake %i', (_i, mistake) => {
    fc.assert(
      fc.property(arbKey, (key) => {
        const warnings: string[] = [];
        let err: unknown;
        try {
          parseConfig(mistake(key), 'wg0.conf', { warnings });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ConfigError);
        expectNoKey((err as Error).message, key);
        expectNoKey(String((err as Error).stack), key);
        for (const w of warnings) expectNoKey(w, key);
      }),
      { seed: 42, numRuns: 25 },
    );
  });
});

describe('UAPI errors never quote key material', () => {
  const device = (): Device => {
    const d = new Device({ io: { sendDatagram() {}, deliverPacket() {} }, crypto: nodeCrypto });
    d.setPrivateKey(new Uint8Array(32).fill(3));
    d.addPeer(new Uint8Array(32).fill(9));
    return d;
  };
  const pub = hex(new Uint8Array(32).fill(9));
  const bodies: ((k: Uint8Array) => string)[] = [
    (k) => `private_key ${hex(k)}\n`,
    (k) => `private_key:${hex(k)}\n`,
    (k) => `${hex(k)}\n`,
    (k) => `${hex(k)}=1\n`,
    (k) => `privatekey=${hex(k)}\n`,
    (k) => `private_key=${hex(k)}0\n`,
    (k) => `private_key=${hex(k).slice(0, 63)}\n`,
    (k) => `private_key=${hex(k).slice(0, 62)}zz\n`,
    (k) => `private_key=${b64(k)}\n`,
    (k) => `listen_port=${hex(k)}\n`,
    (k) => `replace_peers=${hex(k)}\n`,
    (k) => `public_key=${pub}\npreshared_key=${hex(k)}x\n`,
    (k) => `public_key=${pub}\npresharedkey=${hex(k)}\n`,
    (k) => `public_key=${pub}\n${hex(k)}\n`,
    (k) => `public_key=${pub}\nendpoint=${hex(k)}\n`,
    (k) => `public_key=${pub}\nallowed_ip=${b64(k)}\n`,
    (k) => `public_key=${pub}\nprotocol_version=${hex(k)}\n`,
    (k) => `public_key=${pub}\nremove=${hex(k)}\n`,
  ];

  it.each(bodies.map((m, i) => [i, m] as const))('set body %i', (_i, body) => {
    const d = device();
    const before = uapiGet(d);
    fc.assert(
      fc.property(arbKey, (key) => {
        const r = uapiSet(d, body(key), 0);
        expect(r.errno).toBeLessThan(0);
        expectNoKey(r.error ?? '', key);
        expect(uapiGet(d)).toBe(before);
      }),
      { seed: 42, numRuns: 20 },
    );
  });

  it('a malformed get reply (CLI side) never quotes the private or preshared key', () => {
    fc.assert(
      fc.property(arbKey, fc.integer({ min: 0, max: 5 }), (key, which) => {
        const bad = [
          `private_key=${hex(key)}0\nerrno=0\n\n`,
          `private_key=${hex(key).slice(0, 63)}\nerrno=0\n\n`,
          `private_key ${hex(key)}\nerrno=0\n\n`,
          `public_key=${pub}\npreshared_key=${hex(key)}zz\nerrno=0\n\n`,
          `public_key=${pub}\npreshared_key=${b64(key)}\nerrno=0\n\n`,
          `=${hex(key)}\nerrno=0\n\n`,
        ][which]!;
        let err: unknown;
        try {
          parseUapiGet(bad);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(UapiError);
        expectNoKey((err as Error).message, key);
      }),
      { seed: 42, numRuns: 60 },
    );
  });
});

describe('show output hides private and preshared keys unless asked', () => {
  const priv = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
  const psk = new Uint8Array(32).map((_, i) => (i * 53 + 5) & 0xff);
  const pub = new Uint8Array(32).fill(0x42);
  const shown = {
    name: 'wg0',
    publicKey: pub,
    device: {
      privateKey: priv,
      listenPort: 51820,
      fwmark: 0,
      peers: [{ publicKey: pub, presharedKey: psk, lastHandshakeSec: 0, lastHandshakeNsec: 0, rxBytes: 0n, txBytes: 0n, persistentKeepalive: 0, allowedIPs: [] }],
    },
  };

  it('wg show (pretty) prints "(hidden)"', () => {
    const out = formatPretty(shown, { color: false, hideKeys: true, nowSec: 0 });
    expect(out).toContain('private key: (hidden)');
    expect(out).toContain('preshared key: (hidden)');
    expectNoKey(out, priv);
    expectNoKey(out, psk);
  });

  it('showconf, dump and the private-key field print them (asked for, as wg does)', () => {
    expect(formatShowconf(shown.device)).toContain(`PrivateKey = ${b64(priv)}`);
    expect(formatShowconf(shown.device)).toContain(`PresharedKey = ${b64(psk)}`);
    expect(formatField(shown, 'private-key', false)).toBe(`${b64(priv)}\n`);
    expect(formatDump(shown, false)).toContain(b64(priv));
  });
});

// ---------------------------------------------------------------- key buffers

function established(psk?: Uint8Array): Pair {
  const p = makePair(nodeCrypto, { psk });
  p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), p.sim.now);
  p.sim.advance(50);
  p.b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1'), p.sim.now);
  p.sim.advance(50);
  return p;
}

function keyBuffers(kp: Keypair | null): Uint8Array[] {
  expect(kp).not.toBeNull();
  return [kp!.sendKey, kp!.recvKey];
}

describe('key material is wiped', () => {
  it('540 s after the last handshake every keypair buffer is zero (fake clock, both sides)', () => {
    const p = established();
    const bufs = [...keyBuffers(p.peerB.keypairs.current), ...keyBuffers(p.peerA.keypairs.current)];
    expect(bufs.every((b) => !zero(b))).toBe(true);
    // Expired (180 s) is not yet wiped: the wipe comes at 3 × REJECT_AFTER_TIME.
    p.sim.advance(REJECT_AFTER_TIME + 10_000);
    expect(bufs.every((b) => !zero(b))).toBe(true);
    p.sim.advance(ZERO_KEY_MATERIAL_AFTER - REJECT_AFTER_TIME);
    expect(bufs.every(zero)).toBe(true);
    for (const peer of [p.peerA, p.peerB]) {
      expect(peer.keypairs.current).toBeNull();
      expect(peer.keypairs.previous).toBeNull();
      expect(peer.keypairs.next).toBeNull();
      expect(zero(peer.handshake.chainKey) && zero(peer.handshake.hash)).toBe(true);
    }
    expect(p.a.device.indexCount + p.b.device.indexCount).toBe(0);
  });

  it('a keypair rotated out of previous is wiped', () => {
    const p = established();
    const first = p.peerB.keypairs.current!;
    const bufs = keyBuffers(first);
    for (let i = 0; i < 2; i++) {
      // A new handshake: expire the session so the next packet renegotiates.
      p.sim.advance(REJECT_AFTER_TIME + 1000);
      p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), p.sim.now);
      p.sim.advance(50);
    }
    expect(p.peerB.keypairs.current).not.toBe(first);
    expect(p.peerB.keypairs.previous).not.toBe(first);
    expect(first.wiped).toBe(true);
    expect(bufs.every(zero)).toBe(true);
  });

  it('removePeer zeroes its sessions, preshared key and static-static secret', () => {
    const psk = new Uint8Array(32).fill(0x5a);
    const p = established(psk);
    const peer = p.peerA; // B's view of A
    const kps = [peer.keypairs.current, peer.keypairs.previous, peer.keypairs.next].filter((k) => k !== null);
    expect(kps.length).toBeGreaterThan(0);
    const bufs = kps.flatMap((k) => keyBuffers(k));
    const pskCopy = peer.presharedKey!;
    const hsPsk = peer.handshake.presharedKey;
    const ss = peer.handshake.precomputedStaticStatic!;
    expect([...bufs, pskCopy, hsPsk, ss].every((b) => !zero(b))).toBe(true);
    expect(p.b.device.removePeer(peer.publicKey)).toBe(true);
    expect([...bufs, pskCopy, hsPsk, ss].every(zero)).toBe(true);
    expect(peer.handshake.precomputedStaticStatic).toBeNull();
    expect(p.b.device.indexCount).toBe(0);
    expect(zero(psk)).toBe(false); // the caller's buffer is its own
  });

  it('a retransmitted initiation wipes the previous attempt’s ephemeral and chaining key; completion wipes the handshake', () => {
    const p = makePair(nodeCrypto);
    p.sim.filter = (d) => d.from !== 'B'; // responses never arrive
    p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), p.sim.now);
    const hs = p.peerB.handshake;
    const eph = hs.localEphemeral!;
    const ck = hs.chainKey;
    expect(zero(eph) || zero(ck)).toBe(false);
    p.sim.advance(5500); // REKEY_TIMEOUT + jitter: the retry
    expect(p.a.sentOfType(1).length).toBe(2);
    expect(hs.localEphemeral).not.toBe(eph);
    expect(zero(eph) && zero(ck)).toBe(true);
    p.sim.filter = null;
    const eph2 = hs.localEphemeral!;
    const ck2 = hs.chainKey;
    p.sim.advance(5500);
    expect(p.peerB.keypairs.current).not.toBeNull();
    expect(zero(eph2) && zero(ck2)).toBe(true);
    expect(hs.localEphemeral).toBeNull();
  });

  it('UAPI remove=true wipes the same way', () => {
    const p = established(new Uint8Array(32).fill(1));
    const kp = p.peerA.keypairs.current ?? p.peerA.keypairs.next;
    const bufs = keyBuffers(kp);
    const psk = p.peerA.presharedKey!;
    expect(uapiSet(p.b.device, `public_key=${hex(p.peerA.publicKey)}\nremove=true\n`, p.sim.now).errno).toBe(0);
    expect([...bufs, psk].every(zero)).toBe(true);
  });

  it('replacing the private key or preshared key zeroes the device’s old copies', () => {
    const p = established(new Uint8Array(32).fill(2));
    const oldPriv = p.b.device.privateKey!;
    const oldSS = p.peerA.handshake.precomputedStaticStatic!;
    const oldPsk = p.peerA.presharedKey!;
    const newKey = new Uint8Array(32).fill(0x33);
    p.b.device.setPrivateKey(newKey);
    expect(zero(oldPriv) && zero(oldSS)).toBe(true);
    expect(zero(newKey)).toBe(false);
    p.peerA.setPresharedKey(new Uint8Array(32).fill(4));
    expect(zero(oldPsk)).toBe(true);
    expect(p.peerA.presharedKey![0]).toBe(4);
  });
});

// ---------------------------------------------------------------- constant time

/** A provider whose 16-byte MACs over handshake messages record which bytes were read. */
function recordingCrypto(base: CryptoProvider, reads: Set<number>[]): CryptoProvider {
  return {
    ...base,
    name: base.name,
    mac(key, data) {
      const out = base.mac(key, data);
      if (data.length !== INITIATION_SIZE - 32 && data.length !== INITIATION_SIZE - 16) return out;
      const seen = new Set<number>();
      reads.push(seen);
      return new Proxy(out, {
        get(target, prop) {
          if (typeof prop === 'string' && /^[0-9]+$/.test(prop)) seen.add(Number(prop));
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  } as CryptoProvider;
}

describe('MACs are compared in constant time', () => {
  it('constantTimeEqual is exact', () => {
    const a = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect(constantTimeEqual(a, Uint8Array.from(a))).toBe(true);
    for (let i = 0; i < 16; i++) {
      const b = Uint8Array.from(a);
      b[i]! ^= 0x80;
      expect(constantTimeEqual(a, b)).toBe(false);
    }
    expect(constantTimeEqual(a, a.subarray(0, 15))).toBe(false);
  });

  it('mac1 and mac2 checks read every byte of the expected MAC, wherever the first mismatch is', () => {
    const p = makePair(nodeCrypto);
    p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), p.sim.now);
    const init = p.a.sentOfType(1)[0]!.data;
    const kb = p.b.device.privateKey!;
    for (const [offset, underLoad] of [
      [INITIATION_SIZE - 32, false], // mac1, first byte wrong
      [INITIATION_SIZE - 17, false], // mac1, last byte wrong
      [INITIATION_SIZE - 16, true], // mac2 (valid mac1, under load), first byte wrong
      [INITIATION_SIZE - 1, true],
    ] as const) {
      const reads: Set<number>[] = [];
      const d = new Device({ io: { sendDatagram() {}, deliverPacket() {} }, crypto: recordingCrypto(nodeCrypto, reads) });
      d.setPrivateKey(kb);
      d.addPeer(p.a.device.publicKey!);
      if (underLoad) d.setUnderLoad(p.sim.now);
      const m = Uint8Array.from(init);
      m[offset]! ^= 0xff;
      d.receiveDatagram(m, { address: '192.0.2.1', port: 51820 }, p.sim.now);
      const compared = reads.at(-1)!;
      expect([...compared].sort((x, y) => x - y), `offset ${offset}`).toEqual(Array.from({ length: 16 }, (_, i) => i));
      expect(d.stats.dropped[underLoad ? 'cookie-sent' : 'mac1']).toBe(1);
    }
  });
});
