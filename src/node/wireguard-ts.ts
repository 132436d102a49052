/**
 * `wireguard-ts [-f] IFACE`: a drop-in for `wireguard-go IFACE`.
 *
 * Creates the TUN interface and the UAPI socket /var/run/wireguard/IFACE.sock,
 * then daemonizes: the launching process re-spawns itself detached with -f and
 * exits 0 only once the child reports "ready" on a pipe — so wg-quick finds the
 * interface and socket in place when the command returns. Stays in the
 * foreground with -f or WG_PROCESS_FOREGROUND=1. Honours LOG_LEVEL
 * (verbose|error|silent), WG_TUN_FD and WG_UAPI_FD (WGTS_UAPI_NET=1: serve the UAPI
 * socket with node:net instead of the addon's listener; WGTS_WARMUP=0: no warm-up
 * before "ready"; WGTS_SPARKPLUG=0: V8's default tiering instead of
 * --always-sparkplug). Exits when the interface is deleted, or on SIGTERM/SIGINT,
 * removing its socket.
 *
 * A `wg set` is answered as soon as it is validated and applied right after, inside
 * the same callback (see onUapi): `wg` returns sooner, and nothing reaches the
 * device in between.
 *
 * `--user NAME[:GROUP]` drops root once the TUN device, the UDP socket and the
 * UAPI socket exist (initgroups, setgid, setuid): those descriptors stay
 * usable, and root's `wg` still connects. Without capabilities the daemon can
 * no longer change SO_MARK (`wg set fwmark` answers an error), bind a port
 * below 1024, or remove its socket file from the root-owned
 * /var/run/wireguard at exit (a stale socket is replaced on the next start).
 * SIGUSR1 writes one `STATS {json}` line (device and UDP counters, RSS) to
 * stdout, whatever LOG_LEVEL says.
 *
 * Glue: each TUN read batch → device.sendPacket per packet; each UDP batch →
 * device.receiveDatagram per datagram; deliverPacket → TUN write; one timer
 * armed at device.nextDeadline(), re-armed after each batch, not per packet.
 */
import { spawn } from 'node:child_process';
import v8 from 'node:v8';
import { writeSync, closeSync, statSync, readFileSync } from 'node:fs';
import { Device, type DeviceIO, type Endpoint, type Peer } from '../wireguard/device.js';
import { REJECT_AFTER_TIME } from '../wireguard/constants.js';
import { prepareUapiRequest, type UapiSetPlan } from '../wireguard/uapi.js';
import { bestCrypto } from './native-crypto.js';
import { createBind, type UdpBind } from './bind.js';
import { TunDevice } from './tun.js';
import { EINVAL_RESPONSE, UapiServer } from './uapi-server.js';

const DEFAULT_TUN_MTU = 1420; // what wireguard-go gives a fresh interface
const READY_FD_ENV = 'WGTS_READY_FD';
/** At most this many new peers' handshakes are readied ahead after a `wg set` (static-static DH, ephemeral). */
const PRECOMPUTE_MAX_PEERS = 64;

type LogLevel = 'verbose' | 'error' | 'silent';

function logLevelFromEnv(): LogLevel {
  const v = process.env.LOG_LEVEL;
  if (v === 'verbose' || v === 'debug') return 'verbose';
  if (v === 'silent') return 'silent';
  return 'error';
}

class Logger {
  constructor(
    private readonly iface: string,
    private readonly level: LogLevel,
  ) {}
  private line(tag: string, msg: string): string {
    const t = new Date().toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, '/');
    return `${tag}: (${this.iface}) ${t} ${msg}\n`;
  }
  verbose(msg: string): void {
    if (this.level === 'verbose') process.stdout.write(this.line('DEBUG', msg));
  }
  error(msg: string): void {
    if (this.level !== 'silent') process.stderr.write(this.line('ERROR', msg));
  }
  info(msg: string): void {
    if (this.level !== 'silent') process.stdout.write(this.line('INFO', msg));
  }
}

