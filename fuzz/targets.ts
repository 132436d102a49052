/**
 * Fuzz targets: every parser, the Device and Stack entry points, the config
 * parser and UAPI. A target builds fresh state with `create()` and returns a
 * runner for one input. Expected rejections (a parser's own typed error, a
 * counted drop) are swallowed inside the runner; anything that escapes it —
 * an unexpected exception or a broken invariant (`Finding`) — is a finding.
 *
 * Seeds are real captures: datagrams of a live Device pair, packets built
 * with the netstack's own builders, the example configs in conf/, UAPI
 * bodies. The same targets run under fast-check in test/fuzz and under the
 * coverage-guided loop in fuzz/run.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defaultCrypto } from '../src/crypto/index.js';
import { ConfigError, parseConfig, serializeConfig, stripConfig } from '../src/config/index.js';
import { UapiError, parseUapiGet, toUapiSet } from '../src/config/uapi.js';
import { isIpLiteral } from '../src/config/values.js';
import { parseCidr } from '../src/wireguard/allowedips.js';
import { MAX_STAGED_PACKETS } from '../src/wireguard/constants.js';
import { Device } from '../src/wireguard/device.js';
import { MessageError, parseMessage, serializeMessage } from '../src/wireguard/messages.js';
import { handleUapiRequest, uapiGet, uapiSet } from '../src/wireguard/uapi.js';
import { parseAddress } from '../src/netstack/addr.js';
import { HeaderError } from '../src/netstack/header/errors.js';
import { buildIcmpv4, parseIcmpv4, validateIcmpv4 } from '../src/netstack/header/icmpv4.js';
import { buildIcmpv6, parseIcmpv6 } from '../src/netstack/header/icmpv6.js';
import { buildIpv4, parseIpv4, validateIpv4, validateIpv4Options } from '../src/netstack/header/ipv4.js';
import { buildIpv6, parseIpv6, validateIpv6, walkIpv6 } from '../src/netstack/header/ipv6.js';
import { TcpHeaderError, newTcpHeader, parseTcpHeader, sackBlocksThatFit, setTcpChecksum, writeTcpHeader, TCP_SYN, TCP_ACK } from '../src/netstack/header/tcp.js';
import { buildUdp, parseUdp } from '../src/netstack/header/udp.js';
import { ChannelEndpoint } from '../src/netstack/link/channel.js';
import { Stack } from '../src/netstack/stack.js';
import { IcmpForwarder } from '../src/netstack/transport/icmp.js';
import { UdpForwarder } from '../src/netstack/transport/udp.js';
import { TcpForwarder, TcpProtocol } from '../src/netstack/transport/tcp/protocol.js';
import {
  Socks5Error,
  parseGreeting,
  parseReply,
  parseRequest,
  parseUdpDatagram,
  parseUserPass,
} from '../src/services/socks5-protocol.js';
import { DevicePair, EP_A, T0, ipv4, keyFromSeed } from './pair.js';
import { NetstackEndpoint } from '../src/endpoint/netstack-endpoint.js';
import type { Endpoint } from '../src/wireguard/device.js';

/** A broken invariant (as opposed to an unexpected exception). */
export class Finding extends Error {
  override readonly name = 'Finding';
}

