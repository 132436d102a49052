/** What the stack needs from a link: a pure L3 packet pipe with an MTU. */
export interface LinkEndpoint {
  /** Largest IP packet the link carries. */
  readonly mtu: number;
  /** Hand an outbound IP packet to the link. The link owns `pkt` afterwards. Returns false when dropped. */
  writePacket(pkt: Uint8Array): boolean;
  /** The stack calls this once so inbound packets reach it. */
  attach(dispatcher: LinkDispatcher): void;
}

export interface LinkDispatcher {
  /** An inbound IP packet (IPv4 or IPv6 by version nibble); the stack owns it from here. */
  deliverNetworkPacket(pkt: Uint8Array, now?: number): void;
}
