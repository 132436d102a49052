/**
 * The netstack side of the netstack-mode benchmark: a WireGuard endpoint
 * (embed API, our TCP/IP stack) serving bench/tcp-tool.ts's protocol on a
 * tunnel TCP port. Runs until killed; prints "ready" once listening.
 *   node netstack-peer.js KEYFILE LISTEN_PORT ADDRESS/PREFIX PEER_PUB PEER_ALLOWED PEER_ENDPOINT TCP_PORT
 */
import { readFileSync } from 'node:fs';
import { WireGuard } from '../src/node/endpoint-runtime.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { backendByName } from './micro.js';
import { serveConnection } from './tcp-tool.js';

const [, , keyFile, listenPort, address, peerPub, peerAllowed, peerEndpoint, tcpPort] = process.argv;
if (!tcpPort) {
  console.error('usage: netstack-peer.js KEYFILE LISTEN_PORT ADDRESS/PREFIX PEER_PUB PEER_ALLOWED PEER_ENDPOINT TCP_PORT');
  process.exit(2);
}
// Never outlive a benchmark run, even if the parent is killed.
setTimeout(() => process.exit(0), 600_000).unref();

/** BENCH_PEER_CRYPTO=native|node|noble picks the backend; default: the runtime's own choice. */
async function pickCrypto(): Promise<CryptoProvider | undefined> {
  const name = process.env.BENCH_PEER_CRYPTO;
  if (!name) return undefined;
  const c = await backendByName(name);
  if (!c) throw new Error(`BENCH_PEER_CRYPTO=${name}: not available`);
  return c;
}

const wg = await WireGuard.create({
  crypto: await pickCrypto(),
  privateKey: readFileSync(keyFile!, 'utf8').trim(),
  listenPort: Number(listenPort),
  addresses: [address!],
  peers: [{ publicKey: peerPub!, allowedIPs: [peerAllowed!], endpoint: peerEndpoint! }],
});
const srv = wg.createServer((sock) => serveConnection(sock));
srv.listen(Number(tcpPort), () => console.log('ready'));
const stop = (): void => {
  void wg.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
