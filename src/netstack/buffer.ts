/**
 * Packet buffers and ownership.
 *
 * Inbound, a packet is one Uint8Array from the link; each layer hands the
 * next a view of it (`subarray`), never a copy: `TransportPacket.network`,
 * `.payload`, `.src` and `.dst` all share the received bytes. Only
 * reassembly builds a new buffer (it must join fragments).
 *
 * Outbound, a transport allocates its packet once with `TRANSPORT_HEADROOM`
 * spare bytes in front (`allocTransport`), writes its header and data after
 * them, and the network layer writes the IP header into the headroom in place.
 *
 * One owner at a time: `injectInbound`, `sendTransport` and
 * `LinkEndpoint.writePacket` hand the buffer on; the caller stops touching it.
 * Views given to callbacks are valid only during the call — copy what you keep.
 */
import { TRANSPORT_HEADROOM } from './transport/protocol.js';

/** A buffer for `transportLength` bytes of transport header + data, preceded by IP headroom. */
export function allocTransport(transportLength: number): Uint8Array {
  return new Uint8Array(TRANSPORT_HEADROOM + transportLength);
}

/** The transport part of a buffer from `allocTransport`. */
export function transportPart(buf: Uint8Array): Uint8Array {
  return buf.subarray(TRANSPORT_HEADROOM);
}

export { TRANSPORT_HEADROOM };