export interface FuzzTarget {
  readonly name: string;
  /** Inputs are UTF-8 text (configs, UAPI). */
  readonly text: boolean;
  readonly dictionary: readonly string[];
  seeds(): Uint8Array[];
  create(): (input: Uint8Array) => void;
  /** Inputs per state before create() runs again (bounds accumulated state). */
  readonly recreateEvery: number;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const text = (s: string): Uint8Array => utf8.encode(s);

function check(cond: boolean, what: string): void {
  if (!cond) throw new Finding(what);
}

function expected(e: unknown, ...types: (abstract new (...args: never[]) => Error)[]): void {
  for (const t of types) if (e instanceof t) return;
  throw e;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ------------------------------------------------------------------ seeds

let capturedCache: { datagrams: Uint8Array[]; inner: Uint8Array[] } | null = null;

/** Real datagrams of every type from a Device pair (handshake, data, keepalive, cookie reply). */
export function capturedDatagrams(): { datagrams: Uint8Array[]; inner: Uint8Array[] } {
  if (capturedCache) return capturedCache;
  const p = new DevicePair(defaultCrypto(), { underLoadThreshold: 1 });
  p.establish();
  for (const pkt of packetSeeds().slice(0, 6)) {
    p.a.sendPacket(retarget(pkt), p.now);
    p.pump();
  }
  p.advance(11_000); // keepalive
  // Under load: a second initiation gets a cookie reply.
  p.now += 6000;
  p.a.sendPacket(ipv4('10.0.0.1', '10.0.0.2', 17, new Uint8Array(4)), p.now);
  const init = p.captured.filter((w) => w.data[0] === 1).at(-1);
  if (init) for (let i = 0; i < 3; i++) p.b.receiveDatagram(init.data, { address: '198.51.100.7', port: 4000 + i }, p.now);
  p.pump();
  const datagrams = p.captured.map((w) => w.data);
  capturedCache = { datagrams, inner: p.deliveredToB };
  return capturedCache;
}

/** Addresses so A routes it to B and B accepts the source. */
function retarget(pkt: Uint8Array): Uint8Array {
  const q = Uint8Array.from(pkt);
  if (q[0]! >> 4 === 4) {
    q.set([10, 0, 0, 1], 12);
    q.set([10, 0, 0, 2], 16);
  } else {
    q.set(parseAddress('fd00::1'), 8);
    q.set(parseAddress('fd00::2'), 24);
  }
  return q;
}

const L4_ = parseAddress('10.0.0.1');
const R4_ = parseAddress('10.0.0.2');
const T4_ = parseAddress('10.9.9.9');
const L6_ = parseAddress('fd00::1');
const R6_ = parseAddress('fd00::2');

function tcpSegment(src: Uint8Array, dst: Uint8Array, flags: number, withOptions: boolean): Uint8Array {
  const h = newTcpHeader();
  h.srcPort = 40000;
  h.dstPort = 80;
  h.seq = 0x01020304;
  h.ack = flags & TCP_ACK ? 0x0a0b0c0d : 0;
  h.flags = flags;
  h.window = 65535;
  if (withOptions) {
    h.mss = 1380;
    h.wscale = 7;
    h.sackPermitted = true;
    h.hasTimestamp = true;
    h.tsVal = 12345;
  }
  const seg = new Uint8Array(60 + 5);
  const n = writeTcpHeader(seg, 0, h);
  seg.set(text('hello'), n);
  const out = seg.subarray(0, n + 5);
  setTcpChecksum(out, src, dst);
  return out;
}

/** Real IPv4/IPv6 packets (ICMP echo, UDP, TCP SYN/ACK with options, fragments, extension headers) from `src` to `dst` (defaults: 10.0.0.2/fd00::2 to the stack at 10.0.0.1/fd00::1). */
export function packetSeeds(R4 = R4_, L4 = L4_, T4 = T4_, R6 = R6_, L6 = L6_): Uint8Array[] {
  const echo4 = buildIcmpv4(8, 0, 0x42420007, text('ping-payload'));
  const echo6 = buildIcmpv6(R6, L6, 128, 0, 0x42420007, text('ping-payload'));
  const udpPayload = text('udp datagram');
  const big = new Uint8Array(64).map((_, i) => i);
  const udpBig = buildUdp(R4, L4, 5353, 53, big);
  const out = [
    buildIpv4({ ttl: 64, protocol: 1, src: R4, dst: L4, id: 1 }, echo4),
    buildIpv4({ ttl: 64, protocol: 1, src: R4, dst: T4, id: 2 }, echo4),
    buildIpv6({ nextHeader: 58, hopLimit: 64, src: R6, dst: L6 }, echo6),
    buildIpv4({ ttl: 64, protocol: 17, src: R4, dst: L4, id: 3 }, buildUdp(R4, L4, 1234, 7, udpPayload)),
    buildIpv6({ nextHeader: 17, hopLimit: 64, src: R6, dst: L6 }, buildUdp(R6, L6, 1234, 7, udpPayload)),
    buildIpv4({ ttl: 64, protocol: 6, src: R4, dst: L4, id: 4 }, tcpSegment(R4, L4, TCP_SYN, true)),
    buildIpv6({ nextHeader: 6, hopLimit: 64, src: R6, dst: L6 }, tcpSegment(R6, L6, TCP_SYN, true)),
    buildIpv4({ ttl: 64, protocol: 6, src: R4, dst: L4, id: 5 }, tcpSegment(R4, L4, TCP_ACK, false)),
    buildIpv4({ ttl: 64, protocol: 1, src: R4, dst: L4, id: 6, options: Uint8Array.from([7, 7, 4, 0, 0, 0, 0, 0]) }, echo4),
    // Two IPv4 fragments of one UDP datagram.
    buildIpv4({ ttl: 64, protocol: 17, src: R4, dst: L4, id: 77, moreFragments: true, fragmentOffset: 0 }, udpBig.subarray(0, 40)),
    buildIpv4({ ttl: 64, protocol: 17, src: R4, dst: L4, id: 77, fragmentOffset: 40 }, udpBig.subarray(40)),
  ];
  // IPv6 fragment header (+ hop-by-hop with a PadN option) before UDP.
  const udp6 = buildUdp(R6, L6, 5353, 53, big);
  const frag = new Uint8Array(8 + 40);
  frag.set([17, 0, 0, 1, 0, 0, 0, 99]); // next UDP, offset 0, M=1, id 99
  frag.set(udp6.subarray(0, 40), 8);
  out.push(buildIpv6({ nextHeader: 44, hopLimit: 64, src: R6, dst: L6 }, frag));
  const frag2 = new Uint8Array(8 + udp6.length - 40);
  frag2.set([17, 0, 0, 40, 0, 0, 0, 99]);
  frag2.set(udp6.subarray(40), 8);
  out.push(buildIpv6({ nextHeader: 44, hopLimit: 64, src: R6, dst: L6 }, frag2));
  const hbh = new Uint8Array(8 + echo6.length);
  hbh.set([58, 0, 1, 4, 0, 0, 0, 0]);
  hbh.set(echo6, 8);
  out.push(buildIpv6({ nextHeader: 0, hopLimit: 64, src: R6, dst: L6 }, hbh));
  return out;
}

function confDir(): string {
  // fuzz/ (sources) and dist/fuzz/ (compiled) both sit below the project root.
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['..', '../..']) {
    const dir = join(here, up, 'conf');
    try {
      readdirSync(dir);
      return dir;
    } catch {
      /* try the next */
    }
  }
  return join(here, '..', 'conf');
}

export function configSeeds(): Uint8Array[] {
  const dir = confDir();
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.conf'));
  } catch {
    /* no conf dir: the inline seed below still works */
  }
  const out: Uint8Array[] = names.map((n) => new Uint8Array(readFileSync(join(dir, n))));
  out.push(
    text(
      '[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nListenPort = 51820\nAddress = 10.0.0.1/24, fd00::1/64\nDNS = 1.1.1.1, example.com\nMTU = 1420\nTable = off\nFwMark = 0x10\nPostUp = echo # kept\n\n' +
        '[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nPresharedKey = FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=\nAllowedIPs = 10.0.0.2/32, fd00::2/128\nEndpoint = [2001:db8::1]:51820\nPersistentKeepalive = 25\n\n' +
        '[Socks5]\nBindAddress = 127.0.0.1:1080\nUsername = u\nPassword = p\n[TCPServerTunnel]\nListenPort = 80\nTarget = 127.0.0.1:3000\n[Netstack]\nICMP = local\nPromiscuous = false\n',
    ),
  );
  return out;
}

