"""Sockets bound inside another network namespace, handed back to the daemon's loop.

A socket belongs to the namespace it was created in for its whole life, whichever thread
later reads it. So a throwaway thread enters the container's namespace, binds, and returns
the sockets; the daemon serves them like any other and never leaves its own namespace.
"""

from __future__ import annotations

import socket

from tether.errors import KernelError
from tether.kernel import _ns


def _bind_pair(path: str, address: str, port: int) -> tuple[socket.socket, socket.socket]:
    _ns.enter_net(path)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for sock in (udp, tcp):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.setblocking(False)
        tcp.listen(128)
    except OSError:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


async def bind_in_netns(path: str, address: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a listening TCP socket on address:port inside the netns at `path`.

    Raises:
        KernelError: the namespace is gone or the address is taken there.
    """
    try:
        return await _ns.in_thread(lambda: _bind_pair(path, address, port))
    except OSError as exc:
        raise KernelError(f"cannot bind {address}:{port} in {path}: {exc.strerror}") from exc
