"""Mount and unmount through libc, errno-aware and idempotent (kernel/ has no mount verbs)."""

from __future__ import annotations

import ctypes
import errno
import os

from tether.errors import KernelError

MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)


def overlay_options(lower: str, upper: str, work: str) -> str:
    """The option string of an overlay mount; paths must not hold ',' or ':' (ours are hex)."""
    for path in (lower, upper, work):
        if "," in path or ":" in path:
            raise KernelError(f"overlay path {path!r} holds ',' or ':'")
    return f"lowerdir={lower},upperdir={upper},workdir={work}"


def mount_overlay(target: str, lower: str, upper: str, work: str) -> None:
    """Mount an overlay at `target` unless something is already mounted there."""
    if os.path.ismount(target):
        return
    opts = overlay_options(lower, upper, work).encode()
    if _libc.mount(b"overlay", target.encode(), b"overlay", 0, opts) != 0:
        err = ctypes.get_errno()
        raise KernelError(f"cannot mount the rootfs overlay at {target}: {os.strerror(err)}")


def unmount(target: str) -> None:
    """Detach whatever is mounted at `target`; EINVAL (not a mount) and ENOENT are success."""
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise KernelError(f"cannot unmount {target}: {os.strerror(err)}")