function usage(): never {
  process.stderr.write(`Usage: wireguard-ts [-f/--foreground] INTERFACE-NAME\n`);
  process.exit(2);
}

interface Args {
  foreground: boolean;
  iface: string;
  /** `--user NAME[:GROUP]`: drop root after setup. */
  user?: string;
}

function parseArgs(argv: string[]): Args {
  let foreground = process.env.WG_PROCESS_FOREGROUND === '1';
  const rest: string[] = [];
  let user: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-f' || a === '--foreground') foreground = true;
    else if (a === '--user' || a.startsWith('--user=')) {
      user = a === '--user' ? argv[++i] : a.slice('--user='.length);
      if (!user || !/^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$/.test(user)) {
        process.stderr.write(`wireguard-ts: --user needs NAME or NAME:GROUP\n`);
        process.exit(2);
      }
    }
    else if (a === '--version' || a === '-v') {
      process.stdout.write('wireguard-ts (wgts) 0.1.0\nUserspace WireGuard daemon in TypeScript, a drop-in for wireguard-go.\n');
      process.exit(0);
    } else if (a === '-h' || a === '--help') usage();
    else rest.push(a);
  }
  if (rest.length !== 1) usage();
  const iface = rest[0]!;
  if (iface.length === 0 || iface.length > 15 || /[/\s]/.test(iface)) {
    process.stderr.write(`wireguard-ts: invalid interface name '${iface}'\n`);
    process.exit(2);
  }
  return { foreground, iface, user };
}

/** uid and primary gid of a user name (or a numeric uid) from /etc/passwd. */
function lookupUser(name: string): { uid: number; gid: number; name?: string } {
  let text = '';
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    /* no passwd file: numeric only */
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && (f[0] === name || f[2] === name)) return { uid: Number(f[2]), gid: Number(f[3]), name: f[0] };
  }
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(name) };
  throw new Error(`no such user '${name}'`);
}

/** Drops root for good: supplementary groups, gid, uid (in that order, while we still may). */
function dropPrivileges(spec: string): { uid: number; gid: number } {
  const [userPart, groupPart] = spec.split(':') as [string, string | undefined];
  const u = lookupUser(userPart);
  let gid = u.gid;
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      process.setgid!(groupPart);
      gid = process.getgid!();
    }
  }
  // initgroups is missing from @types/node 20's Process, present at run time on POSIX.
  const initgroups = (process as unknown as { initgroups?: (user: string, extra: number) => void }).initgroups;
  if (u.name && initgroups) initgroups(u.name, gid);
  else process.setgroups!([gid]);
  process.setgid!(gid);
  process.setuid!(u.uid);
  if (process.getuid!() !== u.uid || process.geteuid!() !== u.uid || (u.uid !== 0 && process.getegid!() !== gid)) {
    throw new Error('privileges were not dropped');
  }
  return { uid: u.uid, gid };
}

