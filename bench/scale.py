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
(target: at most 1.2). The daemon's memory is its resident set (VmRSS) before and after the
first round's population, per object.
"""

from __future__ import annotations

import argparse
import statistics
import time

import benchlib

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


def timed_ops(n: int, op, progress: str) -> list[float]:
    """Run op(i) for i in range(n), returning each call's milliseconds."""
    samples = []
    for i in range(n):
        samples.append(benchlib.timed(lambda: op(i)))
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


def memory_row(group: str, what: str, before: int, after: int, count: int) -> dict:
    per = (after - before) / count
    return benchlib.row(group, what, [per], unit="KiB")


def fill_and_empty(d, count: int, rounds: int, make, remove, what: tuple[str, str]):
    """`rounds` times: make(i) for i < count, then remove(id) for each made id in order.
    Returns the timings of both per round and the daemon's VmRSS (KiB) before and after
    the first round's population."""
    fills: list[list[float]] = []
    empties: list[list[float]] = []
    rss: list[int] = []
    for k in range(rounds):
        ids: list[str] = []
        rss.append(rss_kib(d.proc.pid))
        fills.append(timed_ops(count, lambda i: ids.append(make(i)),
                               f"round {k + 1}/{rounds}: {what[0]}"))
        rss.append(rss_kib(d.proc.pid))
        empties.append(timed_ops(count, lambda i: remove(ids[i]),
                                 f"round {k + 1}/{rounds}: {what[1]}"))
    return fills, empties, rss[0], rss[1]


def containers_phase(d, count: int, rounds: int = ROUNDS) -> list[dict]:
    group = f"scale: {count} containers on one bridge (ms, lower is better)"
    net_id = benchlib.check(d.api("POST", "/networks/create", SCALE_NET), "network").json()["Id"]

    def run(i: int) -> str:
        body = {"Image": IMAGE, "Cmd": ["sleep", "86400"], "HostConfig": {"NetworkMode": "scale"}}
        cid = benchlib.check(d.api("POST", f"/containers/create?name=s{i}", body),
                             "container create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{cid}/start"), "container start")
        return cid

    def rm(cid: str) -> None:
        benchlib.check(d.api("DELETE", f"/containers/{cid}?force=1"), "container rm")

    starts, removes, before, after = fill_and_empty(d, count, rounds, run, rm,
                                                    ("create+start", "rm -f"))
    benchlib.check(d.api("DELETE", f"/networks/{net_id}"), "network rm")
    return [
        *window_rows(group, "create+start", starts, count),
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