const HEXKEY_A = 'e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a';
const HEXKEY_B = 'c4c8e984c5322c8184c72265b92b250fdb63688705f504ba003c88f03393cf28';
const HEXKEY_C = '58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376';

export function uapiSeeds(): Uint8Array[] {
  return [
    `private_key=${HEXKEY_A}\nlisten_port=51820\nfwmark=0\nreplace_peers=true\npublic_key=${HEXKEY_B}\npreshared_key=${HEXKEY_C}\nendpoint=192.0.2.9:51820\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\nallowed_ip=fd00::2/128\nprotocol_version=1\n\n`,
    `public_key=${HEXKEY_C}\nupdate_only=true\nendpoint=[fe80::1%eth0]:51820\nallowed_ip=-10.0.0.2/32\n\n`,
    `public_key=${HEXKEY_B}\nremove=true\n\n`,
    `fwmark=4294967295\nlisten_port=0\nprivate_key=${'0'.repeat(64)}\n\n`,
  ].map(text);
}

export function uapiGetSeeds(): Uint8Array[] {
  const dev = uapiDevice();
  uapiSet(dev, utf8d.decode(uapiSeeds()[0]!), 1000);
  return [text(uapiGet(dev)), text('errno=-22\n\n')];
}

function uapiDevice(): Device {
  const dev = new Device({ io: { sendDatagram() {}, deliverPacket() {} }, crypto: defaultCrypto() });
  const k = keyFromSeed(5, dev.crypto);
  dev.setPrivateKey(k.priv);
  const p = dev.addPeer(keyFromSeed(6, dev.crypto).pub);
  dev.allowedIPs.insert(parseCidr('10.1.0.0/16').ip, 16, p);
  p.setEndpoint({ address: '192.0.2.3', port: 1 });
  return dev;
}

export function socksSeeds(): Uint8Array[] {
  return [
    Uint8Array.from([5, 2, 0, 2]),
    Uint8Array.from([1, 4, 117, 115, 101, 114, 4, 112, 97, 115, 115]),
    Uint8Array.from([5, 1, 0, 1, 10, 0, 0, 1, 0, 80]),
    Uint8Array.from([5, 1, 0, 3, 11, ...text('example.com'), 1, 187]),
    Uint8Array.from([5, 3, 0, 4, ...new Uint8Array(15), 1, 0, 53]),
    Uint8Array.from([0, 0, 0, 1, 10, 0, 0, 2, 0, 53, 1, 2, 3]),
    Uint8Array.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
  ];
}

// ------------------------------------------------------------------ targets

const messagesTarget: FuzzTarget = {
  name: 'wg-messages',
  text: false,
  dictionary: [],
  recreateEvery: Infinity,
  seeds: () => capturedDatagrams().datagrams,
  create: () => (input) => {
    let m;
    try {
      m = parseMessage(input);
    } catch (e) {
      return expected(e, MessageError);
    }
    check(equalBytes(serializeMessage(m), input), 'serializeMessage(parseMessage(b)) !== b');
  },
};

/**
 * Input byte 0 picks the path: 0 raw datagram into B; 1 the rest sealed as a
 * transport message on A's session (so arbitrary inner packets reach B's
 * inner checks); 2 the rest as an outbound packet on A; 3 advance the clock
 * by byte 1 × 250 ms, then a raw datagram into B.
 */
