"""Sandboxes' network namespaces, kept alive by bind mounts under the daemon's run directory.

Never under /run/netns: tether must not collide with `ip netns` or other engines. Deleting a
namespace (unmount + unlink) lets the kernel reap its links, the host side of veths included,
which is far cheaper than deleting veths one by one (DESIGN: 2 ms against 30 ms).
"""

from __future__ import annotations

import errno
import os

from tether.errors import KernelError
from tether.kernel import _ns, netlink
from tether.kernel.sysctl import set_sysctl

_NO_IPV6 = ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6")


def _is_mounted(path: str) -> bool:
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def _create(path: str, ipv6: bool) -> None:
    """Unshare this throwaway thread's netns and pin it on `path` (its directory is made)."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDONLY | os.O_CLOEXEC, 0o444)
    os.close(fd)
    _ns.unshare_net()
    _ns.bind_mount("/proc/thread-self/ns/net", path)
    if not ipv6:
        # Router solicitations from hundreds of sandboxes flood every bridge port (DESIGN).
        for key in _NO_IPV6:
            set_sysctl(key, "1")


async def create_netns(path: str, *, ipv6: bool = False) -> None:
    """Create a network namespace pinned on the file `path`, with `lo` up.

    Idempotent: an already mounted namespace is kept as it is.

    Raises:
        KernelError: the directory is missing or the kernel refused the namespace.
    """
    if _is_mounted(path):
        return
    try:
        await _ns.in_thread(lambda: _create(path, ipv6))
    except OSError as exc:
        raise KernelError(f"cannot create network namespace {path}: {exc.strerror}") from exc
    ipr = await netlink.rtnl(path)
    await ipr.link("set", index=1, state="up")


async def remove_netns(path: str) -> None:
    """Unmount and unlink the namespace file; an absent namespace is success."""
    netlink.forget(path)
    try:
        _ns.umount_detach(path)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise KernelError(f"cannot unmount network namespace {path}: {exc.strerror}") from exc
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise KernelError(f"cannot remove network namespace file {path}: {exc.strerror}") from exc


def _set_in(path: str, items: tuple[tuple[str, str], ...]) -> None:
    _ns.enter_net(path)
    for key, value in items:
        set_sysctl(key, value)


async def set_netns_sysctl(path: str, key: str, value: str) -> None:
    """Set one sysctl inside the namespace at `path` (e.g. re-enable IPv6 for an endpoint)."""
    await set_netns_sysctls(path, ((key, value),))


async def set_netns_sysctls(path: str, items: tuple[tuple[str, str], ...]) -> None:
    """Set several sysctls inside the namespace at `path` in one thread hop."""
    try:
        await _ns.in_thread(lambda: _set_in(path, items))
    except FileNotFoundError as exc:
        raise KernelError(f"network namespace {path} does not exist") from exc
    except OSError as exc:
        raise KernelError(f"cannot enter network namespace {path}: {exc.strerror}") from exc


async def enable_ipv6(path: str) -> None:
    """Turn IPv6 back on in a sandbox, for interfaces made from now on and existing ones."""
    await set_netns_sysctls(path, tuple((key, "0") for key in _NO_IPV6))


def list_netns(directory: str) -> list[str]:
    """Return the paths of the namespace files in `directory` (for reconcile); none if absent."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    return [os.path.join(directory, n) for n in names]
