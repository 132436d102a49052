/**
 * WgConfig → canonical config text. parseConfig(serializeConfig(c)) equals c.
 */
import { formatPrefix } from './ip.js';
import { keyToBase64 } from './keys.js';
import { NETSTACK_DEFAULTS, type ClientTunnelConfig, type ServerTunnelConfig, type WgConfig } from './types.js';
import { formatHostPort } from './values.js';

export function serializeConfig(cfg: WgConfig): string {
  const out: string[] = [];
  const itf = cfg.interface;
  out.push('[Interface]');
  if (itf.privateKey) out.push(`PrivateKey = ${keyToBase64(itf.privateKey)}`);
  if (itf.listenPort !== undefined) out.push(`ListenPort = ${itf.listenPort}`);
  if (itf.fwMark !== undefined) out.push(`FwMark = ${itf.fwMark ? `0x${itf.fwMark.toString(16)}` : 'off'}`);
  if (itf.addresses.length) out.push(`Address = ${itf.addresses.map(formatPrefix).join(', ')}`);
  if (itf.dns.length || itf.dnsSearch.length) out.push(`DNS = ${[...itf.dns, ...itf.dnsSearch].join(', ')}`);
  if (itf.mtu !== undefined) out.push(`MTU = ${itf.mtu}`);
  if (itf.table !== undefined) out.push(`Table = ${itf.table}`);
  for (const c of itf.preUp) out.push(`PreUp = ${c}`);
  for (const c of itf.postUp) out.push(`PostUp = ${c}`);
  for (const c of itf.preDown) out.push(`PreDown = ${c}`);
  for (const c of itf.postDown) out.push(`PostDown = ${c}`);
  if (itf.saveConfig) out.push('SaveConfig = true');

  for (const p of cfg.peers) {
    out.push('', '[Peer]', `PublicKey = ${keyToBase64(p.publicKey)}`);
    if (p.presharedKey) out.push(`PresharedKey = ${keyToBase64(p.presharedKey)}`);
    if (p.allowedIPs.length) out.push(`AllowedIPs = ${p.allowedIPs.map(formatPrefix).join(', ')}`);
    if (p.endpoint) out.push(`Endpoint = ${formatHostPort(p.endpoint)}`);
    if (p.persistentKeepalive !== undefined) out.push(`PersistentKeepalive = ${p.persistentKeepalive || 'off'}`);
  }

  for (const s of cfg.socks5) {
    out.push('', '[Socks5]', `BindAddress = ${formatHostPort(s.bindAddress)}`);
    if (s.username !== undefined) out.push(`Username = ${s.username}`);
    if (s.password !== undefined) out.push(`Password = ${s.password}`);
  }
  const client = (title: string, list: ClientTunnelConfig[]): void => {
    for (const t of list) out.push('', title, `BindAddress = ${formatHostPort(t.bindAddress)}`, `Target = ${formatHostPort(t.target)}`);
  };
  const server = (title: string, list: ServerTunnelConfig[]): void => {
    for (const t of list) out.push('', title, `ListenPort = ${t.listenPort}`, `Target = ${formatHostPort(t.target)}`);
  };
  client('[TCPClientTunnel]', cfg.tcpClientTunnels);
  server('[TCPServerTunnel]', cfg.tcpServerTunnels);
  client('[UDPClientTunnel]', cfg.udpClientTunnels);
  server('[UDPServerTunnel]', cfg.udpServerTunnels);

  const n = cfg.netstack;
  const d = NETSTACK_DEFAULTS;
  if (n.icmp !== d.icmp || n.promiscuous !== d.promiscuous || n.forward !== d.forward || n.status) {
    out.push('', '[Netstack]');
    if (n.icmp !== d.icmp) out.push(`ICMP = ${n.icmp}`);
    if (n.promiscuous !== d.promiscuous) out.push(`Promiscuous = ${n.promiscuous}`);
    if (n.forward !== d.forward) out.push(`Forward = ${n.forward}`);
    if (n.status) out.push(`Status = ${formatHostPort(n.status)}`);
  }
  return out.join('\n') + '\n';
}
