/**
 * Usage lines and full help for every subcommand (`wgts CMD --help`).
 */

export interface CommandHelp {
  /** One line for the command list. */
  summary: string;
  /** The usage line(s), without the program name. */
  usage: string;
  /** The rest of the page. */
  body: string;
}

const KEYS_NOTE = `Keys are 32 bytes written as 44 characters of base64, the form wg(8) uses.`;

export const HELP: Record<string, CommandHelp> = {
  up: {
    summary: 'Run an endpoint from a config file in the foreground',
    usage: 'up { PATH | NAME } [--mode netstack|tun] [--log-level LEVEL] [--user NAME[:GROUP]]',
    body: `Starts a WireGuard endpoint for the config file and keeps it running until
it receives SIGINT or SIGTERM (or \`wgts down NAME\`).

  PATH   a config file; the interface name is its basename without ".conf"
         (so /etc/wgts/office.conf runs interface "office").
  NAME   short for /etc/wireguard/NAME.conf, as with wg-quick.

Options:
  --mode netstack   (default) terminate the tunnel in a userspace TCP/IP stack.
                    Needs no root. Services come from the [Socks5], [TCPClientTunnel],
                    [TCPServerTunnel], [UDPClientTunnel], [UDPServerTunnel] and
                    [Netstack] sections.
  --mode tun        create a kernel TUN interface and configure it like wg-quick:
                    Address, MTU, DNS, routes for AllowedIPs, Table and the
                    PreUp/PostUp/PreDown/PostDown hooks. Needs root (CAP_NET_ADMIN).
  --user NAME[:GROUP]
                    tun mode: the wireguard-ts daemon drops root to this user (and
                    its group, or GROUP) once the interface and its sockets exist;
                    routes, hooks and SaveConfig stay with \`wgts up', which keeps
                    root. Changing the fwmark live then needs CAP_NET_ADMIN again.
  --log-level LEVEL one of silent, error, warn, info, verbose, debug (default info,
                    or $LOG_LEVEL when set). Log lines go to stderr as "LEVEL: text":
                    start and stop, peers coming up and going stale (info), every
                    handshake (verbose), failures (warn, error).

Endpoint hostnames are resolved at start; while a peer's handshakes keep
failing its name is looked up again (at most every 20 s) and the endpoint
follows a changed address, as wireguard-tools' reresolve-dns.sh does.

The UAPI socket is /var/run/wireguard/NAME.sock when running as root, otherwise
$XDG_RUNTIME_DIR/wgts/NAME.sock (or /tmp/wgts-UID/NAME.sock), so \`wgts show\`,
\`wgts set\` and (for the first) \`wg\` itself work on it.

Exit status: 0 after a clean shutdown, 1 on a runtime failure, 2 for bad
arguments or an invalid config (the message names the file, line and key).`,
  },
  down: {
    summary: 'Stop an endpoint started with `wgts up`',
    usage: 'down { NAME | PATH }',
    body: `Sends SIGTERM to the endpoint serving interface NAME (found through the pid
file next to its UAPI socket) and waits up to 5 seconds for it to exit.
A PATH argument is reduced to its interface name as \`up\` does.

Exit status: 0 when the endpoint stopped, 1 when it is not running or did not stop.`,
  },
  show: {
    summary: 'Show the current state of interfaces',
    usage:
      'show { <interface> | all | interfaces } [public-key | private-key | listen-port | fwmark | peers | preshared-keys | endpoints | allowed-ips | latest-handshakes | transfer | persistent-keepalive | dump]',
    body: `With no arguments or "all", shows every interface with a UAPI socket; with
"interfaces", lists their names on one line. With a field name, prints just
that field, one line per peer, tab-separated (prefixed by the interface name
for "all"). "dump" prints everything in that tab-separated form.

The layout is the same as \`wg show\`: peers with the most recent handshake
come first; times read "1 minute, 3 seconds ago"; transfer reads
"1.23 KiB received, 4.56 MiB sent".

Environment:
  WG_COLOR_MODE=always|never   colours (default: only when stdout is a terminal)
  WG_HIDE_KEYS=never           show private and preshared keys instead of "(hidden)"
  WGTS_UAPI_DIR=DIR[:DIR...]   look for sockets only in these directories`,
  },
  showconf: {
    summary: 'Print the current configuration of an interface as a config file',
    usage: 'showconf <interface>',
    body: `Prints [Interface] and [Peer] sections for the interface's running
configuration, in the form \`wgts setconf\` (and \`wg setconf\`) reads.
The output includes the private key.`,
  },
  set: {
    summary: 'Change the configuration of an interface: keys, port, peers',
    usage:
      'set <interface> [listen-port <port>] [fwmark <mark>] [private-key <file path>] [peer <base64 public key> [remove] [preshared-key <file path>] [endpoint <ip>:<port>] [persistent-keepalive <interval seconds>] [allowed-ips [+|-]<ip1>/<cidr1>[,[+|-]<ip2>/<cidr2>]...] ]...',
    body: `Changes only what is named; everything else stays.

  listen-port PORT          UDP port to listen on (0: pick one).
  fwmark MARK               mark outgoing packets (0, "off", decimal or 0x hex).
  private-key FILE          read the private key from FILE ("/dev/null" removes it).
  peer KEY                  the following options apply to this peer (added if new).
    remove                  remove the peer.
    preshared-key FILE      read a preshared key from FILE ("/dev/null" removes it).
    endpoint HOST:PORT      where to send; [IPv6]:PORT; hostnames are resolved now.
    persistent-keepalive N  send a keepalive after N seconds of silence (0/off: never).
    allowed-ips LIST        comma-separated prefixes; replaces the peer's list.
                            With a leading "+" or "-" an entry is added or removed
                            instead, leaving the others. An empty LIST clears it.

${KEYS_NOTE}
Key files hold one key plus optional whitespace, so that secret keys never
appear on a command line.

Exit status: 0 ok, 1 if the interface is missing or refuses the change, 2 for
bad arguments.`,
  },
  setconf: {
    summary: 'Apply a config file to an interface, replacing its configuration',
    usage: 'setconf <interface> <configuration filename>',
    body: `Reads a config file in wg(8) format ([Interface] PrivateKey, ListenPort,
FwMark; [Peer] PublicKey, PresharedKey, AllowedIPs, Endpoint,
PersistentKeepalive) and makes it the interface's whole configuration: peers
not in the file are removed. wg-quick keys (Address, DNS, MTU, Table, hooks,
SaveConfig) and wgts sections are rejected, as \`wg setconf\` does; filter a
full config through \`wgts strip\` first.`,
  },
  addconf: {
    summary: 'Add the peers and settings of a config file to an interface',
    usage: 'addconf <interface> <configuration filename>',
    body: `Like setconf, but adds to the current configuration: existing peers stay,
peers in the file are added or updated, and interface keys are only changed
when the file sets them.`,
  },
  syncconf: {
    summary: 'Make an interface match a config file without disturbing sessions',
    usage: 'syncconf <interface> <configuration filename>',
    body: `Like setconf, but peers present both on the interface and in the file are
updated in place, so their sessions and handshakes survive; only peers
missing from the file are removed. Preshared keys and persistent keepalives
that the file no longer sets are cleared.`,
  },
  genkey: {
    summary: 'Generate a new private key and print it',
    usage: 'genkey',
    body: `Prints a fresh random Curve25519 private key (clamped), base64, on stdout.
Warns when stdout is a file others can read. Typical use:

  umask 077; wgts genkey | tee private.key | wgts pubkey > public.key`,
  },
  genpsk: {
    summary: 'Generate a new preshared key and print it',
    usage: 'genpsk',
    body: `Prints 32 fresh random bytes, base64, on stdout, for PresharedKey.`,
  },
  pubkey: {
    summary: 'Read a private key on stdin and print its public key',
    usage: 'pubkey',
    body: `Reads a base64 private key from stdin (trailing whitespace allowed) and
prints the matching public key. Exits 1 with "Key is not the correct length
or format" for anything else.`,
  },
  strip: {
    summary: 'Print a config without the wg-quick and wgts additions',
    usage: 'strip { PATH | NAME }',
    body: `Prints the config file with the wg-quick keys (Address, DNS, MTU, Table,
PreUp, PostUp, PreDown, PostDown, SaveConfig) and the wgts sections
([Socks5], [TCPClientTunnel], [TCPServerTunnel], [UDPClientTunnel],
[UDPServerTunnel], [Netstack]) removed; comments and the order of the other
lines stay. The result is what \`wg setconf\` accepts:

  wg syncconf wg0 <(wgts strip wg0)

The file is checked first: an invalid config exits 2 naming the line.`,
  },
  completion: {
    summary: 'Print a shell completion script',
    usage: 'completion bash',
    body: `Prints a bash completion script for wgts. Load it with

  source <(wgts completion bash)

or save it as /usr/share/bash-completion/completions/wgts.`,
  },
};

export const COMMAND_ORDER = ['up', 'down', 'show', 'showconf', 'set', 'setconf', 'addconf', 'syncconf', 'genkey', 'genpsk', 'pubkey', 'strip', 'completion'];

export function usageLine(prog: string, cmd: string): string {
  return `Usage: ${prog} ${HELP[cmd]!.usage}\n`;
}

export function commandHelp(prog: string, cmd: string): string {
  const h = HELP[cmd]!;
  return `Usage: ${prog} ${h.usage}\n\n${h.summary}.\n\n${h.body}\n`;
}

export function mainHelp(prog: string): string {
  const width = Math.max(...COMMAND_ORDER.map((c) => c.length));
  const lines = COMMAND_ORDER.map((c) => `  ${c.padEnd(width)}  ${HELP[c]!.summary}`);
  return `Usage: ${prog} <cmd> [<args>]
       ${prog}                     (no arguments: quickstart server in netstack mode)

wgts is a userspace WireGuard endpoint. Its commands follow wg(8) and wg-quick(8).

Available subcommands:
${lines.join('\n')}

Pass --help to any subcommand for its usage. ${prog} --version prints the version.

Exit status: 0 ok, 1 runtime failure, 2 usage or config error.
`;
}
