/** wgts public embed API (re-exports only). */
export { WireGuard, runNetstackEndpoint, defaultUapiPath, type WireGuardOptions, type PeerOptions, type PeerInfo, type HandshakeEvent, type RunOptions, type EndpointChangeEvent, type ResolveErrorEvent, type RunLogger } from './node/endpoint-runtime.js';
export { TunnelSocket, TunnelServer, TunnelUdpSocket, TunnelAgent, type TunnelConnectOptions, type PingOptions, type UdpRemoteInfo } from './node/net.js';
export { NetstackEndpoint, type NetstackEndpointOptions, type EndpointStats } from './endpoint/netstack-endpoint.js';
export { ReachabilityPolicy, type IcmpMode } from './policy/reachability.js';
export { startSocks5, type Socks5Options, type Socks5Server } from './services/socks5.js';
export { startTcpForward, startUdpForward, type Forward, type ForwardSpec } from './services/forwards.js';
export { startStatusPage, type StatusPage } from './services/status.js';
export { hostNet, type NetLike } from './services/net-like.js';
export { parseConfig, serializeConfig, stripConfig, ConfigError, type WgConfig } from './config/index.js';
export { defaultCrypto, nobleCrypto, nodeCrypto, type CryptoProvider } from './crypto/index.js';
