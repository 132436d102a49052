/**
 * pcap tap: a LinkEndpoint wrapper that records every packet passing in either
 * direction as pcap bytes (LINKTYPE_RAW: records start at the IP header). The
 * core only produces bytes; a `PcapSink` (a file in the Node layer,
 * WGTS_PCAP=path) writes them.
 */
import type { LinkDispatcher, LinkEndpoint } from './endpoint.js';

export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_RAW = 101;
export const PCAP_GLOBAL_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;

export interface PcapSink {
  write(bytes: Uint8Array): void;
}

/** pcap global header (little-endian, microsecond timestamps). */
export function pcapGlobalHeader(snaplen = 65535, linktype = LINKTYPE_RAW): Uint8Array {
  const b = new Uint8Array(PCAP_GLOBAL_HEADER);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, snaplen, true);
  v.setUint32(20, linktype, true);
  return b;
}

/** One record (header + captured bytes) for a packet seen at `nowMs`. */
export function pcapRecord(pkt: Uint8Array, nowMs: number, snaplen = 65535): Uint8Array {
  const cap = Math.min(pkt.length, snaplen);
  const b = new Uint8Array(PCAP_RECORD_HEADER + cap);
  const v = new DataView(b.buffer);
  const sec = Math.floor(nowMs / 1000);
  const usec = Math.floor((nowMs - sec * 1000) * 1000);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, usec, true);
  v.setUint32(8, cap, true);
  v.setUint32(12, pkt.length, true);
  b.set(pkt.subarray(0, cap), PCAP_RECORD_HEADER);
  return b;
}

/** Wraps a link; records inbound and outbound packets. `clock` supplies the timestamp (ms) — the core reads no clock itself. */
export class PcapTap implements LinkEndpoint, LinkDispatcher {
  private upper: LinkDispatcher | null = null;
  readonly mtu: number;

  constructor(
    private readonly inner: LinkEndpoint,
    private readonly sink: PcapSink,
    private readonly clock: () => number,
    private readonly snaplen = 65535,
  ) {
    this.mtu = inner.mtu;
    sink.write(pcapGlobalHeader(snaplen));
  }

  attach(dispatcher: LinkDispatcher): void {
    this.upper = dispatcher;
    this.inner.attach(this);
  }

  deliverNetworkPacket(pkt: Uint8Array, now?: number): void {
    this.sink.write(pcapRecord(pkt, now ?? this.clock(), this.snaplen));
    this.upper?.deliverNetworkPacket(pkt, now);
  }

  writePacket(pkt: Uint8Array): boolean {
    this.sink.write(pcapRecord(pkt, this.clock(), this.snaplen));
    return this.inner.writePacket(pkt);
  }
}