const deviceTarget: FuzzTarget = {
  name: 'device',
  text: false,
  dictionary: [],
  recreateEvery: 300,
  seeds: () => {
    const c = capturedDatagrams();
    const pre = (k: number, b: Uint8Array): Uint8Array => Uint8Array.from([k, ...b]);
    return [
      ...c.datagrams.map((d) => pre(0, d)),
      ...c.inner.map((p) => pre(1, p)),
      ...packetSeeds().map((p) => pre(1, p)),
      ...packetSeeds().slice(0, 4).map((p) => pre(2, retarget(p))),
      ...c.datagrams.slice(0, 3).map((d) => Uint8Array.from([3, 40, ...d])),
    ];
  },
  create: () => {
    const p = new DevicePair(defaultCrypto(), { underLoadThreshold: 20 }).establish();
    p.capture = false;
    p.recordDeliveries = false;
    const crypto = p.a.crypto;
    const sealed = new Uint8Array(16 + 4096 + 16);
    return (input) => {
      if (input.length === 0) return;
      const mode = input[0]! & 3;
      let body = input.subarray(1);
      if (mode === 3) {
        p.advance((input[1] ?? 0) * 250);
        body = input.subarray(2);
      }
      if (mode === 0 || mode === 3) {
        p.b.receiveDatagram(body, EP_A, p.now);
      } else if (mode === 1) {
        const kp = p.peerB.keypairs.current;
        if (kp && !kp.wiped && body.length <= 4096) {
          const counter = kp.sendCounter++;
          sealed[0] = 4;
          sealed[1] = sealed[2] = sealed[3] = 0;
          new DataView(sealed.buffer).setUint32(4, kp.remoteIndex, true);
          new DataView(sealed.buffer).setBigUint64(8, BigInt(counter), true);
          const n = crypto.seal(kp.sendKey, counter, body, null, sealed, 16);
          p.b.receiveDatagram(sealed.subarray(0, 16 + n), EP_A, p.now);
        }
      } else {
        p.a.sendPacket(body, p.now);
      }
      p.pump();
      for (const [name, d] of [['A', p.a], ['B', p.b]] as const) {
        check(d.stats.dropped.internal === 0, `device ${name}: internal error counted`);
        check(d.indexCount <= 4 * d.peerCount, `device ${name}: index table ${d.indexCount} > 4 per peer`);
      }
      if (p.violation) throw new Finding(p.violation);
      check(p.peerB.stagedCount <= MAX_STAGED_PACKETS && p.peerA.stagedCount <= MAX_STAGED_PACKETS, 'staged queue over its limit');
    };
  },
};

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Stateful: each input is a program of operations on a Device pair —
 * datagrams either way, sealed inner packets, local packets, clock jumps,
 * replays of captured datagrams, UAPI changes on either side (remove and
 * re-add peers, new keys, PSK on one side only, keepalive, endpoints),
 * declared load. Invariants after every operation; at the end the original
 * configuration is restored and a packet from A must reach B within 60 s of
 * protocol time (liveness: no state the operations leave behind may wedge
 * the pair).
 */