/** Parent side of daemonizing: spawn ourselves with -f, wait for "ready" on fd 3. */
function daemonize(args: Args): Promise<number> {
  return new Promise((resolve) => {
    const level = logLevelFromEnv();
    // Like wireguard-go: the daemon keeps our stdout/stderr only when LOG_LEVEL asks for output.
    const keepOutput = !!process.env.LOG_LEVEL && level !== 'silent';
    // Inherited descriptors (WG_TUN_FD, WG_UAPI_FD) must reach the daemon at the same numbers;
    // the ready pipe goes above them.
    const inherited = [envFd('WG_TUN_FD'), envFd('WG_UAPI_FD')].filter((fd): fd is number => fd !== undefined);
    const readyFd = Math.max(3, ...inherited.map((fd) => fd + 1));
    const stdio: Array<'ignore' | 'inherit' | 'pipe' | number> = ['ignore', keepOutput ? 'inherit' : 'ignore', keepOutput ? 'inherit' : 'pipe'];
    for (let fd = 3; fd <= readyFd; fd++) stdio.push(fd === readyFd ? 'pipe' : inherited.includes(fd) ? fd : 'ignore');
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '-f', ...(args.user ? ['--user', args.user] : []), args.iface], {
      detached: true,
      stdio,
      env: { ...process.env, WG_PROCESS_FOREGROUND: '1', [READY_FD_ENV]: String(readyFd) },
    });
    let errText = '';
    let settled = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(code);
    };
    const timer = setTimeout(() => {
      process.stderr.write('wireguard-ts: the daemon did not become ready within 15 s\n');
      child.kill('SIGKILL');
      finish(1);
    }, 15_000);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (errText.length < 8192) errText += d;
    });
    const readyPipe = child.stdio[readyFd] as NodeJS.ReadableStream;
    let readyText = '';
    readyPipe.setEncoding('utf8');
    readyPipe.on('data', (d: string) => {
      readyText += d;
      if (readyText.includes('ready\n')) {
        // The daemon runs on by itself: let go of its pipes and this event loop.
        child.unref();
        (readyPipe as unknown as { destroy(): void }).destroy();
        child.stderr?.destroy();
        finish(0);
      }
    });
    readyPipe.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      if (settled) return;
      if (errText) process.stderr.write(errText);
      process.stderr.write(`wireguard-ts: the daemon exited before it was ready (${signal ?? `code ${code}`})\n`);
      finish(code === null || code === 0 ? 1 : code);
    });
  });
}

