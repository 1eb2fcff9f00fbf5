"""Sysctls of the daemon's own network namespace, written straight to /proc/sys."""

from __future__ import annotations

from tether.errors import KernelError


def sysctl_path(key: str) -> str:
    """Map `net.ipv4.ip_forward` to its /proc/sys file; interface names may contain dots."""
    parts = key.split(".")
    if len(parts) > 5 and parts[:3] in (["net", "ipv4", "conf"], ["net", "ipv6", "conf"]):
        parts = parts[:3] + [".".join(parts[3:-1]), parts[-1]]
    return "/proc/sys/" + "/".join(parts)


def set_sysctl(key: str, value: str) -> None:
    """Set `key` to `value` (a few microseconds: a procfs write never blocks the loop).

    /proc/sys/net is the calling thread's network namespace: called from a thread that
    entered a sandbox, it sets the sandbox's value.

    Raises:
        KernelError: the key does not exist or the write was refused.
    """
    try:
        with open(sysctl_path(key), "w") as f:
            f.write(value)
    except OSError as exc:
        raise KernelError(f"cannot set {key}={value}: {exc.strerror}") from exc


def get_sysctl(key: str) -> str:
    """Read `key`; raises KernelError when it does not exist."""
    try:
        with open(sysctl_path(key)) as f:
            return f.read().strip()
    except OSError as exc:
        raise KernelError(f"cannot read {key}: {exc.strerror}") from exc
