#!/usr/bin/env python3
"""Whole-container cost: `run -d` + `rm -f` of a busybox container on the default bridge.

    bench/container.py          (BENCH_ROUNDS=N to change the number of rounds)

Three clients against the same tetherd: tether's CLI, the docker CLI, and docker-py
(containers.create + start, then remove(force=True), on one kept-alive client). Each sample
is one container: created, started (runc, sandbox, veth, addresses, firewall, DNS files) and
force-removed. The CLI figures include the client process start (see bench/cli.py).
"""

from __future__ import annotations

import shutil
import subprocess

import benchlib

GROUP = "container run -d + rm -f (ms, lower is better)"
IMAGE = "busybox:local"
TETHER_CLI = "tether run -d + rm -f (CLI)"


def cli_round(d, argv0: str) -> tuple[float, float]:
    """(run, rm) milliseconds of one container through a CLI."""
    out: list[str] = []

    def run() -> None:
        r = subprocess.run([argv0, "run", "-d", IMAGE, "sleep", "600"], env=d.env,
                           capture_output=True, text=True, check=True)
        out.append(r.stdout.strip())

    t_run = benchlib.timed(run)
    t_rm = benchlib.timed(lambda: subprocess.run([argv0, "rm", "-f", out[0]], env=d.env,
                                                 capture_output=True, check=True))
    return t_run, t_rm


def dockerpy_round(client) -> tuple[float, float]:
    box: list = []

    def run() -> None:
        c = client.containers.create(IMAGE, "sleep 600")
        c.start()
        box.append(c)

    t_run = benchlib.timed(run)
    t_rm = benchlib.timed(lambda: box[0].remove(force=True))
    return t_run, t_rm


def rows_for(name: str, rounds: list[tuple[float, float]], ref: str | None) -> list[dict]:
    rounds = rounds[1:]  # the first container warms caches up
    return [
        benchlib.row(GROUP, name, [a + b for a, b in rounds], reference=ref),
        benchlib.row(GROUP, f"{name}: run", [a for a, _ in rounds]),
        benchlib.row(GROUP, f"{name}: rm", [b for _, b in rounds]),
    ]


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(15)
    tether = str(benchlib.REPO / ".venv" / "bin" / "tether")
    rows = []
    with benchlib.daemon(busybox=True) as d:
        rows += rows_for(TETHER_CLI, [cli_round(d, tether) for _ in range(n + 1)], None)
        docker = shutil.which("docker")
        if docker:
            rows += rows_for("docker CLI -> tetherd", [cli_round(d, docker) for _ in range(n + 1)],
                             TETHER_CLI)
        try:
            import docker as dockerpy
        except ImportError:
            dockerpy = None
        if dockerpy is not None:
            client = dockerpy.DockerClient(base_url=d.url)
            try:
                rows += rows_for("docker-py create+start / remove -> tetherd",
                                 [dockerpy_round(client) for _ in range(n + 1)], TETHER_CLI)
            finally:
                client.close()
    benchlib.publish("container", rows)


if __name__ == "__main__":
    main()