const deviceOpsTarget: FuzzTarget = {
  name: 'device-ops',
  text: false,
  dictionary: [],
  recreateEvery: 50, // findings keep the inputs before them (engine history) so they replay
  seeds: () => {
    const c = capturedDatagrams();
    const prog = (...ops: number[][]): Uint8Array => Uint8Array.from(ops.flat());
    const data = (op: number, b: Uint8Array): number[] => [op, 0, b.length, ...b.subarray(0, 255)];
    return [
      prog(data(0, c.datagrams[2] ?? new Uint8Array(32)), [5, 200, 0], data(3, c.inner[0] ?? new Uint8Array(20))),
      prog([7, 0, 0], [5, 100, 0], [7, 1, 0], data(3, c.inner[0] ?? new Uint8Array(20))),
      prog([7, 2, 0], [5, 255, 0], [5, 255, 0], [6, 1, 0], [7, 3, 0]),
      prog([8, 0, 0], [10, 0, 0], [6, 0, 0], [6, 1, 0], [5, 50, 0], [7, 4, 0]),
      prog(data(2, c.inner[1] ?? new Uint8Array(20)), [7, 5, 0], [5, 255, 0], [7, 6, 0]),
    ];
  },
  create: () => {
    const p = new DevicePair(defaultCrypto(), { underLoadThreshold: 20 }).establish();
    const captured = p.captured.map((w) => w);
    p.capture = false;
    const crypto = p.a.crypto;
    const sealed = new Uint8Array(16 + 256 + 16);
    const pubA = hexOf(p.keyA.pub);
    const pubB = hexOf(p.keyB.pub);
    const otherKey = hexOf(keyFromSeed(77, crypto).priv);
    const uapiB = [
      `public_key=${pubA}\nremove=true\n`,
      `public_key=${pubA}\nallowed_ip=10.0.0.1/32\nallowed_ip=fd00::/64\n`,
      `public_key=${pubA}\npreshared_key=${'11'.repeat(32)}\n`,
      `private_key=${otherKey}\n`,
      `private_key=${hexOf(p.keyB.priv)}\n`,
      `public_key=${pubA}\npersistent_keepalive_interval=1\n`,
      `replace_peers=true\n`,
      `public_key=${pubA}\nendpoint=192.0.2.99:9\n`,
      `public_key=${pubA}\nreplace_allowed_ips=true\n`,
      `private_key=${'00'.repeat(32)}\n`,
      `public_key=${pubB}\n`, // our own key: ignored
      `public_key=${pubA}\npersistent_keepalive_interval=0\n`,
    ];
    const uapiA = [
      `public_key=${pubB}\nremove=true\n`,
      `public_key=${pubB}\nallowed_ip=10.0.0.2/32\nendpoint=192.0.2.2:51820\n`,
      `public_key=${pubB}\npreshared_key=${'22'.repeat(32)}\n`,
      `public_key=${pubB}\npersistent_keepalive_interval=3\n`,
      `private_key=${otherKey}\n`,
    ];
    const deliveredMarker = (): boolean => p.deliveredToB.some((pkt) => pkt.length === 48 && pkt[47] === 0x5a);
    return (input) => {
      p.deliveredToB.length = 0;
      let i = 0;
      for (let ops = 0; i + 3 <= input.length && ops < 32; ops++) {
        const op = input[i]! % 12;
        const arg = input[i + 1]!;
        const len = Math.min(input[i + 2]!, input.length - i - 3);
        const bytes = input.subarray(i + 3, i + 3 + len);
        i += 3 + len;
        switch (op) {
          case 0:
            p.b.receiveDatagram(bytes, arg & 1 ? EP_A : { address: '203.0.113.5', port: arg }, p.now);
            break;
          case 1:
            p.a.receiveDatagram(bytes, { address: '192.0.2.2', port: 51820 }, p.now);
            break;
          case 2: {
            const kp = p.peerB.keypairs.current;
            if (kp && !kp.wiped) {
              const counter = arg & 1 ? Math.max(0, kp.sendCounter - arg) : kp.sendCounter++;
              sealed.set([4, 0, 0, 0]);
              new DataView(sealed.buffer).setUint32(4, kp.remoteIndex, true);
              new DataView(sealed.buffer).setBigUint64(8, BigInt(counter), true);
              const n = crypto.seal(kp.sendKey, counter, bytes, null, sealed, 16);
              p.b.receiveDatagram(sealed.subarray(0, 16 + n), EP_A, p.now);
            }
            break;
          }
          case 3:
            p.a.sendPacket(bytes, p.now);
            break;
          case 4:
            p.b.sendPacket(bytes, p.now);
            break;
          case 5:
            p.advance(arg * 64);
            break;
          case 6: {
            const w = captured[arg % Math.max(1, captured.length)];
            if (w) (w.from === 'A' ? p.b : p.a).receiveDatagram(w.data, w.from === 'A' ? EP_A : { address: '192.0.2.2', port: 51820 }, p.now);
            break;
          }
          case 7:
            uapiSet(p.b, uapiB[arg % uapiB.length]!, p.now);
            break;
          case 8:
            uapiSet(p.a, uapiA[arg % uapiA.length]!, p.now);
            break;
          case 9:
            p.pump();
            break;
          case 10:
            p.b.setUnderLoad(p.now);
            break;
          default:
            for (let k = 0; k < 5; k++) p.a.sendPacket(ipv4('10.0.0.1', '10.0.0.2', 17, new Uint8Array(8)), p.now);
        }
        p.pump();
        for (const [name, d] of [['A', p.a], ['B', p.b]] as const) {
          check(d.stats.dropped.internal === 0, `device ${name}: internal error counted after op ${op}`);
          check(d.indexCount <= 4 * Math.max(1, d.peerCount), `device ${name}: index table ${d.indexCount} for ${d.peerCount} peers after op ${op}`);
          for (const peer of d.peers()) check(peer.stagedCount <= MAX_STAGED_PACKETS, 'staged queue over its limit');
        }
        if (p.violation) throw new Finding(p.violation);
      }
      // Liveness: with the configuration put back, a packet gets through.
      p.restoreConfig();
      const marker = new Uint8Array(28);
      marker[27] = 0x5a;
      const pkt = ipv4('10.0.0.1', '10.0.0.2', 17, marker);
      for (let t = 0; t < 60 && !deliveredMarker(); t++) {
        p.a.sendPacket(pkt, p.now);
        p.pump();
        if (!deliveredMarker()) p.advance(1000);
      }
      check(deliveredMarker(), 'no packet from A reached B within 60 s after restoring the configuration');
    };
  },
};

/**
 * A Device (A) talking to a NetstackEndpoint (B: Device + Stack + ICMP
 * reachability policy, promiscuous, Forward on, with a third peer C it
 * relays to). Byte 0 picks: 0 raw datagram into B; 1 the rest sealed on A's
 * session (arbitrary inner packets reach B's stack, policy and forwarding);
 * 2 advance the clock byte 1 × 100 ms. B's answers to A are decrypted by A.
 */
