#!/usr/bin/env python3
"""Scale: does the 1,000th container or the 10,000th network cost what the 10th did?

    bench/scale.py                       1,000 containers on one bridge, 10,000 networks
    bench/scale.py --quick               200 containers, 1,000 networks (a smoke run)
    bench/scale.py --containers N --networks M     (0 skips a phase)

Everything goes through the Engine API of one fresh tetherd, one request per connection as the
docker CLI makes them. Containers: busybox `sleep` on one user-defined bridge network, created
and started one after the other, then force-removed in the same order. Networks: bridges with
no containers, created then removed. For each phase the table compares the median of the
first 20 operations (the reference) with the median of the last 20, so a ratio near 1 means
the operation does not grow with what already exists (target: at most 1.2). The daemon's
memory is its resident set (VmRSS) before and after each population, per object.
"""

from __future__ import annotations

import argparse
import statistics
import time

import benchlib

WINDOW = 20
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


def timed_ops(n: int, op, progress: str) -> list[float]:
    """Run op(i) for i in range(n), returning each call's milliseconds."""
    samples = []
    for i in range(n):
        samples.append(benchlib.timed(lambda: op(i)))
        if (i + 1) % max(1, n // 10) == 0:
            print(f"  {progress}: {i + 1}/{n}, last {WINDOW} median "
                  f"{statistics.median(samples[-WINDOW:]):.1f} ms", flush=True)
    return samples


def window_rows(group: str, what: str, samples: list[float], count: int) -> list[dict]:
    """The first and last WINDOW operations of a phase, the first being the reference."""
    first = f"{what}: ops 1-{WINDOW}"
    return [
        benchlib.row(group, first, samples[:WINDOW]),
        benchlib.row(group, f"{what}: ops {count - WINDOW + 1}-{count}", samples[-WINDOW:],
                     reference=first),
        benchlib.row(group, f"{what}: all {count}", samples, reference=first),
    ]


def memory_row(group: str, what: str, before: int, after: int, count: int) -> dict:
    per = (after - before) / count
    return benchlib.row(group, what, [per], unit="KiB")


def containers_phase(d, count: int) -> list[dict]:
    group = f"scale: {count} containers on one bridge (ms, lower is better)"
    net_id = benchlib.check(d.api("POST", "/networks/create", SCALE_NET), "network").json()["Id"]
    ids: list[str] = []

    def run(i: int) -> None:
        body = {"Image": IMAGE, "Cmd": ["sleep", "86400"],
                "HostConfig": {"NetworkMode": "scale"}}
        cid = benchlib.check(d.api("POST", f"/containers/create?name=s{i}", body),
                             "container create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{cid}/start"), "container start")
        ids.append(cid)

    before = rss_kib(d.proc.pid)
    starts = timed_ops(count, run, "create+start")
    after = rss_kib(d.proc.pid)
    removes = timed_ops(count, lambda i: benchlib.check(
        d.api("DELETE", f"/containers/{ids[i]}?force=1"), "container rm"), "rm -f")
    benchlib.check(d.api("DELETE", f"/networks/{net_id}"), "network rm")
    return [
        *window_rows(group, "create+start", starts, count),
        *window_rows(group, "rm -f (oldest first)", removes, count),
        memory_row("scale: daemon memory per object (KiB, lower is better)",
                   f"per running container ({count} on one bridge)", before, after, count),
    ]


def networks_phase(d, count: int) -> list[dict]:
    group = f"scale: {count} networks on one host (ms, lower is better)"
    ids: list[str] = []

    def create(i: int) -> None:
        ids.append(benchlib.check(d.api("POST", "/networks/create", {"Name": f"n{i}"}),
                                  "network create").json()["Id"])

    before = rss_kib(d.proc.pid)
    creates = timed_ops(count, create, "network create")
    after = rss_kib(d.proc.pid)
    removes = timed_ops(count, lambda i: benchlib.check(
        d.api("DELETE", f"/networks/{ids[i]}"), "network rm"), "network rm")
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
            rows += containers_phase(d, args.containers)
        if args.networks:
            rows += networks_phase(d, args.networks)
    print(f"scale: {time.monotonic() - started:.0f} s")
    benchlib.publish("scale", rows)


if __name__ == "__main__":
    main()
