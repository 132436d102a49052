/**
 * Quickstart configs: a netstack server with fresh keys and a ready client
 * config for it. Pure text generation (keys from the crypto provider).
 */
import { defaultCrypto, type CryptoProvider } from '../crypto/index.js';

export interface QuickstartOptions {
  /** Host clients use to reach the server (default 127.0.0.1). */
  endpointHost?: string;
  listenPort?: number;
  /** First three octets of the /24 used inside the tunnel (default 10.77.0). */
  subnet?: string;
  /** Serve the status page on the server's tunnel address, port 80 (default true). */
  statusPage?: boolean;
  crypto?: CryptoProvider;
}

export interface Quickstart {
  serverConfig: string;
  clientConfig: string;
  serverPublicKey: string;
  clientPublicKey: string;
  serverAddress: string;
  clientAddress: string;
  listenPort: number;
}

const b64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');

export function createQuickstartConfig(opts: QuickstartOptions = {}): Quickstart {
  const crypto = opts.crypto ?? defaultCrypto();
  const subnet = opts.subnet ?? '10.77.0';
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new TypeError(`subnet: expected three octets like 10.77.0, got ${subnet}`);
  const host = opts.endpointHost ?? '127.0.0.1';
  const port = opts.listenPort ?? 51820;
  const serverKey = crypto.generatePrivateKey();
  const clientKey = crypto.generatePrivateKey();
  const serverPub = b64(crypto.publicKey(serverKey));
  const clientPub = b64(crypto.publicKey(clientKey));
  const serverAddress = `${subnet}.1`;
  const clientAddress = `${subnet}.2`;
  const hostText = host.includes(':') ? `[${host}]` : host;
  const serverConfig = `# wgts quickstart server (netstack mode, no root needed).
[Interface]
PrivateKey = ${b64(serverKey)}
ListenPort = ${port}
Address = ${serverAddress}/24

[Peer]
# quickstart client
PublicKey = ${clientPub}
AllowedIPs = ${clientAddress}/32

[Netstack]
ICMP = reachable
${opts.statusPage === false ? '' : `Status = ${serverAddress}:80\n`}`;
  const clientConfig = `# wgts quickstart client: use with wg-quick, the WireGuard apps, or \`wgts up\`.
[Interface]
PrivateKey = ${b64(clientKey)}
Address = ${clientAddress}/32

[Peer]
PublicKey = ${serverPub}
Endpoint = ${hostText}:${port}
AllowedIPs = ${subnet}.0/24
PersistentKeepalive = 25
`;
  return { serverConfig, clientConfig, serverPublicKey: serverPub, clientPublicKey: clientPub, serverAddress, clientAddress, listenPort: port };
}
