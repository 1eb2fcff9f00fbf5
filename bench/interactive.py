#!/usr/bin/env python3
"""Interactive containers: the memory of each container's shim, and foreground `run` time.

    bench/interactive.py        (BENCH_ROUNDS=N to change the number of containers/rounds)

- shim memory: the resident set (VmRSS) of the per-container shim, for containers without a
  TTY (the /bin/sh shim around `runc run`) and with one (the Python pty shim that holds the
  terminal master); N of each run at once, `sleep` in busybox.
- foreground run: wall time of `docker run --rm busybox true` (the unmodified docker CLI:
  create, attach, start, wait, remove) without and with -t, and of `tether run --rm`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import benchlib

MEMORY = "interactive: shim memory (MiB RSS per container, lower is better)"
RUN = "interactive: foreground run --rm true (ms, lower is better)"
SH, PTY = "sh shim (no TTY)", "pty shim (TTY, Python)"
DOCKER = "/usr/local/bin/docker"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def shim_rss(d, tty: bool, n: int) -> list[float]:
    ids = []
    for _ in range(n):
        body = {"Image": "busybox:local", "Cmd": ["sleep", "600"], "Tty": tty,
                "OpenStdin": tty}
        cid = benchlib.check(d.api("POST", "/containers/create", body), "create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{cid}/start"), "start")
        ids.append(cid)
    try:
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
        rows = [benchlib.row(MEMORY, SH, shim_rss(d, False, n), "MiB", SH),
                benchlib.row(MEMORY, PTY, shim_rss(d, True, n), "MiB", SH)]
        rows += run_times(d, n)
    benchlib.publish("interactive", rows)


if __name__ == "__main__":
    main()
