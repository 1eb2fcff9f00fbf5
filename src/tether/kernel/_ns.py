"""Thin libc wrappers for namespace syscalls missing from Python 3.11's `os` module.

Every helper here is synchronous and meant to run in a throwaway thread (see `in_thread`):
`unshare(CLONE_NEWNET)` and `setns` change only the calling thread, and a thread that dies
afterwards can never leak a wrong namespace into the daemon's other work.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 430, 431, 432  # the same number on every arch
FSOPEN_CLOEXEC = FSMOUNT_CLOEXEC = 1
FSCONFIG_CMD_CREATE = 6


def detached_mount(fstype: str) -> int:
    """A new instance of `fstype` (no options) attached to no mount namespace: an O_PATH-like
    directory fd to open files under. Closing it releases the instance."""
    fs = _libc.syscall(SYS_FSOPEN, fstype.encode(), FSOPEN_CLOEXEC)
    if fs < 0:
        _check(-1, f"fsopen({fstype})")
    try:
        _check(_libc.syscall(SYS_FSCONFIG, fs, FSCONFIG_CMD_CREATE, None, None, 0),
               f"fsconfig({fstype})")
        mnt = _libc.syscall(SYS_FSMOUNT, fs, FSMOUNT_CLOEXEC, 0)
        if mnt < 0:
            _check(-1, f"fsmount({fstype})")
        return mnt
    finally:
        os.close(fs)


def unshare_net() -> None:
    """Move the calling thread into a brand new network namespace."""
    _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")


def enter_net(path: str) -> None:
    """Move the calling thread into the network namespace bound at `path`."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns({path})")
    finally:
        os.close(fd)


def bind_mount(source: str, target: str) -> None:
    _check(_libc.mount(source.encode(), target.encode(), None, MS_BIND, None), f"mount {target}")


def umount_detach(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


async def in_thread(fn: Callable[[], T]) -> T:
    """Run `fn` in a fresh thread that exits afterwards, so namespace changes die with it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: object) -> None:
        if future.cancelled():
            return
        if ok:
            future.set_result(value)  # type: ignore[arg-type]
        else:
            future.set_exception(value)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result: object = fn()
            loop.call_soon_threadsafe(deliver, True, result)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            loop.call_soon_threadsafe(deliver, False, exc)

    threading.Thread(target=run, name="tether-netns", daemon=True).start()
    return await future
