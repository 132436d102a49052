import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { hostNet } from '../../src/services/net-like.js';
import { flattenCounters, renderStatusHtml, startStatusPage } from '../../src/services/status.js';

describe('status page', () => {
  it('flattens counters keeping labelled names whole', () => {
    expect(flattenCounters({ icmp: { 'icmp.echo.replied{reason=local}': 3 }, device: { rx: 1, dropped: { replay: 2 } } })).toEqual([
      ['icmp.echo.replied{reason=local}', '3'],
      ['device.rx', '1'],
      ['device.dropped.replay', '2'],
    ]);
  });

  it('escapes HTML', () => {
    const html = renderStatusHtml({ interface: '<wg0>', peers: [], stats: {} });
    expect(html).toContain('&lt;wg0&gt;');
    expect(html).not.toContain('<wg0>');
  });

  it('serves / and /status.json, 404 otherwise', async () => {
    const page = await startStatusPage(hostNet, '127.0.0.1', 0, () => ({ interface: 'wg9', peers: [], stats: { icmp: { 'icmp.echo.suppressed{reason=no-route}': 4 } } }));
    const get = async (path: string) => {
      const s = net.connect(page.listening.port, '127.0.0.1');
      await once(s, 'connect');
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      await once(s, 'end');
      return Buffer.concat(parts).toString();
    };
    const j = await get('/status.json');
    expect(j).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: application\/json/);
    expect(JSON.parse(j.slice(j.indexOf('\r\n\r\n') + 4)).stats.icmp['icmp.echo.suppressed{reason=no-route}']).toBe(4);
    expect(await get('/')).toContain('icmp.echo.suppressed{reason=no-route}</td><td>4');
    expect(await get('/nope')).toMatch(/^HTTP\/1\.1 404/);
    expect(page.requests).toBe(3);
    await page.close();
  });
});
