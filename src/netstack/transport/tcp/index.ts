/** TCP for the netstack: the sans-I/O core, its netstack adapter and the Forwarder. */
export { DEFAULT_TCP_CONFIG, type TcpConfig } from './config.js';
export { Cubic, NewReno, createCongestionControl, wCubic, cubicK, type CongestionAlgorithm, type CongestionControl } from './congestion.js';
export {
  TcpEndpoint,
  TcpError,
  TcpState,
  tcpStateName,
  type TcpEndpointId,
  type TcpEndpointInfo,
  type TcpEndpointStats,
  type TcpErrorCode,
  type TcpStateName,
  type TcpStateValue,
} from './endpoint.js';
export {
  TcpStack,
  TcpListener,
  type ConnectOptions,
  type ListenOptions,
  type TcpForwarderHandler,
  type TcpForwarderRequest,
  type TcpLink,
  type TcpStackOptions,
  type TcpStackStats,
} from './stack.js';
export { TcpProtocol, TcpForwarder, type TcpConnectOptions, type TcpProtocolStats } from './protocol.js';
export { seqAdd, seqDiff, seqGE, seqGT, seqLE, seqLT } from './seq.js';
