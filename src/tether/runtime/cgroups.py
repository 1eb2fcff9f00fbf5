"""The container's cgroups (`/tether/<id>` in every hierarchy): removed at cleanup.

runc removes them when `runc run` sees its container exit, but not when runc itself was
killed (a daemon host going down, a test namespace torn down); cleanup removes what is left.
"""

from __future__ import annotations

import errno
import os
import time

from tether.errors import KernelError

PARENT = "tether"
STARTING_GRACE = 60.0  # seconds: a younger empty cgroup may be a start in progress


def hierarchies(mountinfo: str) -> list[str]:
    """Mount points of the cgroup (v1) and cgroup2 filesystems listed in `mountinfo`."""
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line:
            continue
        fstype = line.split(" - ", 1)[1].split()[0]
        if fstype in ("cgroup", "cgroup2"):
            points.append(fields[4])
    return points


def remove_cgroups(cid: str) -> None:
    """rmdir `/tether/<id>` everywhere; ENOENT is success, a busy cgroup is an error."""
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        points = hierarchies(f.read())
    busy = []
    for point in points:
        try:
            os.rmdir(os.path.join(point, PARENT, cid))
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise KernelError(f"cannot remove cgroup {point}/{PARENT}/{cid}: "
                                  f"{exc.strerror}") from exc
            busy.append(point)
    if busy:
        raise KernelError(f"cgroups of container {cid[:12]} still hold processes: {busy}")


def sweep_cgroups(keep: set[str], now: float | None = None) -> list[str]:
    """rmdir every empty `/tether/<id>` cgroup whose id is not in `keep` and which is older
    than STARTING_GRACE seconds; return what went.

    Cgroups live outside any namespace, so a run killed with its namespaces still leaves
    them on the host. A cgroup that holds processes refuses rmdir (EBUSY) and stays: it may
    be another daemon's running container. A young empty one may be another daemon's
    container being started (runc makes the directory, then writes its limits, then moves
    the process in): removing it failed that start ("openat2 .../cpuset.cpus: no such
    file"), so it is left for a later sweep.
    """
    now = time.time() if now is None else now
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        points = hierarchies(f.read())
    removed = []
    for point in points:
        parent = os.path.join(point, PARENT)
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            path = os.path.join(parent, name)
            if name in keep or not os.path.isdir(path):
                continue
            try:
                if now - os.stat(path).st_ctime < STARTING_GRACE:
                    continue
                os.rmdir(path)
                removed.append(path)
            except OSError:
                continue
    return removed
