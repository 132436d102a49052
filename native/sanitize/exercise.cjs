'use strict';
/**
 * Drives the native addon through its edges: empty, short and maximum-size
 * packets, out-of-range arguments, closed handles and closes from inside
 * callbacks. Meant to run under AddressSanitizer/UBSan (native/sanitize/run.sh),
 * inside a private network namespace (`unshare -n`) so the TUN device and the
 * loopback traffic are its own. Prints "exercise: ok N checks" on success.
 *
 *   node exercise.cjs /path/to/wgts_native.node
 */
const { execFileSync } = require('node:child_process');
const addon = require(process.argv[2]);

let checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) {
    console.error(`exercise: FAIL ${what}`);
    process.exit(1);
  }
}
function throws(fn, re, what) {
  try {
    fn();
  } catch (e) {
    check(re.test(String(e.message)), `${what}: ${e.message}`);
    return;
  }
  check(false, `${what}: did not throw`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function aead() {
  const key = Buffer.alloc(32, 7);
  for (const n of [0, 1, 15, 16, 17, 63, 64, 65, 1420, 65535]) {
    const pt = Buffer.alloc(n, n & 0xff);
    const out = Buffer.alloc(n + 16 + 3);
    check(addon.aeadSeal(key, 5n, pt, null, out, 3) === n + 16, `seal ${n}`);
    const back = Buffer.alloc(n + 1);
    check(addon.aeadOpen(key, 5, out.subarray(3, 3 + n + 16), null, back, 1) === n, `open ${n}`);
    check(back.subarray(1).equals(pt), `round trip ${n}`);
    out[3 + n] ^= 1;
    check(addon.aeadOpen(key, 5, out.subarray(3, 3 + n + 16), null, back, 1) === -1, `tampered ${n}`);
    // In place, overlapping by one byte each way.
    const buf = Buffer.alloc(n + 40, 1);
    addon.aeadSeal(key, 2n ** 64n - 1n, buf.subarray(8, 8 + n), Buffer.alloc(32), buf, 7);
    addon.aeadSeal(key, 0, buf.subarray(8, 8 + n), Buffer.alloc(1), buf, 9);
  }
  check(addon.aeadOpen(key, 0, Buffer.alloc(15), null, Buffer.alloc(64)) === -1, 'open short input');
  throws(() => addon.aeadSeal(key, 0, Buffer.alloc(10), null, Buffer.alloc(25)), /too small/, 'seal out too small');
  throws(() => addon.aeadSeal(key, 0, Buffer.alloc(10), null, Buffer.alloc(100), 90), /too small/, 'seal offset past end');
  throws(() => addon.aeadSeal(key, 0, Buffer.alloc(10), null, Buffer.alloc(100), 2 ** 31), /too small|range/i, 'seal huge offset');
  throws(() => addon.aeadOpen(key, 0, Buffer.alloc(40), null, Buffer.alloc(10)), /too small/, 'open out too small');
  throws(() => addon.aeadSeal(Buffer.alloc(31), 0, Buffer.alloc(1), null, Buffer.alloc(64)), /32 bytes/, 'short key');
  throws(() => addon.aeadSeal(key, -1, Buffer.alloc(1), null, Buffer.alloc(64)), /counter/, 'negative counter');
}

// Keyed BLAKE2s and XChaCha20-Poly1305 (cookies): every key and data length around the
// block size, offsets to the ends of the output, in-place and overlapping seals, bad arguments.
function handshakeCrypto() {
  if (!addon.blake2s || !addon.xaeadSeal) return;
  for (let k = 0; k <= 32; k++) {
    for (const n of [0, 1, 63, 64, 65, 127, 128, 129, 148, 1000]) {
      const out = Buffer.alloc(40);
      check(addon.blake2s(k ? Buffer.alloc(k, 1) : null, Buffer.alloc(n, 2), out, 40 - 16) === 16, `blake2s key ${k} data ${n}`);
      check(addon.blake2s(k ? Buffer.alloc(k, 1) : null, Buffer.alloc(n, 2), out, 8, 32) === 32, `blake2s 32 key ${k} data ${n}`);
    }
  }
  throws(() => addon.blake2s(Buffer.alloc(33), Buffer.alloc(1), Buffer.alloc(16)), /at most 32/, 'blake2s long key');
  throws(() => addon.blake2s(null, Buffer.alloc(1), Buffer.alloc(16), 1), /too small/, 'blake2s out too small');
  throws(() => addon.blake2s(null, Buffer.alloc(1), Buffer.alloc(64), 0, 33), /1\.\.32/, 'blake2s outLen 33');
  throws(() => addon.blake2s(null, Buffer.alloc(1), Buffer.alloc(64), 0, 0), /1\.\.32/, 'blake2s outLen 0');
  throws(() => addon.blake2s(null, 'x', Buffer.alloc(16)), /TypedArray/, 'blake2s string data');
  check(addon.blake2s(null, new Float64Array(4), Buffer.alloc(16)) === 16, 'blake2s other typed array');
  if (addon.blake2sKdf) {
    // HMAC (n = 0) and KDF1..3 across the 256-byte stack buffer, at the end of the output, in place.
    for (const n of [0, 1, 2, 3]) {
      const len = n === 0 ? 32 : 32 * n;
      for (const inLen of [0, 1, 32, 64, 65, 255, 256, 257, 1000]) {
        const out = Buffer.alloc(len + 7);
        check(addon.blake2sKdf(Buffer.alloc(32, 5), Buffer.alloc(inLen, 6), n, out, 7) === len, `kdf${n} input ${inLen}`);
      }
      const both = Buffer.alloc(128, 8);
      check(addon.blake2sKdf(both.subarray(0, 32), both.subarray(0, 100), n, both, 0) === len, `kdf${n} in place`);
    }
    throws(() => addon.blake2sKdf(Buffer.alloc(32), Buffer.alloc(1), 4, Buffer.alloc(128)), /0\.\.3/, 'kdf n 4');
    throws(() => addon.blake2sKdf(Buffer.alloc(32), Buffer.alloc(1), 3, Buffer.alloc(95)), /too small/, 'kdf3 out too small');
    throws(() => addon.blake2sKdf(Buffer.alloc(32), Buffer.alloc(1), 1, Buffer.alloc(64), 40), /too small/, 'kdf1 offset past the end');
    throws(() => addon.blake2sKdf(Buffer.alloc(32), 'x', 1, Buffer.alloc(64)), /TypedArray/, 'kdf string input');
  }
  const key = Buffer.alloc(32, 7);
  const nonce = Buffer.alloc(24, 9);
  for (const n of [0, 1, 16, 64, 1500]) {
    const out = Buffer.alloc(n + 16 + 5);
    check(addon.xaeadSeal(key, nonce, Buffer.alloc(n, 3), Buffer.alloc(16), out, 5) === n + 16, `xseal ${n}`);
    const back = Buffer.alloc(n + 2);
    check(addon.xaeadOpen(key, nonce, out.subarray(5), Buffer.alloc(16), back, 2) === n, `xopen ${n}`);
    out[5 + n] ^= 1;
    check(addon.xaeadOpen(key, nonce, out.subarray(5), Buffer.alloc(16), back, 2) === -1, `xopen tampered ${n}`);
    const buf = Buffer.alloc(n + 16 + 8, 4);
    addon.xaeadSeal(key, nonce, buf.subarray(0, n), Buffer.alloc(0), buf, 0);
    addon.xaeadSeal(key, nonce, buf.subarray(8, 8 + n), Buffer.alloc(0), buf, 3);
  }
  check(addon.xaeadOpen(key, nonce, Buffer.alloc(15), Buffer.alloc(0), Buffer.alloc(16)) === -1, 'xopen short input');
  throws(() => addon.xaeadSeal(key, Buffer.alloc(12), Buffer.alloc(1), Buffer.alloc(0), Buffer.alloc(64)), /24 bytes/, 'xseal short nonce');
  throws(() => addon.xaeadSeal(Buffer.alloc(31), nonce, Buffer.alloc(1), Buffer.alloc(0), Buffer.alloc(64)), /32 bytes/, 'xseal short key');
  throws(() => addon.xaeadSeal(key, nonce, Buffer.alloc(10), Buffer.alloc(0), Buffer.alloc(25)), /too small/, 'xseal out too small');
  throws(() => addon.xaeadOpen(key, nonce, Buffer.alloc(40), Buffer.alloc(0), Buffer.alloc(10)), /too small/, 'xopen out too small');
}

// X25519 on raw keys: results into the ends of views, low-order points, bad sizes.
function x25519() {
  if (!addon.x25519) {
    console.log('# x25519: not offered (Node without exported OpenSSL X25519)');
    return;
  }
  const buf = Buffer.alloc(100, 1);
  const priv = buf.subarray(3, 35);
  const pubA = Buffer.alloc(32);
  addon.x25519Base(priv, pubA);
  const out = buf.subarray(68, 100);
  check(addon.x25519(priv, pubA, out) === true, 'x25519 ok');
  check(addon.x25519(priv, Buffer.alloc(32), out) === false && out.every((b) => b === 0), 'x25519 low order zeroed');
  addon.x25519(buf.subarray(0, 32), buf.subarray(0, 32), buf.subarray(0, 32));
  throws(() => addon.x25519(Buffer.alloc(31), pubA, Buffer.alloc(32)), /32 bytes/, 'x25519 short priv');
  throws(() => addon.x25519(priv, pubA, Buffer.alloc(31)), /32 bytes/, 'x25519 short out');
  throws(() => addon.x25519Base(priv, Buffer.alloc(33)), /32 bytes/, 'x25519Base long out');
  throws(() => addon.x25519(priv, 'x', Buffer.alloc(32)), /TypedArray/, 'x25519 string pub');
  throws(() => addon.x25519(priv), /x25519\(priv, pub, out\)/, 'x25519 missing args');
}

const META = 16;
function udpPair(slot = 2048, batch = 64) {
  const mk = () => {
    const s = { recv: Buffer.alloc(slot * batch), recvMeta: new Int32Array(META * batch), send: Buffer.alloc(70000 * 2), sendMeta: new Int32Array(META * batch) };
    s.udp = new addon.Udp(s.recv, slot, s.recvMeta, s.send, s.sendMeta);
    return s;
  };
  return [mk(), mk()];
}
function queue(s, i, off, len, port) {
  const m = s.sendMeta.subarray(i * META, (i + 1) * META);
  m.fill(0);
  m[0] = off;
  m[1] = len;
  m[2] = 4;
  m[3] = port;
  m.set([127, 0, 0, 1], 4);
}

async function udp() {
  const [a, b] = udpPair();
  const pa = a.udp.bind(0, 4);
  const pb = b.udp.bind(0, 0);
  check(pa > 0 && pb > 0, 'bind');
  throws(() => a.udp.bind(0), /already bound/, 'bind twice');
  const lengths = [];
  let errors = 0;
  b.udp.start(
    (count) => {
      for (let i = 0; i < count; i++) lengths.push(b.recvMeta[i * META]);
    },
    () => errors++,
  );
  throws(() => b.udp.start(() => {}, () => {}), /already started/, 'start twice');
  // Empty, short, a full slot, one over the slot (truncated), the largest IPv4 UDP payload.
  const sizes = [0, 1, 2048, 2049, 65507];
  let off = 0;
  sizes.forEach((n, i) => {
    a.send.fill(i + 1, off, off + n);
    queue(a, i, off, n, pb);
    off += n;
  });
  a.udp.sendBatch(sizes.length);
  // A batch of 64 small ones (GSO grouping when the kernel has it).
  for (let i = 0; i < 64; i++) queue(a, i, i * 100, 100, pb);
  check(a.udp.sendBatch(64) >= 0, 'batch of 64');
  throws(() => a.udp.sendBatch(65), /exceeds/, 'count over meta');
  queue(a, 0, a.send.length - 10, 11, pb);
  throws(() => a.udp.sendBatch(1), /outside/, 'message past the buffer end');
  queue(a, 0, 0x7fffffff, 10, pb);
  throws(() => a.udp.sendBatch(1), /outside/, 'huge offset');
  queue(a, 0, 0, 10, 0); // port 0: the kernel refuses; not a crash
  a.udp.sendBatch(1);
  queue(a, 0, 0, 10, pb);
  a.send[0] = 0; // family 7: garbage
  a.sendMeta[2] = 7;
  a.udp.sendBatch(1);
  for (let t = 0; t < 40 && lengths.length < sizes.length + 64; t++) await sleep(25);
  check(lengths.length >= sizes.length + 60, `received ${lengths.length}`);
  check(JSON.stringify(lengths.slice(0, 5)) === JSON.stringify([0, 1, 2048, -1, -1]), `lengths ${lengths.slice(0, 5)}`);
  a.udp.setMark(0);
  check(typeof a.udp.gsoEnabled() === 'boolean', 'gso flag');
  // Close from inside the receive callback while a flood is arriving.
  let closedInside = false;
  const [c, d] = udpPair(256, 8);
  const pd = d.udp.bind(0, 4);
  c.udp.bind(0, 4);
  d.udp.start(
    () => {
      if (!closedInside) {
        closedInside = true;
        d.udp.close();
        d.udp.close();
      }
    },
    () => {},
  );
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 8; i++) queue(c, i, i * 200, 200, pd);
    c.udp.sendBatch(8);
    await sleep(2);
  }
  check(closedInside, 'closed inside the callback');
  throws(() => d.udp.localPort(), /closed/, 'closed handle');
  throws(() => d.udp.start(() => {}, () => {}), /closed|started/, 'start after close');
  // Close with sends pending and the poller running, then drop every reference.
  a.udp.close();
  b.udp.close();
  c.udp.close();
  throws(() => a.udp.sendBatch(1), /closed/, 'send after close');
  throws(() => new addon.Udp(Buffer.alloc(10), 64, new Int32Array(16), Buffer.alloc(10), new Int32Array(16)), /small/, 'buffers too small');
  throws(() => new addon.Udp(Buffer.alloc(1000), 8, new Int32Array(16), Buffer.alloc(10), new Int32Array(16)), /slotSize/, 'slot too small');
  throws(() => new addon.Udp(Buffer.alloc(1000), 100, [1, 2], Buffer.alloc(10), new Int32Array(16)), /Int32Array/, 'meta type');
  check(errors === 0, `poll errors ${errors}`);
}

