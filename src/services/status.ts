/**
 * A small status page served on a tunnel address ([Netstack] Status =):
 * peers, handshakes and counters (including the ICMP policy's decisions).
 * GET / → HTML, GET /status.json → JSON. HTTP/1.0-style: one request per
 * connection, then close. Requests are bounded (8 KiB head, 10 s).
 */
import type { Duplex } from 'node:stream';
import type { NetLike, ServerLike } from './net-like.js';

export interface StatusPage {
  readonly listening: { address: string; port: number };
  requests: number;
  close(): Promise<void>;
}

const MAX_HEAD = 8192;
/** Simultaneous connections served; more are closed at once. */
const MAX_CLIENTS = 64;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function ago(ms: number, now: number): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return `${s} s ago`;
}

/** Flattens nested counters to "a.b.c = n" lines. */
export function flattenCounters(obj: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (obj === null || obj === undefined) return out;
  if (typeof obj !== 'object') {
    out.push([prefix, String(obj)]);
    return out;
  }
  if (obj instanceof Map) {
    for (const [k, v] of obj) flattenCounters(v, prefix ? `${prefix}.${String(k)}` : String(k), out);
    return out;
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    // Counter names like icmp.echo.replied{reason=local} stay whole.
    const key = k.includes('.') ? k : prefix ? `${prefix}.${k}` : k;
    flattenCounters(v, key, out);
  }
  return out;
}

export function renderStatusHtml(status: Record<string, unknown>, now = Date.now()): string {
  const peers = (status.peers as { publicKey: string; endpoint: string | null; allowedIPs: string[]; lastHandshake: number; txBytes: number; rxBytes: number; up: boolean }[]) ?? [];
  const rows = peers
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.publicKey)}</code></td><td>${p.up ? 'up' : 'down'}</td><td>${escapeHtml(p.endpoint ?? '(none)')}</td><td>${escapeHtml(p.allowedIPs.join(', '))}</td><td>${ago(p.lastHandshake, now)}</td><td>${p.rxBytes}</td><td>${p.txBytes}</td></tr>`,
    )
    .join('\n');
  const counters = flattenCounters(status.stats)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>wgts ${escapeHtml(String(status.interface ?? ''))}</title></head>
<body>
<h1>wgts ${escapeHtml(String(status.interface ?? ''))}</h1>
<p>public key <code>${escapeHtml(String(status.publicKey ?? ''))}</code>, listening on UDP ${escapeHtml(String(status.listenPort ?? ''))}</p>
<h2>Peers</h2>
<table border="1"><tr><th>public key</th><th>session</th><th>endpoint</th><th>allowed ips</th><th>latest handshake</th><th>rx bytes</th><th>tx bytes</th></tr>
${rows}
</table>
<h2>Counters</h2>
<table border="1">
${counters}
</table>
</body></html>
`;
}

export async function startStatusPage(net: NetLike, host: string, port: number, getStatus: () => Record<string, unknown>): Promise<StatusPage> {
  const live = new Set<Duplex>();
  const page = { requests: 0 };
  const serve = (sock: Duplex): void => {
    if (live.size >= MAX_CLIENTS) {
      sock.destroy();
      return;
    }
    live.add(sock);
    sock.on('error', () => {});
    sock.once('close', () => {
      live.delete(sock);
      clearTimeout(timer);
    });
    const timer = setTimeout(() => sock.destroy(), 10_000);
    let head = '';
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      head += chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) sock.destroy();
        return;
      }
      const line = head.slice(0, head.indexOf('\r\n'));
      const [method, path] = line.split(' ');
      page.requests++;
      let status = '200 OK';
      let type = 'text/html; charset=utf-8';
      let body: string;
      if (method !== 'GET' && method !== 'HEAD') {
        status = '405 Method Not Allowed';
        type = 'text/plain';
        body = 'method not allowed\n';
      } else if (path === '/status.json') {
        type = 'application/json';
        body = JSON.stringify(getStatus(), (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v), 2) + '\n';
      } else if (path === '/' || path === '/index.html') {
        body = renderStatusHtml(getStatus());
      } else {
        status = '404 Not Found';
        type = 'text/plain';
        body = 'not found\n';
      }
      const bytes = Buffer.from(body, 'utf8');
      sock.end(
        Buffer.concat([
          Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n`, 'latin1'),
          method === 'HEAD' ? Buffer.alloc(0) : bytes,
        ]),
      );
      sock.removeAllListeners('data');
    });
  };
  const server: ServerLike = net.createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  return {
    listening: a && typeof a === 'object' ? { address: a.address, port: a.port } : { address: host, port },
    get requests() {
      return page.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        server.close(() => resolve());
      }),
  } as StatusPage;
}
