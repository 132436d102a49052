/** Loopback socket helpers shared by tests that run real sockets. */
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';

/** A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it now). */
export async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Reads exactly n bytes from a socket (what arrives beyond n is pushed back). */
export async function readN(s: net.Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const chunk = s.read() as Buffer | null;
    if (chunk) {
      parts.push(chunk);
      have += chunk.length;
    } else await once(s, 'readable');
  }
  const all = Buffer.concat(parts);
  if (all.length > n) s.unshift(all.subarray(n));
  return all.subarray(0, n);
}

/**
 * A SOCKS5 session on 127.0.0.1:port: offers "no authentication", sends
 * `request`, and returns the socket, the server's 2-byte method answer and its
 * 10-byte reply (a reply with an IPv4 bound address). Callers check both.
 */
export async function socks5NoAuthRequest(port: number, request: Uint8Array): Promise<{ sock: net.Socket; method: Buffer; reply: Buffer }> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(Uint8Array.of(5, 1, 0));
  const method = await readN(sock, 2);
  sock.write(request);
  const reply = await readN(sock, 10);
  return { sock, method, reply };
}
