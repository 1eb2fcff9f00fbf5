#!/usr/bin/env python3
"""Seeing the network: how fast events arrive, and what the topology views cost.

    bench/netview.py            (BENCH_ROUNDS=N to change the number of runs)

Events: a docker-py `events()` stream is open while networks are created and removed
through the API; a sample is the time from the event's own timestamp (taken by tetherd when
it publishes it, same host clock) to the client's reading of it. Views: one tetherd with 30
running containers on 4 networks (a hub on two); `GET /tether/topology` is the daemon's
snapshot, the CLI rows are whole processes, compared with `tether network ls` (the CLI's
start-up floor against the same daemon).
"""

from __future__ import annotations

import subprocess
import time

import benchlib

EVENTS = "events: delivery, timeNano to client read (ms, lower is better)"
VIEWS = "topology views, 30 containers on 4 networks (ms, lower is better)"
FLOOR = "tether network ls (CLI floor)"


def event_latency(d, n: int) -> list[float]:
    import docker

    client = docker.DockerClient(base_url=d.url)
    stream = client.events(decode=True, filters={"type": "network", "event": "create"})
    samples = []
    try:
        for i in range(n + 1):
            benchlib.check(d.api("POST", "/networks/create", {"Name": f"ev{i}"}), "create")
            event = next(stream)
            samples.append((time.time_ns() - event["timeNano"]) / 1e6)
            benchlib.check(d.api("DELETE", f"/networks/ev{i}"), "rm")
    finally:
        stream.close()
        client.close()
    return samples[1:]  # the first read includes the stream's set-up


def populate(d) -> None:
    for net in ("front", "back", "jobs", "ops"):
        benchlib.check(d.api("POST", "/networks/create", {"Name": net}), net)
    for i in range(30):
        net = ("front", "back", "jobs", "ops")[i % 4]
        subprocess.run(["docker", "run", "-d", "--name", f"c{i}", "--network", net,
                        "busybox:local", "httpd", "-f", "-p", "80"], env=d.env, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["docker", "network", "connect", "back", "c0"], env=d.env, check=True)


def cli_times(d, args: list[str], n: int) -> list[float]:
    tether = str(benchlib.REPO / ".venv" / "bin" / "tether")

    def once() -> None:
        r = subprocess.run([tether, *args], env=d.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"tether {' '.join(args)}: {r.stderr!r}")
    return benchlib.sample(once, n, warmup=1)


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(20)
    rows = []
    with benchlib.daemon(busybox=True) as d:
        rows.append(benchlib.row(EVENTS, "/events to docker-py (network create)",
                                 event_latency(d, n)))
        try:
            populate(d)
            rows += view_rows(d, n)
        finally:
            subprocess.run(["docker", "rm", "-f", *(f"c{i}" for i in range(30))], env=d.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    benchlib.publish("netview", rows)


def view_rows(d, n: int) -> list[dict]:
    rows = [benchlib.row(VIEWS, "GET /tether/topology (API only)", benchlib.sample(
        lambda: benchlib.check(d.api("GET", "/tether/topology"), "topology"), n),
        reference=FLOOR), benchlib.row(VIEWS, FLOOR, cli_times(d, ["network", "ls"], n))]
    for subject, args in (
            ("tether network graph --format json", ["network", "graph", "--format", "json"]),
            ("tether network graph --format svg (graphviz)",
             ["network", "graph", "--format", "svg"]),
            ("tether network why c1 c0", ["network", "why", "c1", "c0"]),
            ("tether network why --probe --port 80 c1 c0",
             ["network", "why", "--probe", "--port", "80", "c1", "c0"])):
        rows.append(benchlib.row(VIEWS, subject, cli_times(d, args, n), reference=FLOOR))
    return rows


if __name__ == "__main__":
    main()
