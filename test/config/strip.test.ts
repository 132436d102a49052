import { describe, expect, it } from 'vitest';
import { stripConfig, firstNonWgLine, parseConfig, toUapiSet } from '../../src/config/index.js';

const K1 = 'iMD1/Ar7MMTx5tGNsBaiXj7c6NV8DBPoADux4fIneEM=';
const K2 = 'aezl40pjMHg6SHwJKYc8Jo7v0ZoazPwlVpiRfPTJPys=';

const FULL = `# office gateway
[Interface]
PrivateKey = ${K1}
Address = 10.0.0.1/24   # wg-quick
ListenPort = 51820
DNS = 1.1.1.1
mtu = 1420
Table = off
PostUp = iptables -A FORWARD -i %i -j ACCEPT # keeps its hash
PostDown = iptables -D FORWARD -i %i -j ACCEPT
SaveConfig = true

[Socks5]
BindAddress = 127.0.0.1:1080
# a comment inside a wgts section goes too

[Peer]
# laptop
PublicKey = ${K2}
AllowedIPs = 10.0.0.2/32

[Netstack]
ICMP = all
`;

describe('stripConfig', () => {
  it('keeps wg lines as written and drops wg-quick keys and wgts sections', () => {
    expect(stripConfig(FULL)).toBe(`# office gateway
[Interface]
PrivateKey = ${K1}
ListenPort = 51820

[Peer]
# laptop
PublicKey = ${K2}
AllowedIPs = 10.0.0.2/32

`);
  });

  it('leaves nothing wg setconf would reject, and the result parses to the same wg settings', () => {
    const stripped = stripConfig(FULL);
    expect(firstNonWgLine(FULL)).toEqual({ line: 4, key: 'Address' });
    expect(firstNonWgLine(stripped)).toBeNull();
    expect(toUapiSet(parseConfig(stripped, 's.conf'))).toBe(toUapiSet(parseConfig(FULL, 'f.conf')));
  });

  it('treats a key named like a wg-quick key outside [Interface] as ordinary', () => {
    // wg-quick only filters inside [Interface]; wg itself then rejects such a line.
    const text = `[Peer]\nPublicKey = ${K2}\nDNS = 1.1.1.1\n`;
    expect(stripConfig(text)).toBe(text);
  });

  it('handles CRLF input, a missing final newline and an empty file', () => {
    expect(stripConfig('[Interface]\r\nMTU = 1400\r\nListenPort = 1')).toBe('[Interface]\r\nListenPort = 1\n');
    expect(stripConfig('')).toBe('');
  });

  it('finds a wgts section for setconf\'s error', () => {
    expect(firstNonWgLine(`[Interface]\n\n[TCPServerTunnel]\nListenPort = 80\n`)).toEqual({ line: 3, key: '[TCPServerTunnel]' });
  });
});
