#!/usr/bin/env python3
"""The floor under container start at scale: runc alone, as containers accumulate.

    bench/runcfloor.py [--count N]      (default 600)

Starts N busybox `sleep` containers with `runc run -d` (no tether, no network plumbing, each
in a new network namespace), twice: once with every rootfs a plain directory, and once with
every rootfs a bind mount in runc's own mount namespace, as tether's overlay rootfs is.
runc's new mount namespace copies every mount of its parent, so the second phase shows what
the host's growing mount table costs each start; `bench/scale.py`'s container growth is
measured against these two in the README. Like scale.py, each phase compares the median
of the first 20 starts (the reference) with the median of the last 20.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile

import benchlib

WINDOW = 20


def bundle_config(bundle: str, rootfs: str, cgroup: str) -> None:
    """`runc spec`'s default config, made to run `sleep` detached in a new netns."""
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["root"] = {"path": rootfs, "readonly": True}
    cfg["process"].update(args=["sleep", "86400"], terminal=False)
    cfg["linux"]["cgroupsPath"] = cgroup
    with open(path, "w") as f:
        json.dump(cfg, f)


def make_rootfs(path: str) -> None:
    os.makedirs(os.path.join(path, "bin"))
    shutil.copy("/usr/bin/busybox", os.path.join(path, "bin", "busybox"))
    os.symlink("busybox", os.path.join(path, "bin", "sleep"))
    for d in ("proc", "dev", "sys", "tmp"):
        os.makedirs(os.path.join(path, d))


def phase(work: str, count: int, mounts: bool) -> list[float]:
    root, rootfs = os.path.join(work, "runc"), os.path.join(work, "rootfs")
    times: list[float] = []
    try:
        for i in range(count):
            bundle = os.path.join(work, "b", str(i))
            os.makedirs(bundle)
            own = rootfs
            if mounts:
                own = os.path.join(bundle, "rootfs")
                os.makedirs(own)
                subprocess.run(["mount", "--bind", "-o", "ro", rootfs, own], check=True)
            bundle_config(bundle, own, f"/tether-bench/c{i}")
            with open(os.path.join(bundle, "err"), "w") as err:
                times.append(benchlib.timed(lambda: subprocess.run(
                    ["runc", "--root", root, "run", "-d", "--bundle", bundle, f"c{i}"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                    check=True)))
    finally:
        cleanup(work, root)
    return times


def cleanup(work: str, root: str) -> None:
    ids = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True,
                         text=True).stdout.split()
    for cid in ids:
        subprocess.run(["runc", "--root", root, "delete", "-f", cid], capture_output=True)
    bundles = os.path.join(work, "b")
    for name in os.listdir(bundles) if os.path.isdir(bundles) else ():
        own = os.path.join(bundles, name, "rootfs")
        if os.path.isdir(own):  # a bind mount on the same filesystem: ismount() cannot tell
            subprocess.run(["umount", own], capture_output=True)
    for d in sorted(os.listdir("/sys/fs/cgroup")):
        top = os.path.join("/sys/fs/cgroup", d, "tether-bench")
        for dirpath, _, _ in sorted(os.walk(top, topdown=False)):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
    shutil.rmtree(os.path.join(work, "b"), ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)


def rows(what: str, samples: list[float], count: int) -> list[dict]:
    group = f"runc floor: {count} containers started one after another (ms, lower is better)"
    first = f"{what}: starts 1-{WINDOW}"
    return [benchlib.row(group, first, samples[:WINDOW]),
            benchlib.row(group, f"{what}: starts {count - WINDOW + 1}-{count}",
                         samples[-WINDOW:], reference=first)]


def main() -> None:
    benchlib.enter_namespace()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=600)
    count = max(p.parse_args().count, 2 * WINDOW)
    out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="runcfloor-") as work:
        make_rootfs(os.path.join(work, "rootfs"))
        out += rows("runc, rootfs a directory", phase(work, count, mounts=False), count)
        out += rows("runc, one mount per container", phase(work, count, mounts=True), count)
    benchlib.publish("runcfloor", out)


if __name__ == "__main__":
    main()
