/** Stack statistics counters (plain objects so they serialise into wg.stats() and the status page). */

export interface IpStats {
  received: number;
  malformed: number;
  invalidDestination: number;
  invalidSource: number;
  /** Accepted for a temporary (promiscuous) destination. */
  temporaryReceived: number;
  delivered: number;
  unknownProtocol: number;
  fragmentsReceived: number;
  reassembled: number;
  reassemblyDropped: number;
  reassemblyTimeouts: number;
  /** Packets written to a link (fragments count one each). */
  sent: number;
  sendDropped: number;
  noRoute: number;
  tooBig: number;
  fragmentsSent: number;
  routingHeaderDropped: number;
  /** IPv6 packets with a hop-by-hop/destination option we must not skip. */
  unknownOption: number;
}

export interface IcmpStats {
  received: number;
  malformed: number;
  sent: number;
  echoRequestsReceived: number;
  echoRepliesSent: number;
  /** Echo requests whose default handler returned true. */
  consumedByHandler: number;
  /** IPv4 echo requests to temporary addresses left unanswered by the built-in path. */
  suppressedTemporary: number;
  echoRepliesReceived: number;
  errorsReceived: number;
  errorsSent: number;
  errorsRateLimited: number;
  controlDelivered: number;
}

export interface TransportStats {
  received: number;
  /** Taken by a registered endpoint. */
  endpointDelivered: number;
  /** The default handler returned true. */
  consumedByHandler: number;
  /** Nothing took it. */
  unclaimed: number;
  /** Unclaimed and dropped silently because the destination was temporary. */
  silentDrops: number;
  /** Packets this protocol handed to the network layer (before fragmentation). */
  sent: number;
  /** Sends that failed (no route, too big, link queue full). */
  sendFailed: number;
}

export interface UdpStats {
  received: number;
  malformed: number;
  checksumErrors: number;
  delivered: number;
  receiveQueueDropped: number;
  portUnreachableSent: number;
  sent: number;
  sendErrors: number;
  /** onMessage callbacks that threw (the datagram still counts as delivered). */
  callbackErrors: number;
}

function zero<T extends object>(keys: readonly (keyof T)[]): T {
  const o = {} as Record<keyof T, number>;
  for (const k of keys) o[k] = 0;
  return o as T;
}

export function newIpStats(): IpStats {
  return zero<IpStats>([
    'received', 'malformed', 'invalidDestination', 'invalidSource', 'temporaryReceived', 'delivered', 'unknownProtocol',
    'fragmentsReceived', 'reassembled', 'reassemblyDropped', 'reassemblyTimeouts', 'sent', 'sendDropped', 'noRoute',
    'tooBig', 'fragmentsSent', 'routingHeaderDropped', 'unknownOption',
  ]);
}

export function newIcmpStats(): IcmpStats {
  return zero<IcmpStats>([
    'received', 'malformed', 'sent', 'echoRequestsReceived', 'echoRepliesSent', 'consumedByHandler', 'suppressedTemporary',
    'echoRepliesReceived', 'errorsReceived', 'errorsSent', 'errorsRateLimited', 'controlDelivered',
  ]);
}

export function newTransportStats(): TransportStats {
  return zero<TransportStats>(['received', 'endpointDelivered', 'consumedByHandler', 'unclaimed', 'silentDrops', 'sent', 'sendFailed']);
}

export function newUdpStats(): UdpStats {
  return zero<UdpStats>([
    'received', 'malformed', 'checksumErrors', 'delivered', 'receiveQueueDropped', 'portUnreachableSent', 'sent', 'sendErrors', 'callbackErrors',
  ]);
}