const endpointTarget: FuzzTarget = {
  name: 'endpoint',
  text: false,
  dictionary: [],
  recreateEvery: 500,
  seeds: () => {
    const a4 = parseAddress('10.0.0.1');
    const a6 = parseAddress('fd00::1');
    const out: Uint8Array[] = [];
    for (const [d4, d6] of [
      ['10.0.0.2', 'fd00::2'], // B itself
      ['10.0.0.3', 'fd00::3'], // C: forwarded
      ['10.9.9.9', 'fd00:9::9'], // nobody: promiscuous, policy
    ] as const) {
      for (const p of packetSeeds(a4, parseAddress(d4), parseAddress('10.5.0.7'), a6, parseAddress(d6))) out.push(Uint8Array.from([1, ...p]));
    }
    out.push(Uint8Array.of(2, 30));
    return out;
  },
  create: () => {
    const crypto = defaultCrypto();
    const ka = keyFromSeed(11, crypto);
    const kb = keyFromSeed(22, crypto);
    const kc = keyFromSeed(33, crypto);
    const EP_B: Endpoint = { address: '192.0.2.2', port: 51820 };
    const queue: { to: 'A' | 'B'; data: Uint8Array }[] = [];
    let now = T0;
    let aViolation: string | null = null;
    const b = new NetstackEndpoint({
      sendDatagram: (data, to) => {
        if (to.address === EP_A.address && queue.length < 256) queue.push({ to: 'A', data: Uint8Array.from(data) });
      },
      addresses: ['10.0.0.2/24', 'fd00::2/64'],
      forward: true,
      icmp: 'reachable',
      crypto,
      stack: { seed: 1, reassemblyMaxBytes: 16_384, reassemblyMaxDatagrams: 16, maxUdpEndpoints: 50 },
    });
    const a = new Device({
      crypto,
      io: {
        sendDatagram: (data) => {
          if (queue.length < 256) queue.push({ to: 'B', data: Uint8Array.from(data) });
        },
        deliverPacket: (packet) => {
          const v = packet[0]! >> 4;
          const len = v === 4 ? (packet[2]! << 8) | packet[3]! : 40 + ((packet[4]! << 8) | packet[5]!);
          if (len !== packet.length) aViolation ??= `A got a packet of ${packet.length} bytes whose IP length says ${len}`;
        },
      },
    });
    a.setPrivateKey(ka.priv);
    b.device.setPrivateKey(kb.priv);
    const peerB = a.addPeer(kb.pub);
    peerB.setEndpoint(EP_B);
    a.allowedIPs.insert(parseCidr('0.0.0.0/0').ip, 0, peerB);
    a.allowedIPs.insert(parseCidr('::/0').ip, 0, peerB);
    const peerA = b.device.addPeer(ka.pub);
    b.device.allowedIPs.insert(parseCidr('10.0.0.1/32').ip, 32, peerA);
    b.device.allowedIPs.insert(parseCidr('fd00::1/128').ip, 128, peerA);
    const peerC = b.device.addPeer(kc.pub);
    peerC.setEndpoint({ address: '192.0.2.3', port: 51820 });
    for (const c of ['10.0.0.3/32', '10.5.0.0/16', 'fd00::3/128']) {
      const x = parseCidr(c);
      b.device.allowedIPs.insert(x.ip, x.bits, peerC);
    }
    const pump = (): void => {
      for (let i = 0; i < 64 && queue.length > 0; i++) {
        const d = queue.shift()!;
        if (d.to === 'B') b.receiveDatagram(d.data, EP_A, now);
        else a.receiveDatagram(d.data, EP_B, now);
      }
      queue.length = 0;
    };
    a.sendPacket(ipv4('10.0.0.1', '10.0.0.2', 17, new Uint8Array(8)), now);
    pump();
    const sealed = new Uint8Array(16 + 4096 + 16);
    return (input) => {
      if (input.length === 0) return;
      const mode = input[0]! % 3;
      const body = input.subarray(1);
      if (mode === 0) b.receiveDatagram(body, EP_A, now);
      else if (mode === 1) {
        const kp = peerB.keypairs.current;
        if (kp && !kp.wiped && body.length <= 4096) {
          const counter = kp.sendCounter++;
          sealed.set([4, 0, 0, 0]);
          new DataView(sealed.buffer).setUint32(4, kp.remoteIndex, true);
          new DataView(sealed.buffer).setBigUint64(8, BigInt(counter), true);
          const n = crypto.seal(kp.sendKey, counter, body, null, sealed, 16);
          b.receiveDatagram(sealed.subarray(0, 16 + n), EP_A, now);
        } else a.sendPacket(ipv4('10.0.0.1', '10.0.0.2', 17, new Uint8Array(8)), now);
      } else {
        now += (body[0] ?? 0) * 100;
        a.tick(now);
        b.tick(now);
      }
      pump();
      for (const [name, d] of [['A', a], ['B', b.device]] as const) {
        check(d.stats.dropped.internal === 0, `device ${name}: internal error counted`);
        check(d.indexCount <= 4 * d.peerCount, `device ${name}: index table over its bound`);
      }
      check(peerC.stagedCount <= MAX_STAGED_PACKETS && peerA.stagedCount <= MAX_STAGED_PACKETS, 'staged queue over its limit');
      check(b.link.queued <= 1024, 'endpoint link queue growing');
      const err = b.stack.callbackErrors > 0 ? String(b.stack.lastCallbackError) : '';
      if (err) throw new Finding(`stack callback error: ${err}`);
      if (aViolation) throw new Finding(aViolation);
    };
  },
};

export const STACK_LIMITS = { reassemblyMaxBytes: 16_384, reassemblyMaxDatagrams: 16, reassemblyMaxFragments: 8, maxUdpEndpoints: 50 };
const STACK_QUEUE = 32;

/** A stack as an endpoint configures it: promiscuous, ICMP/UDP forwarders, TCP listener and forwarder. */
export function fuzzStack(limits = STACK_LIMITS): { stack: Stack; link: ChannelEndpoint; tcp: TcpProtocol } {
  const link = new ChannelEndpoint({ mtu: 1420, queueSize: STACK_QUEUE });
  const stack = new Stack({ seed: 1, ...limits });
  stack.createNic(1, link);
  stack.addAddress(1, '10.0.0.1/24');
  stack.addAddress(1, 'fd00::1/64');
  stack.addRoute('0.0.0.0/0', 1);
  stack.addRoute('::/0', 1);
  stack.setPromiscuous(1, true);
  stack.setTransportProtocolHandler(1, new IcmpForwarder(stack, (r) => (r.reply(), r.type === 8)).handlePacket);
  stack.setTransportProtocolHandler(58, new IcmpForwarder(stack, (r) => r.reply()).handlePacket);
  stack.setTransportProtocolHandler(17, new UdpForwarder(stack.udp, (r) => (r.createEndpoint().send(r.payload), true)).handlePacket);
  const tcp = new TcpProtocol({ isnSecret: new Uint8Array(16) });
  stack.registerTransportProtocol(6, tcp);
  tcp.listen(80);
  stack.setTransportProtocolHandler(6, new TcpForwarder(tcp, (req) => void req.accept()).handlePacket);
  return { stack, link, tcp };
}

