/**
 * Bulk TCP with both ends hashing (sha256), for the interop suite.
 *   node tcp-hash.js server PORT            → accepts one connection, prints "<bytes> <sha256>", exits
 *   node tcp-hash.js client HOST PORT BYTES → sends BYTES of generated data, prints "<bytes> <sha256>"
 * Each side gives up after 120 s.
 */
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const [, , mode, ...rest] = process.argv;
setTimeout(() => {
  console.error('tcp-hash: timeout');
  process.exit(3);
}, 120_000).unref();

if (mode === 'server') {
  const port = Number(rest[0]);
  const srv = net.createServer((sock) => {
    const h = createHash('sha256');
    let n = 0;
    sock.on('data', (d) => {
      h.update(d);
      n += d.length;
    });
    sock.on('end', () => {
      console.log(`${n} ${h.digest('hex')}`);
      sock.end();
      srv.close();
    });
    sock.on('error', (e) => {
      console.error(`tcp-hash server: ${e.message}`);
      process.exit(2);
    });
  });
  srv.listen(port, '::', () => console.error('listening'));
} else if (mode === 'client') {
  const [host, portText, bytesText] = rest;
  const total = Number(bytesText);
  const chunk = randomBytes(1 << 20);
  const h = createHash('sha256');
  let sent = 0;
  let seq = 0;
  const sock = net.connect({ host: host!, port: Number(portText) }, () => {
    const pump = (): void => {
      while (sent < total) {
        // Vary each chunk so a repeated or reordered chunk changes the hash.
        chunk.writeUInt32BE(seq++, 0);
        const piece = Buffer.from(chunk.subarray(0, Math.min(chunk.length, total - sent)));
        h.update(piece);
        sent += piece.length;
        if (!sock.write(piece)) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    pump();
  });
  sock.on('close', () => {
    console.log(`${sent} ${h.digest('hex')}`);
    process.exit(0);
  });
  sock.on('error', (e) => {
    console.error(`tcp-hash client: ${e.message}`);
    process.exit(2);
  });
} else {
  console.error('usage: tcp-hash server PORT | client HOST PORT BYTES');
  process.exit(2);
}
