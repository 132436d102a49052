import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, stripConfig, firstNonWgLine, keyToBase64, type WgConfig } from '../../src/config/index.js';
import { nobleCrypto } from '../../src/crypto/index.js';

const DIR = join(import.meta.dirname, '../../conf');
const load = (name: string): WgConfig => parseConfig(readFileSync(join(DIR, name), 'utf8'), name);
const pub = (c: WgConfig): string => keyToBase64(nobleCrypto.publicKey(c.interface.privateKey!));

describe('conf/ examples', () => {
  it('are all valid, and strip to plain wg configs', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.conf'));
    expect(files.sort()).toEqual(['client.conf', 'forward.conf', 'hub.conf', 'server.conf', 'socks.conf']);
    for (const f of files) {
      const text = readFileSync(join(DIR, f), 'utf8');
      parseConfig(text, f);
      expect(firstNonWgLine(stripConfig(text))).toBeNull();
    }
  });

  it('client and server name each other', () => {
    const server = load('server.conf');
    const client = load('client.conf');
    expect(keyToBase64(server.peers[0]!.publicKey)).toBe(pub(client));
    expect(keyToBase64(client.peers[0]!.publicKey)).toBe(pub(server));
    expect(keyToBase64(client.peers[0]!.presharedKey!)).toBe(keyToBase64(server.peers[0]!.presharedKey!));
    expect(client.peers[0]!.endpoint).toEqual({ host: '127.0.0.1', port: server.interface.listenPort });
  });

  it('hub forwards, socks proxies, forward forwards', () => {
    expect(load('hub.conf').netstack.forward).toBe(true);
    expect(load('hub.conf').peers).toHaveLength(2);
    expect(load('socks.conf').socks5).toEqual([{ bindAddress: { host: '127.0.0.1', port: 1080 } }]);
    const fwd = load('forward.conf');
    expect(fwd.tcpClientTunnels).toHaveLength(1);
    expect(fwd.tcpServerTunnels).toEqual([{ listenPort: 2222, target: { host: '127.0.0.1', port: 22 } }]);
    expect(fwd.udpClientTunnels).toHaveLength(1);
  });
});
