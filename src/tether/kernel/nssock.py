"""The embedded resolver's sockets, bound inside a container's network namespace.

A socket belongs to the namespace it was created in for its whole life, whichever thread
later reads it. So a throwaway thread enters the container's namespace, binds a UDP and a
TCP socket on random ports of the resolver's address, points port 53 of that address at
them with a small nftables NAT table (as dockerd does: the container keeps port 53 free for
a DNS server of its own), and returns the sockets; the daemon serves them from its loop and
never leaves its own namespace.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import socket
import subprocess
import threading

from tether.errors import KernelError
from tether.kernel import _ns, fds, libnftables

TABLE = "tether_dns"
BIND_TIMEOUT = 10.0
RCVBUF = 1 << 20  # a burst of queries waits in the socket instead of being dropped


def redirect_script(address: str, udp_port: int, tcp_port: int) -> str:
    """Point port 53 of `address` at the resolver's ports (replies come back from 53 through
    conntrack). The chain is flushed and refilled rather than the table deleted: a restarted
    daemon binds new ports, and deleting a table costs ~10 ms of RCU wait, refilling 0.5 ms."""
    chain = f"ip {TABLE} output"
    return (
        f"table ip {TABLE} {{\n  chain output {{\n"
        f"    type nat hook output priority -100; policy accept;\n  }}\n}}\n"
        f"flush chain {chain}\n"
        f"add rule {chain} ip daddr {address} udp dport 53 dnat to {address}:{udp_port}\n"
        f"add rule {chain} ip daddr {address} tcp dport 53 dnat to {address}:{tcp_port}\n"
    )


def _nft_here(script: str) -> None:
    """Apply `script` in the calling thread's namespace: a fresh libnftables context opens
    its netlink socket here (the shared one lives in the daemon's netns), else `nft -f -`,
    which a thread forks into its own namespace."""
    try:
        lib = ctypes.CDLL(libnftables.SONAME)
    except OSError:
        lib = None
    if lib is None:
        r = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
        if r.returncode:
            raise OSError(0, f"nft: {r.stderr.strip()}")
        return
    ctx = libnftables.Libnftables(lib, own_thread=False)
    try:
        status, _, err = ctx.run_blocking(script)
    finally:
        ctx.free()
    if status != 0:
        raise OSError(0, f"nft: {err.strip()}")


def _bind_pair(path: str, address: str) -> tuple[socket.socket, socket.socket]:
    _ns.enter_net(path)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for sock in (udp, tcp):
            sock.bind((address, 0))
            sock.setblocking(False)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        tcp.listen(128)
        _nft_here(redirect_script(address, udp.getsockname()[1], tcp.getsockname()[1]))
    except OSError:
        udp.close()
        tcp.close()
        raise
    return fds.lift(udp), fds.lift(tcp)  # they live as long as the container


async def bind_in_netns(path: str, address: str, timeout: float = BIND_TIMEOUT,
                        ) -> tuple[socket.socket, socket.socket]:
    """A UDP socket and a listening TCP socket that answer on address:53 inside the netns.

    Bounded by `timeout`: under heavy load the thread's setns, binds and nft transaction
    once hung a start for good. Sockets a timed-out thread makes later are closed, never
    leaked: whichever side takes the lock second closes them.

    Raises:
        KernelError: the namespace is gone, nftables refused the redirect, or time ran out.
    """
    lock, abandoned, made = threading.Lock(), [False], []

    def work() -> tuple[socket.socket, socket.socket]:
        pair = _bind_pair(path, address)
        with lock:
            if abandoned[0]:
                for sock in pair:
                    sock.close()
                raise OSError(errno.ETIMEDOUT, "abandoned")
            made.extend(pair)
        return pair

    try:
        return await asyncio.wait_for(_ns.in_thread(work), timeout)
    except TimeoutError:
        with lock:
            abandoned[0] = True
            for sock in made:
                sock.close()
        raise KernelError(f"cannot serve DNS on {address}:53 in {path}: binding took "
                          f"longer than {timeout:.0f} s") from None
    except OSError as exc:
        raise KernelError(f"cannot serve DNS on {address}:53 in {path}: "
                          f"{exc.strerror or exc}") from exc
