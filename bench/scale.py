#!/usr/bin/env python3
"""Scale: does the 1,000th container or the 10,000th network cost what the 10th did?

    bench/scale.py                       1,000 containers on one bridge, 10,000 networks
    bench/scale.py --quick               200 containers, 1,000 networks (a smoke run)
    bench/scale.py --containers N --networks M     (0 skips a phase)

Everything goes through the Engine API of one fresh tetherd, one request per connection as the
docker CLI makes them. Containers: busybox `sleep` on one user-defined bridge network, created
and started one after the other, then force-removed in the same order. Networks: bridges with
no containers, created then removed. Each phase runs `--rounds` times (fill, then empty), so
the windows at few and at many objects alternate in time: this machine's speed drifts by a
third from one minute to the next, and a single first-versus-last comparison measured that
drift as much as any growth (bare runc with 1,000 containers alive took 37.4 ms a start at
the median, and 22.3 ms with 1,000 alive again two minutes later). For
each phase the table pools the first 20 operations of every round (the reference) and the
last 20 of every round, and gives the ratio of each round on its own (min/median/max over
the rounds); a ratio near 1 means the operation does not grow with what already exists
(target: at most 1.2). Right after the first and the last 20 container starts of each round,
20 bare `runc run -d` starts (busybox in a plain directory, a new netns, no tether; each
deleted after) measure runc itself at the same moments: their ratio is the machine's drift
plus whatever runc's own start grows by with 1,000 containers alive. The daemon's memory is
its resident set (VmRSS) before and after the first round's population, per object.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import benchlib
import runcfloor

WINDOW = 20
ROUNDS = 3
RATIOS = "scale: last 20 operations over the first 20, each round on its own (lower is better)"
IMAGE = "busybox:local"
SCALE_NET = {"Name": "scale", "Driver": "bridge",
             "IPAM": {"Config": [{"Subnet": "10.224.0.0/16"}]}}


def rss_kib(pid: int) -> int:
    """Resident set of process `pid` in KiB (from /proc, no dependency)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def timed_ops(n: int, op, progress: str, between=None) -> list[float]:
    """Run op(i) for i in range(n), returning each call's milliseconds; `between(i)`, when
    given, runs after each op, untimed."""
    samples = []
    for i in range(n):
        samples.append(benchlib.timed(lambda: op(i)))
        if between is not None:
            between(i)
        if (i + 1) % max(1, n // 10) == 0:
            print(f"  {progress}: {i + 1}/{n}, last {WINDOW} median "
                  f"{statistics.median(samples[-WINDOW:]):.1f} ms", flush=True)
    return samples


def window_rows(group: str, what: str, rounds: list[list[float]], count: int) -> list[dict]:
    """The first and last WINDOW operations of every round, pooled, the first being the
    reference; then each round's own ratio of the two medians."""
    first = f"{what}: ops 1-{WINDOW}"
    return [
        benchlib.row(group, first, [s for r in rounds for s in r[:WINDOW]]),
        benchlib.row(group, f"{what}: ops {count - WINDOW + 1}-{count}",
                     [s for r in rounds for s in r[-WINDOW:]], reference=first),
        benchlib.row(group, f"{what}: all {count}", [s for r in rounds for s in r],
                     reference=first),
        benchlib.row(RATIOS, f"{what}, {count}: ops {count - WINDOW + 1}-{count} over ops "
                     f"1-{WINDOW}, one value per round",
                     [statistics.median(r[-WINDOW:]) / statistics.median(r[:WINDOW])
                      for r in rounds], unit="x"),
    ]


def runc_rows(group: str, runc: list[list[float]], count: int) -> list[dict]:
    """The runc probes of every round (each the WINDOW starts after the first WINDOW
    operations, then the WINDOW after the last), pooled, then each round's ratio."""
    first = f"bare runc run -d, right after ops 1-{WINDOW}"
    last = f"bare runc run -d, right after ops {count - WINDOW + 1}-{count}"
    return [
        benchlib.row(group, first, [s for r in runc for s in r[:WINDOW]]),
        benchlib.row(group, last, [s for r in runc for s in r[-WINDOW:]], reference=first),
        benchlib.row(RATIOS, f"{last} over {first.split(', ')[1]}, one value per round",
                     [statistics.median(r[-WINDOW:]) / statistics.median(r[:WINDOW])
                      for r in runc], unit="x"),
    ]


def memory_row(group: str, what: str, before: int, after: int, count: int) -> dict:
    per = (after - before) / count
    return benchlib.row(group, what, [per], unit="KiB")


def fill_and_empty(d, count: int, rounds: int, make, remove, what: tuple[str, str],
                   between=None):
    """`rounds` times: make(i) for i < count, then remove(id) for each made id in order;
    `between(i)` after each make, untimed. Returns the timings of both per round and the
    daemon's VmRSS (KiB) before and after the first round's population."""
    fills: list[list[float]] = []
    empties: list[list[float]] = []
    rss: list[int] = []
    for k in range(rounds):
        ids: list[str] = []
        rss.append(rss_kib(d.proc.pid))
        fills.append(timed_ops(count, lambda i: ids.append(make(i)),
                               f"round {k + 1}/{rounds}: {what[0]}", between))
        rss.append(rss_kib(d.proc.pid))
        empties.append(timed_ops(count, lambda i: remove(ids[i]),
                                 f"round {k + 1}/{rounds}: {what[1]}"))
    return fills, empties, rss[0], rss[1]


class RuncProbe:
    """Bare `runc run -d` starts in a plain-directory bundle, each deleted after the batch.

    runc runs in a copy of the mount namespace made before the first container, as tether's
    own runc does: the daemon's namespace gains a netns pin and an overlay per container,
    and runc copies every mount of the namespace it starts in into each new container
    (bench/runcfloor.py, phase 2)."""

    def __init__(self, work: str) -> None:
        self.work, self.root, self.made = work, os.path.join(work, "runc"), 0
        runcfloor.make_rootfs(os.path.join(work, "rootfs"))
        self.keeper = runcfloor.keep_mount_namespace(work)

    def close(self) -> None:
        runcfloor.release_mount_namespace(self.work, self.keeper)

    def starts(self, n: int) -> list[float]:
        bundles = []
        for _ in range(n):
            bundles.append(runcfloor.prepare(self.work, self.made, "dir")[0])
            self.made += 1
        times = []
        for bundle in bundles:
            cid = f"probe{os.path.basename(bundle)}"
            times.append(benchlib.timed(lambda: subprocess.run(
                ["nsenter", f"--mount={self.work}/keeper-ns", "runc", "--root", self.root,
                 "run", "-d", "--bundle", bundle, cid],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                check=True)))
        runcfloor.cleanup(self.work, self.root)
        return times


def containers_phase(d, count: int, rounds: int = ROUNDS) -> list[dict]:
    group = f"scale: {count} containers on one bridge (ms, lower is better)"
    with tempfile.TemporaryDirectory(prefix="scale-runc-") as work:
        probe = RuncProbe(work)
        try:
            return _containers_phase(d, count, rounds, group, probe)
        finally:
            probe.close()


def _containers_phase(d, count: int, rounds: int, group: str, probe: RuncProbe) -> list[dict]:
    net_id = benchlib.check(d.api("POST", "/networks/create", SCALE_NET), "network").json()["Id"]
    probes: dict[str, list[list[float]]] = {"first": [], "last": []}

    def between(i: int) -> None:
        if i in (WINDOW - 1, count - 1):
            probes["first" if i == WINDOW - 1 else "last"].append(probe.starts(WINDOW))

    def run(i: int) -> str:
        body = {"Image": IMAGE, "Cmd": ["sleep", "86400"], "HostConfig": {"NetworkMode": "scale"}}
        cid = benchlib.check(d.api("POST", f"/containers/create?name=s{i}", body),
                             "container create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{cid}/start"), "container start")
        return cid

    def rm(cid: str) -> None:
        benchlib.check(d.api("DELETE", f"/containers/{cid}?force=1"), "container rm")

    starts, removes, before, after = fill_and_empty(d, count, rounds, run, rm,
                                                    ("create+start", "rm -f"), between)
    benchlib.check(d.api("DELETE", f"/networks/{net_id}"), "network rm")
    runc = [first + last for first, last in zip(probes["first"], probes["last"])]
    return [
        *window_rows(group, "create+start", starts, count),
        *runc_rows(group, runc, count),
        *window_rows(group, "rm -f (oldest first)", removes, count),
        memory_row("scale: daemon memory per object (KiB, lower is better)",
                   f"per running container ({count} on one bridge)", before, after, count),
    ]