export function checkStackBounds(stack: Stack, link: ChannelEndpoint, limits = STACK_LIMITS): void {
  check(stack.reassembler4.bytesInUse <= limits.reassemblyMaxBytes && stack.reassembler6.bytesInUse <= limits.reassemblyMaxBytes, 'reassembly bytes over the limit');
  check(stack.reassembler4.inProgress <= limits.reassemblyMaxDatagrams && stack.reassembler6.inProgress <= limits.reassemblyMaxDatagrams, 'reassembly datagrams over the limit');
  check(link.queued <= STACK_QUEUE, 'link queue over its limit');
  check(stack.udp.endpointCount <= limits.maxUdpEndpoints, 'UDP endpoints over the limit');
}

/** Byte 0 bit 0: advance the clock 1 s first (timers, reassembly expiry). */
const stackTarget: FuzzTarget = {
  name: 'stack',
  text: false,
  dictionary: [],
  recreateEvery: 2000,
  seeds: () => packetSeeds(),
  create: () => {
    const { stack, link } = fuzzStack();
    let now = 0;
    return (input) => {
      now += 7;
      link.injectInbound(input, now);
      checkStackBounds(stack, link);
      link.drain();
      if ((input[input.length - 1] ?? 0) & 1) {
        now += 1000;
        stack.tick(now);
      }
      const err = stack.callbackErrors > 0 ? String(stack.lastCallbackError) : '';
      // The forwarder's createEndpoint at the endpoint limit throws into its handler by design.
      if (err && !/endpoint limit/.test(err)) throw new Finding(`stack callback error: ${err}`);
    };
  },
};

const headersTarget: FuzzTarget = {
  name: 'headers',
  text: false,
  dictionary: [],
  recreateEvery: Infinity,
  seeds: () => {
    const out: Uint8Array[] = [];
    for (const p of packetSeeds()) {
      out.push(p);
      const v4 = p[0]! >> 4 === 4;
      out.push(p.subarray(v4 ? (p[0]! & 15) * 4 : 40));
    }
    return out;
  },
  create: () => {
    const tcp = newTcpHeader();
    const again = newTcpHeader();
    const out = new Uint8Array(60);
    return (b) => {
      const guard = (f: () => void): void => {
        try {
          f();
        } catch (e) {
          expected(e, HeaderError, TcpHeaderError);
        }
      };
      guard(() => {
        const hl = validateIpv4(b, false);
        validateIpv4Options(b, hl);
        const h = parseIpv4(b);
        check(20 + h.options.length === hl, 'ipv4 header length mismatch');
      });
      guard(() => {
        const end = validateIpv6(b);
        parseIpv6(b);
        const w = walkIpv6(b, end);
        check(w.transportOffset <= end, 'ipv6 walk past the end');
      });
      guard(() => {
        parseTcpHeader(b, tcp);
        check(tcp.headerLength >= 20 && tcp.headerLength <= Math.min(60, b.length), 'tcp header length out of range');
        check(tcp.sackCount <= 4, 'too many SACK blocks');
        // write∘parse keeps every field (SACK blocks as far as they fit).
        const n = writeTcpHeader(out, 0, tcp);
        check(n >= 20 && n <= 60 && n % 4 === 0, `tcp header written with length ${n}`);
        parseTcpHeader(out.subarray(0, n), again);
        for (const f of ['srcPort', 'dstPort', 'seq', 'ack', 'flags', 'window', 'urgent', 'mss', 'wscale', 'sackPermitted', 'hasTimestamp', 'tsVal', 'tsEcr'] as const) {
          check(again[f] === tcp[f], `tcp ${f} changed by write∘parse: ${tcp[f]} → ${again[f]}`);
        }
        check(again.sackCount === Math.min(tcp.sackCount, sackBlocksThatFit(tcp)), 'tcp SACK block count changed');
        for (let i = 0; i < again.sackCount * 2; i++) check(again.sackBlocks[i] === tcp.sackBlocks[i], 'tcp SACK block changed');
      });
      guard(() => void parseUdp(b));
      guard(() => {
        validateIcmpv4(b);
        parseIcmpv4(b);
      });
      guard(() => void parseIcmpv6(b));
    };
  },
};