async function tun() {
  const name = 'wsan0';
  const meta = new Int32Array(2 * 32);
  const buf = Buffer.alloc(65535 * 2);
  const t = new addon.Tun(name, buf, meta);
  check(t.name === name && t.fd >= 0, 'tun open');
  t.setMtu(1420);
  check(t.getMtu() === 1420, 'mtu');
  execFileSync('ip', ['addr', 'add', '10.250.0.1/24', 'dev', name]);
  execFileSync('ip', ['link', 'set', name, 'up']);
  const seen = [];
  t.start(
    (count) => {
      for (let i = 0; i < count; i++) seen.push(meta[2 * i + 1]);
    },
    () => {},
  );
  // Short, garbage, empty and oversized writes: errors, not crashes.
  for (const n of [0, 1, 19, 20, 60, 1420, 65535]) {
    const r = t.write(Buffer.alloc(n, 0x45));
    check(typeof r === 'number', `write ${n}`);
  }
  // A well-formed IPv4 packet from the tunnel (ICMP echo to our own address) reaches the kernel.
  const pkt = Buffer.from('450000540000400040010000' + '0afa0002' + '0afa0001' + '0800f7ff00000000' + '00'.repeat(56), 'hex');
  check(t.write(pkt) === pkt.length, 'write ipv4');
  // Reads: the kernel routes pings for 10.250.0.0/24 into the TUN; sizes up to the MTU.
  try {
    execFileSync('ping', ['-c', '3', '-i', '0.01', '-W', '0.2', '-s', '1392', '10.250.0.2'], { stdio: 'ignore' });
  } catch {
    /* nobody answers: the echo requests are what we read */
  }
  await sleep(100);
  check(seen.length >= 3 && seen.some((n) => n === 1420), `tun reads ${seen}`);
  // Close inside the read callback while pings arrive.
  const t2 = new addon.Tun('wsan1', Buffer.alloc(65535 * 4), new Int32Array(8));
  execFileSync('ip', ['addr', 'add', '10.251.0.1/24', 'dev', 'wsan1']);
  execFileSync('ip', ['link', 'set', 'wsan1', 'up']);
  let closed2 = false;
  t2.start(
    () => {
      if (!closed2) {
        closed2 = true;
        t2.close();
      }
    },
    () => {},
  );
  try {
    execFileSync('ping', ['-c', '5', '-i', '0.01', '-W', '0.1', '10.251.0.2'], { stdio: 'ignore' });
  } catch {
    /* no replies expected */
  }
  await sleep(50);
  check(closed2, 'tun closed in its callback');
  throws(() => t2.getMtu(), /closed/, 'tun closed handle');
  throws(() => t2.write(pkt), /closed/, 'tun write after close');
  // Deleting the interface under a running reader: the error callback, no crash.
  let tunError = '';
  const t3 = new addon.Tun('wsan2', Buffer.alloc(65535 * 2), new Int32Array(4));
  t3.start(
    () => {},
    (_errno, message) => (tunError = message),
  );
  execFileSync('ip', ['link', 'del', 'wsan2']);
  for (let i = 0; i < 20 && !tunError; i++) await sleep(25);
  t3.close();
  t3.close();
  t.close();
  throws(() => new addon.Tun('x'.repeat(16), Buffer.alloc(65535), new Int32Array(2)), /too long/, 'long name');
  throws(() => new addon.Tun('wsan3', Buffer.alloc(100), new Int32Array(2)), /65535/, 'small read buffer');
  throws(() => new addon.Tun(987654, Buffer.alloc(65535), new Int32Array(2)), /TUNGETIFF/, 'bad fd');
  console.log(`# tun: ${seen.length} reads, interface deletion reported as '${tunError}'`);
}

