/**
 * The typed form of a wg-quick config file plus the wgts netstack sections.
 */
import type { IpPrefix } from './ip.js';

/** host:port as written. `host` has no brackets; it may be an IP literal or a hostname (resolved at start). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface InterfaceConfig {
  privateKey?: Uint8Array;
  listenPort?: number;
  /** 0 when the file says "off" (which still resets it on setconf/addconf). */
  fwMark?: number;
  /** Interface addresses; host bits are kept (10.0.0.1/24). */
  addresses: IpPrefix[];
  /** DNS servers (IP literals). */
  dns: string[];
  /** DNS search domains (DNS entries that are not IP addresses, as wg-quick treats them). */
  dnsSearch: string[];
  mtu?: number;
  /** "off", "auto", a table number or name. */
  table?: string;
  preUp: string[];
  postUp: string[];
  preDown: string[];
  postDown: string[];
  saveConfig: boolean;
}

export interface PeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  allowedIPs: IpPrefix[];
  endpoint?: HostPort;
  /** Seconds 1-65535; 0 when the file says "off"/0 (sent as such); absent when not mentioned. */
  persistentKeepalive?: number;
}

export interface Socks5Config {
  bindAddress: HostPort;
  username?: string;
  password?: string;
}

/** Listens locally, connects through the tunnel. */
export interface ClientTunnelConfig {
  bindAddress: HostPort;
  target: HostPort;
}

/** Listens on the netstack, connects to a local target. */
export interface ServerTunnelConfig {
  listenPort: number;
  target: HostPort;
}

export type IcmpMode = 'reachable' | 'local' | 'all';

export interface NetstackConfig {
  icmp: IcmpMode;
  promiscuous: boolean;
  forward: boolean;
  /** Where the status page listens on the netstack, if anywhere. */
  status?: HostPort;
}

export interface WgConfig {
  interface: InterfaceConfig;
  peers: PeerConfig[];
  socks5: Socks5Config[];
  tcpClientTunnels: ClientTunnelConfig[];
  tcpServerTunnels: ServerTunnelConfig[];
  udpClientTunnels: ClientTunnelConfig[];
  udpServerTunnels: ServerTunnelConfig[];
  /** Always present; defaults when the file has no [Netstack] section. */
  netstack: NetstackConfig;
}

export const NETSTACK_DEFAULTS: Readonly<NetstackConfig> = Object.freeze({ icmp: 'reachable', promiscuous: true, forward: false });

export function emptyConfig(): WgConfig {
  return {
    interface: { addresses: [], dns: [], dnsSearch: [], preUp: [], postUp: [], preDown: [], postDown: [], saveConfig: false },
    peers: [],
    socks5: [],
    tcpClientTunnels: [],
    tcpServerTunnels: [],
    udpClientTunnels: [],
    udpServerTunnels: [],
    netstack: { ...NETSTACK_DEFAULTS },
  };
}
