import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { DgramBind, NativeBind, type UdpBind, type UdpEndpoint } from '../../src/node/bind.js';

const open: UdpBind[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
});

function collect(bind: UdpBind, n: number): Promise<Array<{ data: string; from: UdpEndpoint }>> {
  return new Promise((resolve, reject) => {
    const got: Array<{ data: string; from: UdpEndpoint }> = [];
    const timer = setTimeout(() => reject(new Error(`timeout after ${got.length}/${n}`)), 5000);
    bind.onReceive((data, from) => {
      got.push({ data: Buffer.from(data).toString(), from });
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

const kinds: Array<[string, () => UdpBind]> = [['dgram', () => new DgramBind()]];
if (NativeBind.available()) kinds.push(['native', () => new NativeBind({ batch: 8, slotSize: 2048 })]);

describe.each(kinds)('%s bind on loopback', (_kind, make) => {
  it('sends and receives IPv4 and IPv6, reports plain addresses and interned endpoints', async () => {
    const a = make();
    const b = make();
    open.push(a, b);
    const pa = await a.open(0);
    const pb = await b.open(0);
    expect(pa).toBeGreaterThan(0);
    expect(a.port).toBe(pa);
    const got = collect(b, 40);
    const buf = Buffer.alloc(64);
    for (let i = 0; i < 20; i++) {
      // The caller's buffer is reused right away: the bind must have copied it.
      buf.write(`v4-${i}`.padEnd(10, '.'), 0);
      a.send(buf.subarray(0, 10), { address: '127.0.0.1', port: pb });
      buf.write(`v6-${i}`.padEnd(10, '.'), 0);
      a.send(buf.subarray(0, 10), { address: '::1', port: pb });
    }
    a.flush();
    const msgs = await got;
    const v4 = msgs.filter((m) => m.data.startsWith('v4-'));
    const v6 = msgs.filter((m) => m.data.startsWith('v6-'));
    expect(v4.map((m) => m.data).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v4-${i}`.padEnd(10, '.')).sort());
    expect(v6.length).toBe(20);
    const sticky = b.kind === 'native';
    expect(v4[0]!.from).toEqual(sticky ? { address: '127.0.0.1', port: pa, localAddress: '127.0.0.1' } : { address: '127.0.0.1', port: pa });
    expect(v6[0]!.from).toEqual(sticky ? { address: '::1', port: pa, localAddress: '::1' } : { address: '::1', port: pa });
    expect(v4[1]!.from).toBe(v4[0]!.from);
    expect(Object.isFrozen(v4[0]!.from)).toBe(true);
    expect(a.stats.sendDropped).toBe(0);
  });

  it('talks to a plain dgram socket and drops unparseable destinations', async () => {
    const a = make();
    open.push(a);
    const pa = await a.open(0);
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    const echoed = collect(a, 1);
    peer.send('hello', pa, '127.0.0.1');
    const [m] = await echoed;
    expect(m!.data).toBe('hello');
    expect(m!.from.port).toBe(peer.address().port);
    const back = new Promise<string>((r) => peer.once('message', (d) => r(d.toString())));
    a.send(Buffer.from('world'), m!.from);
    a.send(Buffer.from('x'), { address: 'not-an-ip', port: 1 });
    a.flush();
    expect(await back).toBe('world');
    expect(a.stats.sendDropped).toBe(1);
    peer.close();
  });

  it('can close and reopen on the same port', async () => {
    const a = make();
    open.push(a);
    const p = await a.open(0);
    await a.close();
    expect(a.port).toBe(0);
    expect(await a.open(p)).toBe(p);
  });
});

describe('native bind', () => {
  it.skipIf(!NativeBind.available())('batches a burst into few callbacks and counts truncated datagrams', async () => {
    const a = new NativeBind({ batch: 16, slotSize: 256 });
    const b = new NativeBind({ batch: 16, slotSize: 256 });
    open.push(a, b);
    await a.open(0);
    const pb = await b.open(0);
    let batches = 0;
    let packets = 0;
    const done = new Promise<void>((resolve) => {
      b.onReceive(
        () => {
          packets++;
        },
        () => {
          batches++;
          if (packets + b.stats.receiveDropped >= 101) resolve();
        },
      );
    });
    const payload = Buffer.alloc(100, 7);
    for (let i = 0; i < 100; i++) a.send(payload, { address: '127.0.0.1', port: pb });
    a.send(Buffer.alloc(1000), { address: '127.0.0.1', port: pb }); // larger than a 256-byte slot
    a.flush();
    await done;
    expect(packets).toBe(100);
    expect(b.stats.receiveDropped).toBe(1);
    expect(batches).toBeLessThan(100);
  });
});

describe('native bind sticky source', () => {
  it.skipIf(!NativeBind.available())('replies leave from the local address the peer reached, and a vanished one is forgotten', async () => {
    const a = new NativeBind({ batch: 8, slotSize: 2048 });
    const b = new NativeBind({ batch: 8, slotSize: 2048 });
    open.push(a, b);
    const pa = await a.open(0);
    const pb = await b.open(0);
    const atB = collect(b, 1);
    a.send(Buffer.from('to-127.0.0.2'), { address: '127.0.0.2', port: pb });
    const [m] = await atB;
    expect(m!.from).toEqual({ address: '127.0.0.1', port: pa, localAddress: '127.0.0.2' });
    // The reply goes to 127.0.0.1 but leaves from 127.0.0.2, where the peer reached us.
    let atA = collect(a, 1);
    b.send(Buffer.from('reply'), m!.from);
    const [r] = await atA;
    expect(r!.from.address).toBe('127.0.0.2');
    expect(r!.from.port).toBe(pb);
    // A local address that is not (or no longer) ours: sent from a kernel-chosen one instead, and remembered.
    atA = collect(a, 2);
    b.send(Buffer.from('gone-1'), { address: '127.0.0.1', port: pa, localAddress: '192.0.2.123' });
    b.flush();
    b.send(Buffer.from('gone-2'), { address: '127.0.0.1', port: pa, localAddress: '192.0.2.123' });
    b.flush();
    const got = await atA;
    expect(got.map((g) => g.data)).toEqual(['gone-1', 'gone-2']);
    expect(got[0]!.from.address).toBe('127.0.0.1');
    expect(b.stats.sourceForgotten).toBe(1);
    expect(b.stats.sendDropped).toBe(0);
  });
});

function collectRaw(bind: UdpBind, n: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`timeout after ${got.length}/${n}`)), 5000);
    bind.onReceive((data) => {
      got.push(Buffer.from(data));
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

describe('native bind send grouping (UDP GSO where the kernel has it)', () => {
  it.skipIf(!NativeBind.available())('runs of equal sizes, short tails, other destinations: every datagram arrives intact, exactly once', async () => {
    const a = new NativeBind({ batch: 64, slotSize: 2048 });
    const b = new NativeBind({ batch: 64, slotSize: 2048 });
    const c = new DgramBind();
    open.push(a, b, c);
    await a.open(0);
    const pb = await b.open(0);
    const pc = await c.open(0);
    // Runs of 1452 with a shorter tail, a run longer than one GSO datagram holds, singles.
    const sizes: number[] = [];
    for (let i = 0; i < 60; i++) sizes.push(1452);
    sizes.push(300, 1452, 1452, 80, 80, 80, 1000, 1001, 32, 32);
    for (let i = 0; i < 100; i++) sizes.push(148 + (i % 3));
    const toC = (i: number): boolean => i % 9 === 4;
    const nC = sizes.filter((_, i) => toC(i)).length;
    const gotB = collectRaw(b, sizes.length - nC);
    const gotC = collectRaw(c, nC);
    sizes.forEach((n, i) => {
      const p = Buffer.alloc(n, i & 0xff);
      p.writeUInt16BE(i, 0);
      a.send(p, { address: '127.0.0.1', port: toC(i) ? pc : pb });
    });
    a.flush();
    const all = [...(await gotB), ...(await gotC)];
    const byIndex = new Map<number, Buffer>();
    for (const d of all) {
      const i = d.readUInt16BE(0);
      expect(byIndex.has(i)).toBe(false);
      byIndex.set(i, d);
    }
    sizes.forEach((n, i) => {
      const d = byIndex.get(i)!;
      expect(d.length).toBe(n);
      expect(d.subarray(2).every((x) => x === (i & 0xff))).toBe(true);
    });
    expect(a.stats.sendDropped).toBe(0);
    expect(a.stats.sent).toBe(sizes.length);
  });
});
