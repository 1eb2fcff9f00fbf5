#!/usr/bin/env python3
"""The floor under container start at scale: runc alone, as containers accumulate.

    bench/runcfloor.py [--count N]      (default 1000, as bench/scale.py)

Starts N busybox `sleep` containers with `runc run -d` (no tether, no network plumbing),
four times:
  1. every rootfs a plain directory, each container in a new netns: the floor;
  2. every rootfs a bind mount and every container's netns pinned on a file, both in the
     namespace runc runs in, as tether had it before runtime/mountns.py: runc's new mount
     namespace copies every mount of its parent, so this shows what a growing mount table
     costs each start;
  3. as tether does now: the rootfs overlay is the bundle's first mount (runc makes it in
     the container only), the netns pins pile up in this process's namespace, and runc is
     started with nsenter in the sandbox's netns and in a private mount namespace copied
     before the first start, without them;
  4. as 3, but with `runc run` in the foreground, one runc process kept alive per container
     as tether's shims had it before runtime/monitor.py: the start is timed until runc has
     written the pid file.
Like scale.py, each phase compares the median of the first 20 starts (the reference) with
the median of the last 20.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import benchlib

WINDOW = 20


def bundle_config(bundle: str, rootfs: str, cgroup: str, netns: str | None = None,
                  overlay: tuple[str, str, str] | None = None) -> None:
    """`runc spec`'s default config, made to run `sleep` detached; `netns` names the network
    namespace to join (none: a new one), `overlay` (lower, upper, work) the root to mount."""
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["root"] = {"path": rootfs, "readonly": overlay is None}
    cfg["process"].update(args=["sleep", "86400"], terminal=False)
    cfg["linux"]["cgroupsPath"] = cgroup
    if netns:
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "network"]
        cfg["linux"]["namespaces"].append({"type": "network", "path": netns})
    if overlay:
        lower, upper, work = overlay
        cfg["mounts"].insert(0, {"destination": "/", "type": "overlay", "source": "overlay",
                                 "options": [f"lowerdir={lower},upperdir={upper},"
                                             f"workdir={work}"]})
    with open(path, "w") as f:
        json.dump(cfg, f)


def make_rootfs(path: str) -> None:
    os.makedirs(os.path.join(path, "bin"))
    shutil.copy("/usr/bin/busybox", os.path.join(path, "bin", "busybox"))
    os.symlink("busybox", os.path.join(path, "bin", "sleep"))
    for d in ("proc", "dev", "sys", "tmp"):
        os.makedirs(os.path.join(path, d))


def pin_netns(path: str) -> None:
    open(path, "w").close()
    subprocess.run(["unshare", f"--net={path}", "true"], check=True)


def prepare(work: str, i: int, style: str) -> tuple[str, list[str]]:
    """Bundle `i` in `style` (dir, mounts, tether); returns it and the argv before runc."""
    rootfs = os.path.join(work, "rootfs")
    bundle = os.path.join(work, "b", str(i))
    os.makedirs(bundle)
    cgroup = f"/tether-bench/c{i}"
    if style == "dir":
        bundle_config(bundle, rootfs, cgroup)
        return bundle, []
    pin = os.path.join(work, "netns", str(i))
    pin_netns(pin)
    own = os.path.join(bundle, "rootfs")
    os.makedirs(own)
    if style == "mounts":
        subprocess.run(["mount", "--bind", "-o", "ro", rootfs, own], check=True)
        bundle_config(bundle, own, cgroup, netns=pin)
        return bundle, []
    for d in ("upper", "work"):
        os.makedirs(os.path.join(bundle, d))
    bundle_config(bundle, own, cgroup, netns="/proc/self/ns/net", overlay=(
        rootfs, os.path.join(bundle, "upper"), os.path.join(bundle, "work")))
    return bundle, ["nsenter", f"--mount={work}/keeper-ns", f"--net={pin}"]


def phase(work: str, count: int, style: str) -> list[float]:
    root = os.path.join(work, "runc")
    os.makedirs(os.path.join(work, "netns"), exist_ok=True)
    keeper = None
    if style in ("tether", "foreground"):  # a private copy of this namespace, before any pin or container
        keeper = keep_mount_namespace(work)
    times: list[float] = []
    alive: list[subprocess.Popen] = []
    try:
        for i in range(count):
            bundle, enter = prepare(work, i, style)
            with open(os.path.join(bundle, "err"), "w") as err:
                if style == "foreground":
                    times.append(benchlib.timed(lambda: alive.append(start_foreground(
                        [*enter, "runc", "--root", root, "run"], bundle, f"c{i}", err))))
                    continue
                times.append(benchlib.timed(lambda: subprocess.run(
                    [*enter, "runc", "--root", root, "run", "-d", "--bundle", bundle, f"c{i}"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                    check=True)))
    finally:
        cleanup(work, root)
        for proc in alive:
            proc.wait()
        if keeper is not None:
            release_mount_namespace(work, keeper)
    return times


def keep_mount_namespace(work: str) -> subprocess.Popen:
    """A private copy of this mount namespace as it is now, held by a process and reachable
    as `work`/keeper-ns: mounts made here later do not show in it."""
    keeper = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               "echo ready; exec cat >/dev/null"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert keeper.stdout is not None and keeper.stdout.readline() == b"ready\n"
    os.symlink(f"/proc/{keeper.pid}/ns/mnt", os.path.join(work, "keeper-ns"))
    return keeper


def release_mount_namespace(work: str, keeper: subprocess.Popen) -> None:
    keeper.communicate()
    os.unlink(os.path.join(work, "keeper-ns"))


def start_foreground(argv: list[str], bundle: str, cid: str, err) -> subprocess.Popen:
    """`runc run` left running; returns once it has written the container's pid file."""
    pid_file = os.path.join(bundle, "init.pid")
    proc = subprocess.Popen([*argv, "--pid-file", pid_file, "--bundle", bundle, cid],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)
    while not os.path.exists(pid_file):
        if proc.poll() is not None:
            raise RuntimeError(f"runc run {cid} exited with {proc.returncode}")
        time.sleep(0.0002)
    return proc


