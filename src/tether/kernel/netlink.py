"""One cached rtnetlink socket per network namespace.

Invariant: a cached socket pins its namespace (the kernel keeps a netns alive while a socket
lives in it), so `forget(path)` must run before a namespace is unmounted, or its links would
never be reaped. Sockets are tied to the event loop that first used them; a new loop (tests)
gets new sockets.
"""

from __future__ import annotations

import asyncio
import os
import socket

from pyroute2 import AsyncIPRoute
from pyroute2.netlink import NETLINK_ROUTE
from pyroute2.netlink.exceptions import NetlinkError

from tether.errors import KernelError, NotFound
from tether.kernel import _ns, fds

_HOST = ""
_cache: dict[str, tuple[asyncio.AbstractEventLoop, AsyncIPRoute]] = {}
_plain: dict[str, socket.socket] = {}
_raw: dict[str, socket.socket] = {}  # the socket under each namespace's pyroute2 object


def _socket_in(path: str) -> socket.socket:
    """Open an rtnetlink socket inside the namespace at `path` (runs in a throwaway thread)."""
    _ns.enter_net(path)
    return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)


async def _open_in(netns: str) -> socket.socket:
    """An rtnetlink socket made inside `netns`; NotFound or KernelError with one sentence."""
    try:
        return fds.lift(await _ns.in_thread(lambda: _socket_in(netns)))
    except FileNotFoundError as exc:
        raise NotFound(f"network namespace {netns} does not exist") from exc
    except OSError as exc:
        raise KernelError(f"cannot enter network namespace {netns}: {exc.strerror}") from exc


async def rtnl(netns: str | None = None) -> AsyncIPRoute:
    """Return the rtnetlink socket of `netns` (a bind-mounted file) or of the daemon's netns.

    Raises:
        NotFound: `netns` names no namespace.
    """
    key = netns or _HOST
    loop = asyncio.get_running_loop()
    cached = _cache.get(key)
    if cached is not None and cached[0] is loop:
        return cached[1]
    _close(key)
    if netns is None:
        ipr = AsyncIPRoute()
    else:
        sock = await _open_in(netns)
        ipr = AsyncIPRoute(use_socket=sock)
        _raw[key] = sock
    _cache[key] = (loop, ipr)
    return ipr


async def plain_socket(netns: str) -> socket.socket:
    """A plain blocking rtnetlink socket inside `netns`, for the bare requests of
    `kernel.rtdump`; cached, and closed by `forget` with the namespace's pyroute2 socket.

    Raises:
        NotFound: `netns` names no namespace.
    """
    sock = _plain.get(netns)
    if sock is None:
        sock = await _open_in(netns)
        _plain[netns] = sock
    return sock


def _close(key: str) -> None:
    plain = _plain.pop(key, None)
    if plain is not None:
        plain.close()
    cached = _cache.pop(key, None)
    raw = _raw.pop(key, None)
    if cached is not None:
        try:
            cached[1].close()
        except Exception:  # noqa: BLE001 - the loop it was bound to may be gone already
            pass
    if raw is not None:
        raw.close()  # pyroute2 may not have closed it (a dead loop): it would pin the netns


def forget(netns: str) -> None:
    """Close the cached socket of `netns` so the namespace can die when unmounted."""
    _close(netns)


def close_all() -> None:
    """Close every cached socket (daemon shutdown, end of a test)."""
    for key in {*_cache, *_plain, *_raw}:
        _close(key)


def kernel_error(exc: NetlinkError, what: str) -> KernelError:
    """Turn a netlink error into a KernelError with one sentence naming the operation."""
    return KernelError(f"{what}: {os.strerror(exc.code)}")
