#!/usr/bin/env python3
"""Opens a TUN interface and a listening UAPI socket, then execs the daemon with
them inherited through WG_TUN_FD / WG_UAPI_FD (how a supervisor hands over
ready descriptors). Usage: fd-launcher.py IFACE SOCKET_PATH COMMAND..."""
import fcntl
import os
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

iface, sock_path, *command = sys.argv[1:]
tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", iface.encode(), IFF_TUN | IFF_NO_PI))
os.makedirs(os.path.dirname(sock_path), mode=0o755, exist_ok=True)
uapi = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
uapi.bind(sock_path)
os.chmod(sock_path, 0o700)
uapi.listen(16)
os.set_inheritable(tun, True)
os.set_inheritable(uapi.fileno(), True)
env = dict(os.environ, WG_TUN_FD=str(tun), WG_UAPI_FD=str(uapi.fileno()))
os.execvpe(command[0], command, env)