/** Talks to a unix socket: writes the chunks (with a pause), resolves with all it got when the server closes or `until` holds. */
function uapiTalk(path, chunks, until = () => false) {
  const net = require('node:net');
  return new Promise((resolve) => {
    const c = net.connect(path);
    let got = '';
    const timer = setTimeout(() => c.destroy(), 3000);
    c.setEncoding('utf8');
    c.on('data', (d) => {
      got += d;
      if (until(got)) c.destroy();
    });
    c.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    c.on('error', () => {});
    c.on('connect', async () => {
      for (const ch of chunks) {
        if (c.destroyed) break;
        c.write(ch);
        await sleep(2);
      }
    });
  });
}

async function uapi() {
  const fs = require('node:fs');
  const os = require('node:os');
  const dir = fs.mkdtempSync(require('node:path').join(os.tmpdir(), 'wsan-uapi-'));
  const path = `${dir}/u.sock`;
  throws(() => new addon.UapiListener(path, 1, 4), /maxRequestBytes/, 'uapi tiny max');
  throws(() => new addon.UapiListener(path, 1000, 0), /maxConnections/, 'uapi no connections');
  throws(() => new addon.UapiListener('x'.repeat(200), 1000, 4), /UAPI socket path/, 'uapi long path');
  throws(() => new addon.UapiListener(987654, 1000, 4), /UAPI fd/, 'uapi bad fd');
  throws(() => new addon.UapiListener({}, 1000, 4), /UapiListener\(/, 'uapi bad args');
  const l = new addon.UapiListener(path, 4096, 8);
  check((fs.statSync(path).mode & 0o777) === 0o700 || (fs.statSync(path).mode & 0o077) === 0, 'uapi socket mode');
  throws(() => new addon.UapiListener(path, 4096, 8), /bind/, 'uapi path in use');
  throws(() => l.start(42), /start\(onRequest\)/, 'uapi start args');
  const pending = [];
  l.start((id, req) => {
    if (req.startsWith('set=1\nasync')) {
      pending.push(id);
      setTimeout(() => l.respond(id, 'errno=0\n\n'), 5);
      return undefined;
    }
    if (req.startsWith('set=1\nthrow')) throw new Error('boom');
    if (req.startsWith('set=1\nbig')) return 'x'.repeat(1 << 20) + '\n\n';
    return 'errno=0\n\n';
  });
  throws(() => l.start(() => {}), /already started/, 'uapi start twice');
  throws(() => l.respond('x'), /respond\(id, text\)/, 'uapi respond args');
  check(l.respond(12345, 'x') === false, 'uapi respond unknown id');
  const body = 'set=1\n' + 'a=b\n'.repeat(50) + '\n';
  const results = await Promise.all([
    uapiTalk(path, ['get=1\n\n'], (g) => g.endsWith('\n\n')),
    uapiTalk(path, body.match(/.{1,7}/gs), (g) => g.endsWith('\n\n')),
    uapiTalk(path, ['set=1\nasync\n\nget=1\n\n'], (g) => g.split('\n\n').length === 3),
    uapiTalk(path, ['set=1\nthrow\n\n'], (g) => g.endsWith('\n\n')),
    uapiTalk(path, ['\x00garbage\n\n', 'more']),
    uapiTalk(path, ['\n']),
    uapiTalk(path, ['set=1\n', 'y'.repeat(3000), 'y'.repeat(3000), 'z'.repeat(3000)]),
    uapiTalk(path, ['set=1\nhalf']),
  ]);
  check(results[0] === 'errno=0\n\n', `uapi get: ${JSON.stringify(results[0])}`);
  check(results[1] === 'errno=0\n\n', 'uapi fragmented');
  check(results[7] === '', 'uapi half request');
  check(results[2] === 'errno=0\n\nerrno=0\n\n' && pending.length === 1, 'uapi async then pipelined');
  check(results[3] === 'errno=-22\n\n', 'uapi throwing callback');
  check(results[4] === 'errno=-22\n\n' && results[5] === 'errno=-22\n\n', 'uapi garbage');
  check(results[6] === 'errno=-22\n\n' && l.oversize === 1, 'uapi oversize');
  // A big answer to a client that reads slowly: partial writes, then the client leaves.
  const net = require('node:net');
  await new Promise((resolve) => {
    const c = net.connect(path);
    c.on('error', () => {});
    c.on('connect', () => {
      c.pause();
      c.write('set=1\nbig\n\n');
      setTimeout(() => {
        c.destroy();
        resolve();
      }, 30);
    });
  });
  // Many clients: more than maxConnections at once are refused, not crashed on.
  const socks = [];
  for (let i = 0; i < 20; i++) {
    const c = net.connect(path);
    c.on('error', () => {});
    socks.push(c);
  }
  await sleep(50);
  check(l.connections <= 8 && l.refused >= 1, `uapi max connections (${l.connections}, refused ${l.refused})`);
  // Close from inside the callback, with other clients still connected.
  let closedInside = false;
  const l2 = new addon.UapiListener(`${dir}/v.sock`, 4096, 8);
  l2.start(() => {
    l2.close();
    closedInside = true;
    return 'errno=0\n\n';
  });
  const idle = net.connect(`${dir}/v.sock`);
  idle.on('error', () => {});
  await uapiTalk(`${dir}/v.sock`, ['get=1\n\nget=1\n\n']);
  check(closedInside && l2.connections === 0, 'uapi close inside callback');
  throws(() => l2.start(() => {}), /closed/, 'uapi start after close');
  throws(() => l2.respond(1, 'x'), /closed/, 'uapi respond after close');
  l2.close();
  idle.destroy();
  l.close();
  l.close();
  for (const c of socks) c.destroy();
  throws(() => l.respond(1, 'x'), /closed/, 'uapi respond after close');
  check(typeof l.connections === 'number' && l.connections === 0, 'uapi no clients after close');
  // Out of descriptors: accept fails with EMFILE; the spare descriptor sheds the connection (no busy loop).
  // In a child (with this addon and environment): its descriptor limit is lowered for good.
  const emfile = `
    const fs = require('node:fs'), net = require('node:net'), { execFileSync } = require('node:child_process');
    const addon = require(process.argv[1]);
    const l = new addon.UapiListener(process.argv[2], 4096, 8);
    l.start(() => 'errno=0\\n\\n');
    const used = fs.readdirSync('/proc/self/fd').map(Number);
    let limit = 1;
    while (limit - used.filter((f) => f < limit).length < 2) limit++;
    execFileSync('prlimit', ['--pid=' + process.pid, '--nofile=' + (limit - 1) + ':' + (limit - 1)]);
    const c = net.connect(process.argv[2]);
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('error', () => {});
    c.on('close', () => { console.log(JSON.stringify({ got, refused: l.refused })); l.close(); process.exit(0); });
    setTimeout(() => { console.log(JSON.stringify({ got, refused: l.refused, timeout: true })); process.exit(0); }, 3000);
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', emfile, process.argv[2], `${dir}/e.sock`], { encoding: 'utf8' }).trim().split('\n').pop());
  check(out.got === '' && out.refused === 1 && !out.timeout, `uapi EMFILE shed: ${JSON.stringify(out)}`);
  // A listener never started, and one started then closed with no client ever.
  new addon.UapiListener(`${dir}/w.sock`, 4096, 8).close();
  const open = new addon.UapiListener(`${dir}/x.sock`, 4096, 8);
  open.start(() => 'errno=0\n\n');
  check((await uapiTalk(`${dir}/x.sock`, ['get=1\n\n'], (g) => g.endsWith('\n\n'))) === 'errno=0\n\n', 'uapi left open');
  open.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`# uapi: oversize ${l.oversize}, refused ${l.refused}`);
}

(async () => {
  await uapi();
  aead();
  handshakeCrypto();
  x25519();
  await udp();
  if (process.getuid && process.getuid() === 0) await tun();
  else console.log('# tun: skipped (not root)');
  global.gc?.();
  await sleep(50);
  console.log(`exercise: ok ${checks} checks`);
})().catch((e) => {
  console.error(`exercise: FAIL ${e.stack}`);
  process.exit(1);
});
