#!/usr/bin/env python3
"""Compose projects: `tether compose` against docker-compose 1.29.2, both against one tetherd.

    bench/compose.py            (BENCH_ROUNDS=N to change the number of runs)

The project is the transcripts' demo (4 services, 3 networks, a static address, IPv6, a
link, a published port). Each sample is one whole client process: `up -d` from nothing,
`up -d` with nothing changed (reads state, hashes, prints up-to-date), `down`. The daemon's
work is the same for both clients; the difference is the client.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import benchlib

DOCKER_COMPOSE = "/usr/bin/docker-compose"
REF = "docker-compose 1.29.2"
GROUPS = {"up": "compose up -d, 4 services and 3 networks from nothing (ms, lower is better)",
          "noop": "compose up -d, nothing changed (ms, lower is better)",
          "down": "compose down, 4 services and 3 networks (ms, lower is better)"}
HTTPD = "httpd -f -p 80 -h /var/www"
FILE = f"""\
services:
  proxy: {{image: busybox:local, command: {HTTPD}, networks: [front], ports: ["8088:80"],
          stop_grace_period: 0s}}
  app:
    image: busybox:local
    command: {HTTPD}
    stop_grace_period: 0s
    links: ["db:database"]
    networks:
      front: {{ipv4_address: 172.16.238.10, ipv6_address: "2001:db8:3989::10"}}
      back: {{}}
  db: {{image: busybox:local, command: {HTTPD}, networks: [back], stop_grace_period: 0s}}
  web: {{image: busybox:local, command: {HTTPD}, stop_grace_period: 0s}}
networks:
  front:
    enable_ipv6: true
    ipam:
      config: [{{subnet: 172.16.238.0/24}}, {{subnet: "2001:db8:3989::/64"}}]
  back: {{}}
"""


def cycle(d, argv: list[str], n: int) -> dict[str, list[float]]:
    """n rounds of up, up again, down; each timed as a whole process."""
    def call(*args: str) -> None:
        subprocess.run([*argv, *args], env=d.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
    times: dict[str, list[float]] = {"up": [], "noop": [], "down": []}
    for _ in range(n + 1):  # the first round warms caches and is dropped
        for key, args in (("up", ("up", "-d")), ("noop", ("up", "-d")), ("down", ("down",))):
            times[key].append(benchlib.timed(lambda: call(*args)))
    return {k: v[1:] for k, v in times.items()}


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(5)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, benchlib.daemon(busybox=True) as d:
        path = Path(tmp) / "docker-compose.yml"
        path.write_text(FILE)
        tether = str(benchlib.REPO / ".venv" / "bin" / "tether")
        ours = cycle(d, [tether, "compose", "-f", str(path), "-p", "bench"], n)
        theirs = None
        if shutil.which(DOCKER_COMPOSE):
            theirs = cycle(d, [DOCKER_COMPOSE, "-f", str(path), "-p", "bench"], n)
        for key, group in GROUPS.items():
            if theirs:
                rows.append(benchlib.row(group, REF, theirs[key]))
            rows.append(benchlib.row(group, "tether compose", ours[key],
                                     reference=REF if theirs else None))
    benchlib.publish("compose", rows)


if __name__ == "__main__":
    main()