def networks_phase(d, count: int, rounds: int = ROUNDS) -> list[dict]:
    group = f"scale: {count} networks on one host (ms, lower is better)"

    def create(i: int) -> str:
        return benchlib.check(d.api("POST", "/networks/create", {"Name": f"n{i}"}),
                              "network create").json()["Id"]

    def rm(net_id: str) -> None:
        benchlib.check(d.api("DELETE", f"/networks/{net_id}"), "network rm")

    creates, removes, before, after = fill_and_empty(d, count, rounds, create, rm,
                                                     ("network create", "network rm"))
    return [
        *window_rows(group, "network create", creates, count),
        *window_rows(group, "network rm (oldest first)", removes, count),
        memory_row("scale: daemon memory per object (KiB, lower is better)",
                   f"per network ({count} networks)", before, after, count),
    ]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--containers", type=int, default=1000)
    p.add_argument("--networks", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=ROUNDS,
                   help=f"fill-and-empty rounds per phase (default {ROUNDS})")
    p.add_argument("--quick", action="store_true", help="200 containers, 1,000 networks")
    args = p.parse_args()
    if args.quick:
        args.containers, args.networks = 200, 1000
    if any(0 < n < 2 * WINDOW for n in (args.containers, args.networks)):
        p.error(f"counts must be 0 (skip the phase) or at least {2 * WINDOW}")
    return args


def main() -> None:
    benchlib.enter_namespace()
    args = parse()
    started = time.monotonic()
    rows: list[dict] = []
    with benchlib.daemon(busybox=True) as d:
        if args.containers:
            rows += containers_phase(d, args.containers, args.rounds)
        if args.networks:
            rows += networks_phase(d, args.networks, args.rounds)
    print(f"scale: {time.monotonic() - started:.0f} s")
    benchlib.publish("scale", rows)


if __name__ == "__main__":
    main()
