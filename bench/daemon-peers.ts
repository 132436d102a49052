/**
 * Device memory with 10 000 peers at the daemon level: `wg setconf` of the
 * same 10 000-peer config to wireguard-ts and to wireguard-go, each in its
 * own namespace. Reports configure time (wg setconf wall time) and the
 * daemon's RSS before and after. Needs root. Standalone: node dist/bench/daemon-peers.js
 */
import { randomBytes } from 'node:crypto';
import { Topology, type Side } from '../interop/topology.js';
import { sleep } from '../interop/lib.js';
import { QUICK, formatLine, makeRow, rssMiB, type Row } from './lib.js';
import { readFileSync } from 'node:fs';

const PEERS = QUICK ? 2_000 : 10_000;

/** A wg setconf file with `peers` random peers, each with an endpoint, a /32 and a /128. */
export function config(privateKey: string, port: number, peers = PEERS): string {
  const lines = ['[Interface]', `PrivateKey = ${privateKey}`, `ListenPort = ${port}`, ''];
  for (let i = 0; i < peers; i++) {
    const pub = randomBytes(32);
    pub[31]! &= 0x7f;
    lines.push(
      '[Peer]',
      `PublicKey = ${pub.toString('base64')}`,
      `AllowedIPs = 10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}/32, fd00::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`,
      `Endpoint = 192.0.${(i >> 8) & 0xff}.${i & 0xff}:51820`,
      '',
    );
  }
  return lines.join('\n');
}

interface Measure {
  ms: number;
  rssBefore: number;
  rssAfter: number;
  peers: number;
}

async function measure(topo: Topology, s: Side, file: string): Promise<Measure> {
  const rssBefore = rssMiB(s.pid!);
  const t0 = performance.now();
  s.ns.exec(['wg', 'setconf', s.iface, file], { timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  // Let the runtime settle (Go's scavenger, V8's GC) before reading RSS.
  await sleep(1000);
  const peers = topo.wg(s, ['show', s.iface, 'peers']).trim().split('\n').length;
  return { ms, rssBefore, rssAfter: rssMiB(s.pid!), peers };
}

export async function benchDaemonPeers(onRow: (r: Row) => void = () => {}): Promise<Row[]> {
  const topo = new Topology('wireguard-go', 'wireguard-ts');
  const onSignal = (): void => {
    topo.destroy();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: Row[] = [];
  try {
    topo.createNetwork();
    topo.startImpl(topo.a);
    topo.startImpl(topo.b);
    const fa = topo.writeConf('peers-a', config(readFileSync(topo.a.privateKeyFile, 'utf8').trim(), topo.a.port));
    const fb = topo.writeConf('peers-b', config(readFileSync(topo.b.privateKeyFile, 'utf8').trim(), topo.b.port));
    const go = await measure(topo, topo.a, fa);
    const ts = await measure(topo, topo.b, fb);
    const note = `${ts.peers} / ${go.peers} peers configured`;
    rows.push(
      makeRow({ name: `daemon-${PEERS / 1000}k-peers setconf`, unit: 'ms', wgts: ts.ms, anchor: go.ms, anchorName: 'wireguard-go', lowerIsBetter: true, note }),
      makeRow({
        name: `daemon-${PEERS / 1000}k-peers RSS`,
        unit: 'MiB',
        wgts: ts.rssAfter,
        anchor: go.rssAfter,
        anchorName: 'wireguard-go',
        lowerIsBetter: true,
        note: `before: ${ts.rssBefore.toFixed(1)} / ${go.rssBefore.toFixed(1)} MiB; per peer ${(((ts.rssAfter - ts.rssBefore) * 1024) / PEERS).toFixed(1)} / ${(((go.rssAfter - go.rssBefore) * 1024) / PEERS).toFixed(1)} KiB`,
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    topo.destroy();
  }
  for (const r of rows) onRow(r);
  return rows;
}

const isMain = process.argv[1]?.endsWith('/daemon-peers.js') ?? false;
if (isMain) {
  if (process.getuid?.() !== 0) console.log('bench/daemon-peers: needs root (network namespaces); skipped');
  else await benchDaemonPeers((r) => console.log(formatLine(r)));
}
