#!/usr/bin/env python3
"""Interactive containers: what each container holds outside itself, and foreground `run` time.

    bench/interactive.py        (BENCH_ROUNDS=N to change the number of containers/rounds)

- memory per container: the resident set (VmRSS) of the processes that follow a container,
  with N containers (`sleep` in busybox) running at once. Without a TTY that is the one
  container monitor for all of them (runtime/monitor.py), divided by N; with a TTY, each
  container's own Python pty shim (runc itself exits once the container runs, in both).
- foreground run: wall time of `docker run --rm busybox true` (the unmodified docker CLI:
  create, attach, start, wait, remove) without and with -t, and of `tether run --rm`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import benchlib

MEMORY = "interactive: memory outside the container (MiB RSS per container, lower is better)"
RUN = "interactive: foreground run --rm true (ms, lower is better)"
PTY = "TTY: its own pty shim"
DOCKER = "/usr/local/bin/docker"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def held_rss(d, tty: bool, n: int) -> list[float]:
    """Per container: its pty shim, or its share of the monitor (one sample)."""
    ids = []
    for _ in range(n):
        body = {"Image": "busybox:local", "Cmd": ["sleep", "600"], "Tty": tty,
                "OpenStdin": tty}
        cid = benchlib.check(d.api("POST", "/containers/create", body), "create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{cid}/start"), "start")
        ids.append(cid)
    try:
        if not tty:
            init = int((d.data_root / "containers" / ids[0] / "init.pid").read_text())
            monitor = int(Path(f"/proc/{init}/status").read_text().split("PPid:")[1].split()[0])
            return [rss_mib(monitor) / n]
        pids = [int((d.data_root / "containers" / cid / "shim.pid").read_text()) for cid in ids]
        return [rss_mib(pid) for pid in pids]
    finally:
        for cid in ids:
            d.api("DELETE", f"/containers/{cid}?force=1")


def run_times(d, n: int) -> list[dict]:
    tether = str(benchlib.REPO / ".venv" / "bin" / "tether")
    subjects = {"docker CLI": [DOCKER, "run", "--rm"], "docker CLI -t": [DOCKER, "run", "-t", "--rm"],
                "tether CLI": [tether, "run", "--rm"]}
    rows = []
    for name, argv in subjects.items():
        cmd = [*argv, "busybox:local", "true"]
        samples = benchlib.sample(
            lambda: subprocess.run(cmd, env=d.env, check=True, capture_output=True), n)
        rows.append(benchlib.row(RUN, name, samples, reference="docker CLI"))
    return rows


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(10)
    with benchlib.daemon(busybox=True) as d:
        shared = f"no TTY: the shared monitor / {n}"
        rows = [benchlib.row(MEMORY, shared, held_rss(d, False, n), "MiB", shared),
                benchlib.row(MEMORY, PTY, held_rss(d, True, n), "MiB", shared)]
        rows += run_times(d, n)
    benchlib.publish("interactive", rows)


if __name__ == "__main__":
    main()