const configTarget: FuzzTarget = {
  name: 'config',
  text: true,
  dictionary: ['\n', ' = ', '=', '[Interface]\n', '[Peer]\n', '[Socks5]\n', '[Netstack]\n', '[TCPClientTunnel]\n', 'PrivateKey', 'PublicKey', 'PresharedKey', 'AllowedIPs', 'Endpoint', 'Address', 'DNS', 'MTU', 'ListenPort', 'FwMark', 'Table', 'PostUp', 'PersistentKeepalive', 'BindAddress', 'Target', 'ICMP', '#', ',', '/', ':', '[', ']', '::', '0x', 'off', 'true', '%', '65535', '4294967295', '0.0.0.0/0', '::/0', 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk='],
  recreateEvery: Infinity,
  seeds: configSeeds,
  create: () => (input) => {
    const t = utf8d.decode(input);
    try {
      stripConfig(t);
    } catch (e) {
      expected(e, ConfigError);
    }
    let cfg;
    try {
      cfg = parseConfig(t, 'fuzz.conf', { warnings: [] });
    } catch (e) {
      return expected(e, ConfigError);
    }
    const s = serializeConfig(cfg);
    let again;
    try {
      again = parseConfig(s, 'serialized.conf');
    } catch (e) {
      throw new Finding(`serialized config does not parse: ${(e as Error).message}\n${s}`);
    }
    check(serializeConfig(again) === s, 'serialize∘parse is not a fixpoint');
    // What parses must configure a device: `wg setconf` of it is accepted whole.
    const resolved = new Map<string, string>();
    for (const p of cfg.peers) if (p.endpoint && !isIpLiteral(p.endpoint.host)) resolved.set(p.endpoint.host, '192.0.2.1');
    const body = toUapiSet(cfg, { resolved });
    const dev = new Device({ io: { sendDatagram() {}, deliverPacket() {} }, crypto: defaultCrypto() });
    const r = uapiSet(dev, body.replace(/^set=1\n/, ''), 1000);
    check(r.errno === 0, `device refused the config's setconf body (${r.error}):\n${body}`);
    try {
      parseUapiGet(uapiGet(dev));
    } catch (e) {
      throw new Finding(`get after setconf does not parse: ${(e as Error).message}`);
    }
  },
};

/** `set=1` with the input as body: a failed set must leave `get` unchanged; our own `get` must parse. */
const uapiTarget: FuzzTarget = {
  name: 'uapi',
  text: true,
  dictionary: ['\n', '=', 'private_key=', 'listen_port=', 'fwmark=', 'replace_peers=true\n', 'public_key=', 'remove=true\n', 'update_only=true\n', 'preshared_key=', 'endpoint=', 'persistent_keepalive_interval=', 'replace_allowed_ips=true\n', 'allowed_ip=', 'allowed_ip=-', 'protocol_version=1\n', HEXKEY_A, HEXKEY_B, '[::1]:1', '%eth0', '/0', '/128', '65535', '4294967296', '\r\n', '\n\n'],
  recreateEvery: 200,
  seeds: uapiSeeds,
  create: () => {
    const dev = uapiDevice();
    return (input) => {
      const body = utf8d.decode(input);
      const before = uapiGet(dev);
      const r = uapiSet(dev, body, 1000, { maxPeers: 32 });
      const after = uapiGet(dev);
      if (r.errno !== 0) check(after === before, `failed set (${r.error}) changed the device`);
      check(dev.peerCount <= 32, 'peer count over maxPeers');
      try {
        parseUapiGet(after);
      } catch (e) {
        throw new Finding(`our own get output does not parse: ${(e as Error).message}`);
      }
      const framed = handleUapiRequest(dev, body, 1000, { maxPeers: 32 });
      check(/^errno=-?\d+\n\n$/.test(framed) || framed.endsWith('errno=0\n\n'), 'malformed UAPI answer');
    };
  },
};

const uapiGetTarget: FuzzTarget = {
  name: 'uapi-get-parse',
  text: true,
  dictionary: ['\n', '=', 'errno=0\n', 'public_key=', 'private_key=', 'allowed_ip=', 'endpoint=', 'rx_bytes=', 'last_handshake_time_sec=', 'protocol_version=', '18446744073709551615', HEXKEY_A],
  recreateEvery: Infinity,
  seeds: uapiGetSeeds,
  create: () => (input) => {
    try {
      parseUapiGet(utf8d.decode(input));
    } catch (e) {
      expected(e, UapiError);
    }
  },
};

const socksTarget: FuzzTarget = {
  name: 'socks5',
  text: false,
  dictionary: [],
  recreateEvery: Infinity,
  seeds: socksSeeds,
  create: () => (b) => {
    for (const parse of [parseGreeting, parseUserPass, parseRequest, parseReply]) {
      try {
        const r = parse(b);
        if (r) check(r.length > 0 && r.length <= b.length, `${parse.name}: length ${r.length} outside the input`);
      } catch (e) {
        expected(e, Socks5Error);
      }
    }
    try {
      const d = parseUdpDatagram(b);
      check(d.data.length <= b.length, 'udp datagram data longer than the input');
    } catch (e) {
      expected(e, Socks5Error);
    }
  },
};

export const TARGETS: readonly FuzzTarget[] = [messagesTarget, deviceTarget, deviceOpsTarget, endpointTarget, stackTarget, headersTarget, configTarget, uapiTarget, uapiGetTarget, socksTarget];

/** Checks the runner itself (FUZZ_TARGETS=selftest-hang): an input starting with 0x42 never returns. */
const selftestHang: FuzzTarget = {
  name: 'selftest-hang',
  text: false,
  dictionary: [],
  recreateEvery: Infinity,
  seeds: () => [Uint8Array.of(0, 0)],
  create: () => (b) => {
    if (b[0] === 0x42) for (;;);
  },
};

export function targetByName(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name) ?? (name === selftestHang.name ? selftestHang : undefined);
}
