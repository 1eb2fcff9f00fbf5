"""Long-lived descriptors go above 1024, where C code that uses select() never sees them.

libnftables (nftables 1.0.6) waits on its netlink socket with select(), and glibc aborts the
whole process when that socket's number is 1024 or more ("bit out of range 0 - FD_SETSIZE").
The daemon keeps a few descriptors per running container (the resolver's two sockets, two
cached netlink sockets, a pidfd), so at about 200 containers every new descriptor, a fresh
libnftables context's included, got a number past 1024 and the daemon died. Descriptors
that live as long as a container are moved up here, which keeps the low numbers free for
short-lived ones.
"""

from __future__ import annotations

import fcntl
import os
import socket

FLOOR = 1024


def lift_fd(fd: int) -> int:
    """Return a close-on-exec copy of `fd` numbered FLOOR or more and close `fd`; `fd` itself
    when the descriptor limit leaves no room above FLOOR."""
    if fd >= FLOOR:
        return fd
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, FLOOR)
    except OSError:  # EINVAL: RLIMIT_NOFILE is FLOOR or less; EMFILE: none free up there
        return fd
    os.close(fd)
    return high


def lift(sock: socket.socket) -> socket.socket:
    """`sock` on a descriptor numbered FLOOR or more (the same socket, blocking mode kept)."""
    if sock.fileno() >= FLOOR:
        return sock
    blocking, timeout = sock.getblocking(), sock.gettimeout()
    fd = lift_fd(sock.detach())
    out = socket.socket(fileno=fd)
    out.settimeout(timeout) if blocking else out.setblocking(False)
    return out