def cleanup(work: str, root: str) -> None:
    ids = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True,
                         text=True).stdout.split()
    for cid in ids:
        subprocess.run(["runc", "--root", root, "delete", "-f", cid], capture_output=True)
    bundles, pins = os.path.join(work, "b"), os.path.join(work, "netns")
    for name in os.listdir(bundles) if os.path.isdir(bundles) else ():
        own = os.path.join(bundles, name, "rootfs")
        if os.path.isdir(own):  # a bind mount on the same filesystem: ismount() cannot tell
            subprocess.run(["umount", own], capture_output=True)
    for name in os.listdir(pins) if os.path.isdir(pins) else ():
        subprocess.run(["umount", os.path.join(pins, name)], capture_output=True)
    for d in sorted(os.listdir("/sys/fs/cgroup")):
        top = os.path.join("/sys/fs/cgroup", d, "tether-bench")
        for dirpath, _, _ in sorted(os.walk(top, topdown=False)):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
    for d in (bundles, pins, root):
        shutil.rmtree(d, ignore_errors=True)


def rows(what: str, samples: list[float], count: int) -> list[dict]:
    group = f"runc floor: {count} containers started one after another (ms, lower is better)"
    first = f"{what}: starts 1-{WINDOW}"
    return [benchlib.row(group, first, samples[:WINDOW]),
            benchlib.row(group, f"{what}: starts {count - WINDOW + 1}-{count}",
                         samples[-WINDOW:], reference=first)]


PHASES = (("dir", "runc, rootfs a directory"),
          ("mounts", "runc among every rootfs mount and netns pin (tether before)"),
          ("tether", "runc in a clean copy, overlay made in the container (tether now)"),
          ("foreground", "as tether now, but runc kept in the foreground per container "
                         "(tether before the monitor)"))


def main() -> None:
    benchlib.enter_namespace()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=1000)
    count = max(p.parse_args().count, 2 * WINDOW)
    out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="runcfloor-") as work:
        make_rootfs(os.path.join(work, "rootfs"))
        for style, what in PHASES:
            out += rows(what, phase(work, count, style), count)
    benchlib.publish("runcfloor", out)


if __name__ == "__main__":
    main()
