#!/usr/bin/env python3
"""CLI start-up: `tether network ls` against `docker network ls`, both against one tetherd.

    bench/cli.py                (BENCH_ROUNDS=N to change the number of runs)

Each sample is one whole process run, start to exit, as a script in a loop would see it.
tether's bytecode is compiled first (benchlib.enter_namespace), as an installed package has
it. The bare interpreter start of the same venv is shown as the floor of any Python CLI.
"""

from __future__ import annotations

import shutil
import subprocess

import benchlib

GROUP = "CLI start-up, whole process (ms, lower is better)"
DOCKER = "docker network ls"


def run_times(d, argv: list[str], n: int) -> list[float]:
    def once() -> None:
        subprocess.run(argv, env=d.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
    return benchlib.sample(once, n, warmup=2)


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(40)
    python = str(benchlib.REPO / ".venv" / "bin" / "python")
    rows = []
    with benchlib.daemon() as d:
        docker = shutil.which("docker")
        if docker:
            rows.append(benchlib.row(GROUP, DOCKER, run_times(d, [docker, "network", "ls"], n)))
        ref = DOCKER if docker else None
        tether = str(benchlib.REPO / ".venv" / "bin" / "tether")
        rows.append(benchlib.row(GROUP, "tether network ls",
                                 run_times(d, [tether, "network", "ls"], n), reference=ref))
        rows.append(benchlib.row(GROUP, "python -c pass (venv interpreter floor)",
                                 run_times(d, [python, "-c", "pass"], n), reference=ref))
    benchlib.publish("cli", rows)


if __name__ == "__main__":
    main()