function envFd(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a file descriptor number, got '${v}'`);
  return n;
}

// timeOrigin read once: its getter is several µs on a cold path, and it never changes.
const TIME_ORIGIN = performance.timeOrigin;
const clock = (): number => TIME_ORIGIN + performance.now();

interface WarmRoute {
  route(data: Uint8Array, to: Endpoint): void;
}

/** The running endpoint: device, TUN, UDP bind, UAPI server, one timer. */
class Daemon {
  private readonly log: Logger;
  private readonly device: Device;
  private readonly io: DeviceIO;
  /** Set only while warmUp() runs: where the shared I/O sends datagrams instead of the socket. */
  private warm: WarmRoute | undefined;
  private readonly tun: TunDevice;
  private bind: UdpBind;
  private uapi: UapiServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private mtuTimer: NodeJS.Timeout | undefined;
  private boundPort = -1;
  private boundMark = 0;
  private rebinding: Promise<void> = Promise.resolve();
  private stopping = false;
  private precomputeQueued = false;
  private readonly fireTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.device.tick(clock());
    this.afterWork();
  };

  constructor(
    readonly iface: string,
    log: Logger,
  ) {
    this.log = log;
    const tunFd = envFd('WG_TUN_FD');
    this.tun = tunFd !== undefined ? new TunDevice({ fd: tunFd }) : new TunDevice({ name: iface });
    if (tunFd === undefined) {
      try {
        this.tun.mtu = DEFAULT_TUN_MTU;
      } catch (err) {
        log.error(`Failed to set MTU: ${(err as Error).message}`);
      }
    }
    const tun = this.tun;
    // One I/O object, shared with the warm-up Devices (see warmUp): the optimized code they
    // leave behind then calls these very functions and needs no deoptimization later.
    this.io = {
      sendDatagram: (data: Uint8Array, to: Endpoint) => {
        if (this.warm) this.warm.route(data, to);
        else this.bind.send(data, to);
      },
      deliverPacket: (packet: Uint8Array) => {
        if (!this.warm) tun.write(packet);
      },
      onHandshake: (peer: Peer) => {
        if (!this.warm) log.verbose(`peer(${Buffer.from(peer.publicKey).toString('base64').slice(0, 4)}…) - handshake completed`);
      },
    };
    this.device = new Device({
      io: this.io,
      crypto: bestCrypto(),
      mtu: this.readMtu() ?? DEFAULT_TUN_MTU,
    });
    // afterWork() flushes after every TUN batch, receive batch, timer tick and UAPI request.
    this.bind = createBind(undefined, { microtaskFlush: false });
  }

  /** The interface MTU, or undefined when it cannot be read (e.g. moved to another namespace). */
  private readMtu(): number | undefined {
    try {
      return this.tun.mtu;
    } catch {
      return undefined;
    }
  }

  async start(): Promise<void> {
    if ((await this.applyBind()) !== 0) throw new Error('cannot open a UDP socket');
    const uapiFd = envFd('WG_UAPI_FD');
    this.uapi = await UapiServer.listen((req, answerNow) => this.onUapi(req, answerNow), uapiFd !== undefined ? { fd: uapiFd } : { iface: this.iface });
    this.tun.on('closed', ({ message }: { errno: number; message: string }) => {
      this.log.info(`Interface ${this.iface} closed (${message}); shutting down`);
      void this.stop(0);
    });
    this.tun.start((batch) => {
      const now = clock();
      for (let i = 0; i < batch.count; i++) this.device.sendPacket(batch.packet(i), now);
      this.afterWork();
    });
    // wireguard-go follows MTU changes through netlink and exits when its socket file is
    // removed (inotify); a cheap once-a-second poll does both here.
    const sockPath = this.uapi.path;
    const sockIno = sockPath ? statSync(sockPath).ino : 0;
    this.mtuTimer = setInterval(() => {
      this.syncMtu();
      // Ephemerals for the next handshake messages of peers that just used theirs (at most
      // PRECOMPUTE_MAX_PEERS a second, 0–1 s after, off the handshake), and expiry of old ones.
      if (!this.stopping && (this.device.ephemeralsPending > 0 || this.device.ephemeralsPrepared > 0)) {
        this.device.prepareEphemerals(PRECOMPUTE_MAX_PEERS, clock());
      }
      this.device.topUpRandom();
      if (sockPath && !this.stopping) {
        let ino = -1;
        try {
          ino = statSync(sockPath).ino;
        } catch {
          /* removed */
        }
        if (ino !== sockIno) {
          this.log.info(`UAPI socket ${sockPath} was removed; shutting down`);
          void this.stop(0, false);
        }
      }
    }, 1000);
    this.mtuTimer.unref();
    this.log.verbose(`Device started (crypto ${this.device.crypto.name}, UDP ${this.bind.kind}, UAPI ${this.uapi.implementation})`);
  }

  private syncMtu(): void {
    const m = this.readMtu();
    if (m !== undefined && m !== this.device.mtu && m > 0) {
      this.log.verbose(`MTU updated: ${m}`);
      this.device.mtu = m;
    }
  }

  private onUapi(request: string, answerNow: (answer: string) => void): string | Promise<string> {
    const { answer, plan } = prepareUapiRequest(this.device, request);
    if (plan === undefined) return answer; // a get, or a refused set
    if (!plan.changesBind) {
      // A validated set cannot fail: `wg` gets its answer now, and the changes are made before
      // this callback returns — before any packet, timer or later request reaches the device.
      answerNow(answer);
      this.applySet(plan);
      return answer;
    }
    if (!this.applySet(plan)) return EINVAL_RESPONSE;
    if (this.device.listenPort !== this.boundPort || this.device.fwmark !== this.boundMark) {
      // Answer after the socket moved, so `wg set listen-port` is in effect when wg returns;
      // a port we cannot bind is reported like wireguard-go does (-EADDRINUSE).
      return this.applyBind().then((err) => (err && answer === 'errno=0\n\n' ? `errno=${err}\n\n` : answer));
    }
    return answer;
  }

  /** Applies a validated set, then what follows any set: MTU, timers, flushes, precompute. */
  private applySet(plan: UapiSetPlan): boolean {
    let ok = true;
    try {
      plan.apply(clock());
    } catch (err) {
      // Unreachable after validation (a broken invariant): say so rather than take the daemon down.
      this.log.error(`UAPI set failed while applying: ${(err as Error).message}`);
      ok = false;
    }
    this.syncMtu();
    this.afterWork();
    this.schedulePrecompute();
    return ok;
  }

  /**
   * (Re)binds UDP to device.listenPort (0 = any, then reported back to the device) with
   * device.fwmark. The new socket is opened before the old one closes, so a failure keeps
   * the old one working (and the device's port is put back). Resolves to 0 or -errno.
   */
  private applyBind(): Promise<number> {
    const step = this.rebinding.then(async (): Promise<number> => {
      const wantPort = this.device.listenPort;
      const wantMark = this.device.fwmark;
      if (wantPort === this.boundPort && wantMark === this.boundMark) return 0;
      if (this.boundPort >= 0 && wantPort === this.boundPort) {
        try {
          this.bind.setMark(wantMark);
          this.boundMark = wantMark;
          return 0;
        } catch (err) {
          this.log.error(`Failed to set fwmark: ${(err as Error).message}`);
          this.device.fwmark = this.boundMark;
          return -1;
        }
      }
      const old = this.bind;
      const next = createBind(old.kind, { microtaskFlush: false });
      next.onReceive(
        (data, from) => this.device.receiveDatagram(data, from, clock()),
        () => this.afterWork(),
      );
      try {
        const port = await next.open(wantPort, wantMark);
        this.bind = next;
        await old.close();
        // Port 0 means "any": like wireguard-go, the port we got becomes the listen port.
        this.device.listenPort = port;
        this.boundPort = port;
        this.boundMark = wantMark;
        this.log.verbose(`UDP bind has been updated (port ${port})`);
        return 0;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        this.log.error(`Failed to bind UDP port ${wantPort}: ${e.message}`);
        await next.close().catch(() => undefined);
        if (this.boundPort >= 0) {
          this.device.listenPort = this.boundPort;
          this.device.fwmark = this.boundMark;
        }
        return e.code === 'EADDRINUSE' ? -98 : e.code === 'EACCES' ? -13 : -22;
      }
    });
    this.rebinding = step.then(() => undefined);
    return step;
  }

  /** After a batch: push queued datagrams out and re-arm the single timer. */
  private afterWork(): void {
    this.bind.flush();
    const at = this.device.nextDeadline();
    if (at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(this.fireTimer, Math.max(0, Math.ceil(at - clock())));
  }

  /**
   * After a small `wg set` (a few new peers), compute their static-static DHs and an ephemeral
   * for their first handshake message right after the answer (setImmediate) rather than in the
   * handshake: ~80 µs per DH warm, ~250 µs on a cold cache, off the first packet's path. A bulk
   * setconf stays lazy (fast to configure).
   */
  private schedulePrecompute(): void {
    if (this.precomputeQueued) return;
    const pending = this.device.staticStaticsPending;
    if (pending === 0 || pending > PRECOMPUTE_MAX_PEERS) return;
    this.precomputeQueued = true;
    setImmediate(() => {
      this.precomputeQueued = false;
      if (!this.stopping) this.device.prepareHandshakes(PRECOMPUTE_MAX_PEERS, clock());
    });
  }

  /**
   * Throwaway handshakes and packets (~100 ms) between two extra Devices, so the first real
   * handshake and packets after a `wg set` do not run in V8's interpreter (a daemon does a
   * handshake every two minutes at most). Shaped like the daemon's traffic: the daemon's own
   * I/O functions, endpoints frozen with a local address like the native bind's, packet
   * views, small and full-size packets. A generic warm-up with its own closures and endpoints
   * (Device.warmUp until this replaced it) had its optimized code thrown away ("wrong call
   * target", "wrong map") at the first real packets, and the data path then ran as baseline
   * code until a few thousand packets had passed.
   */
  warmUp(handshakes = 32, packetsPerHandshake = 160): void {
    const crypto = this.device.crypto;
    const local = this.bind.kind === 'native';
    const ep = (address: string, localAddress: string): Endpoint =>
      local ? Object.freeze({ address, port: 51820, localAddress }) : Object.freeze({ address, port: 51820 });
    const epA = ep('192.0.2.1', '192.0.2.2');
    const epB = ep('192.0.2.2', '192.0.2.1');
    const a = new Device({ crypto, io: this.io });
    const b = new Device({ crypto, io: this.io });
    const queue: { to: Device; from: Endpoint; data: Uint8Array }[] = [];
    this.warm = {
      route: (data, to) => {
        if (queue.length < 256) queue.push(to.address === epB.address ? { to: b, from: epA, data: Uint8Array.from(data) } : { to: a, from: epB, data: Uint8Array.from(data) });
      },
    };
    try {
      a.setPrivateKey(crypto.generatePrivateKey());
      b.setPrivateKey(crypto.generatePrivateKey());
      const peerB = a.addPeer(b.publicKey!);
      const peerA = b.addPeer(a.publicKey!);
      // Configured endpoints are plain { address, port } (as from `wg set`); the first datagram
      // replaces them with the bind's frozen one, as in real use.
      peerB.setEndpoint({ address: epB.address, port: epB.port });
      peerA.setEndpoint({ address: epA.address, port: epA.port });
      a.allowedIPs.insert(new Uint8Array([10, 0, 0, 2]), 32, peerB);
      b.allowedIPs.insert(new Uint8Array([10, 0, 0, 1]), 32, peerA);
      const v6 = (host: number): Uint8Array => new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, host]);
      a.allowedIPs.insert(v6(2), 128, peerB);
      b.allowedIPs.insert(v6(1), 128, peerA);
      // IPv4 and IPv6 packets in one buffer, passed as views like TUN reads.
      const buf = new Uint8Array(3 * 1420);
      const packet = (off: number, len: number, src: number, dst: number, version: 4 | 6): Uint8Array => {
        const p = new Uint8Array(buf.buffer, off, len);
        if (version === 4) {
          p[0] = 0x45;
          p[2] = len >> 8;
          p[3] = len & 0xff;
          p[8] = 64;
          p[9] = 17;
          p.set([10, 0, 0, src], 12);
          p.set([10, 0, 0, dst], 16);
        } else {
          p[0] = 0x60;
          p[4] = (len - 40) >> 8;
          p[5] = (len - 40) & 0xff;
          p[6] = 17;
          p[7] = 64;
          p.set(v6(src), 8);
          p.set(v6(dst), 24);
        }
        return p;
      };
      const small = packet(0, 84, 1, 2, 4);
      const full = packet(1420, 1420, 2, 1, 4);
      const small6 = packet(2840, 104, 1, 2, 6);
      let now = clock();
      const pump = (): void => {
        for (let i = 0; i < 64 && queue.length > 0; i++) {
          const m = queue.shift()!;
          m.to.receiveDatagram(new Uint8Array(m.data.buffer, 0, m.data.length), m.from, now);
        }
        queue.length = 0;
      };
      for (let h = 0; h < handshakes; h++) {
        // Past REJECT_AFTER_TIME: every round needs a new handshake.
        now += REJECT_AFTER_TIME + 1000;
        // Every other round with ephemerals prepared ahead (as after a `wg set`), so the
        // handshake functions are warm for both kinds of ephemeral.
        if (h % 2 === 1) {
          a.prepareHandshakes(PRECOMPUTE_MAX_PEERS, now);
          b.prepareHandshakes(PRECOMPUTE_MAX_PEERS, now);
        }
        for (let i = 0; i < packetsPerHandshake; i++) {
          a.sendPacket(i % 8 === 7 ? small6 : small, now);
          pump();
          b.sendPacket(i % 4 === 0 ? full : small, now);
          pump();
        }
        a.sendKeepalive(peerB, now);
        pump();
        a.tick(now);
        b.tick(now);
      }
    } catch (err) {
      this.log.error(`Warm-up failed: ${(err as Error).message}`);
    } finally {
      this.warm = undefined;
      a.removeAllPeers();
      b.removeAllPeers();
      a.setPrivateKey(null);
      b.setPrivateKey(null);
    }
  }

  /** One line of counters for SIGUSR1 (device, UDP bind, process memory). */
  statsLine(): string {
    const mem = process.memoryUsage();
    return `STATS ${JSON.stringify({ iface: this.iface, device: this.device.stats, udp: { kind: this.bind.kind, ...this.bind.stats }, rss: mem.rss, heapUsed: mem.heapUsed, arrayBuffers: mem.arrayBuffers })}\n`;
  }

  /** Shuts down; `removeSocket` false when the socket path may already belong to someone else. */
  async stop(code: number, removeSocket = true): Promise<never> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.timer) clearTimeout(this.timer);
      if (this.mtuTimer) clearInterval(this.mtuTimer);
      try {
        await this.uapi?.close(removeSocket);
      } catch {
        /* best effort */
      }
      this.tun.close();
      await this.bind.close().catch(() => undefined);
      this.log.verbose('Shutting down');
    }
    process.exit(code);
  }
}

function signalReady(): void {
  const fd = envFd(READY_FD_ENV);
  if (fd === undefined) return;
  try {
    writeSync(fd, 'ready\n');
    closeSync(fd);
  } catch {
    /* the launcher went away: nothing to tell */
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  if (!args.foreground) {
    process.exitCode = await daemonize(args);
    return;
  }
  // Code the daemon runs rarely (a `wg set`, the first packets of a handshake) runs as baseline
  // machine code from its first call instead of in the interpreter: on a cold cache that is
  // what such a path costs. Set before the daemon's functions are first called (they compile
  // lazily). WGTS_SPARKPLUG=0 keeps V8's default.
  if (process.env.WGTS_SPARKPLUG !== '0') v8.setFlagsFromString('--always-sparkplug');
  const log = new Logger(args.iface, logLevelFromEnv());
  // SIGTERM/SIGINT are taken before the socket and interface exist: one that arrives while
  // starting stops the daemon cleanly once it is up, instead of killing it half-made.
  let daemon: Daemon | undefined;
  let running = false;
  let stopRequested = false;
  const onStop = (): void => {
    if (running && daemon) void daemon.stop(0);
    else stopRequested = true;
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  try {
    daemon = new Daemon(args.iface, log);
    await daemon.start();
  } catch (err) {
    log.error(`Failed to start: ${(err as Error).message}`);
    process.stderr.write(`wireguard-ts: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (args.user) {
    try {
      const ids = dropPrivileges(args.user);
      log.info(`Dropped privileges to uid ${ids.uid} gid ${ids.gid}`);
    } catch (err) {
      log.error(`Failed to drop privileges: ${(err as Error).message}`);
      process.stderr.write(`wireguard-ts: cannot drop privileges to '${args.user}': ${(err as Error).message}\n`);
      await daemon.stop(1);
    }
  }
  running = true;
  if (stopRequested) {
    await daemon.stop(0);
    return;
  }
  process.on('SIGHUP', () => undefined);
  process.on('SIGUSR1', () => {
    process.stdout.write(daemon.statsLine());
  });
  if (process.env[READY_FD_ENV] !== undefined) process.chdir('/');
  // Before "ready": the first real handshake then runs optimized code instead of the
  // interpreter (first ping after `wg set` several ms sooner). WGTS_WARMUP=0 skips it.
  if (process.env.WGTS_WARMUP !== '0') daemon.warmUp();
  log.info(`Device ${args.iface} up`);
  signalReady();
}

