#!/usr/bin/env python3
"""Published ports: throughput (iperf3) and connections/s (wrk) through the published port
(nftables DNAT), directly to the container, and through a socat userland proxy; and the time
`docker run -d` takes publishing 1, 100 and 1,000 ports (one nft transaction each)."""

from __future__ import annotations

import json
import re
import subprocess
import time

import benchlib

DOCKER = "/usr/local/bin/docker"
TPUT, CONNS, START = ("throughput (higher is better)", "connections/s (higher is better)",
                      "docker run -d publishing N ports")
PUB, DIRECT, SOCAT = "published port (nft DNAT)", "direct to container", "socat proxy"


def docker(d, *args: str) -> str:
    return subprocess.run([DOCKER, *args], env=d.env, check=True, capture_output=True,
                          text=True).stdout.strip()


def wait_port(host: str, port: int) -> None:
    for _ in range(100):
        if subprocess.run(["busybox", "nc", "-z", "-w", "1", host, str(port)]).returncode == 0:
            return
        time.sleep(0.05)


def targets(d) -> tuple[str, dict[str, tuple[str, int]], list[subprocess.Popen]]:
    docker(d, "run", "-d", "--name", "srv", "-p", "8080:80", "-p", "5201:5201",
           "busybox:local", "sleep", "3600")
    ns = docker(d, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", "srv")
    ip = docker(d, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "srv")
    enter = ["nsenter", f"--net={ns}"]
    subprocess.run([*enter, "sh", "-c", "mkdir -p /tmp/benchwww && echo ok > "
                    "/tmp/benchwww/index.html"], check=True)
    procs = [subprocess.Popen([*enter, "busybox", "httpd", "-f", "-p", "80", "-h",
                               "/tmp/benchwww"]),
             subprocess.Popen([*enter, "iperf3", "-s", "-p", "5201"],
                              stdout=subprocess.DEVNULL),
             subprocess.Popen(["socat", "TCP-LISTEN:9080,fork,reuseaddr", f"TCP:{ip}:80"]),
             subprocess.Popen(["socat", "TCP-LISTEN:9201,fork,reuseaddr", f"TCP:{ip}:5201"])]
    for host, port in ((ip, 80), (ip, 5201), ("127.0.0.1", 9080), ("127.0.0.1", 9201)):
        wait_port(host, port)
    subjects = {PUB: ("127.0.0.1", 0), DIRECT: (ip, 1), SOCAT: ("127.0.0.1", 2)}
    return ip, subjects, procs


HTTP_PORTS, IPERF_PORTS = (8080, 80, 9080), (5201, 5201, 9201)


def conns(host: str, port: int) -> float:
    out = subprocess.run(["wrk", "-t1", "-c8", "-d2s", "-H", "Connection: close",
                          f"http://{host}:{port}/"], capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def tput(host: str, port: int) -> float:
    out = subprocess.run(["iperf3", "-c", host, "-p", str(port), "-t", "2", "-J"],
                         capture_output=True, text=True).stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def start_times(d, n: int) -> list[dict]:
    rows = []
    for count in (1, 100, 1000):
        spec = f"{30000}-{30000 + count - 1}:{30000}-{30000 + count - 1}" if count > 1 \
            else "30000:30000"

        samples = []
        for _ in range(n):
            t = time.perf_counter()
            cid = docker(d, "run", "-d", "-p", spec, "busybox:local", "sleep", "600")
            samples.append((time.perf_counter() - t) * 1000)
            docker(d, "rm", "-f", cid)
        rows.append(benchlib.row(START, f"{count} port(s)", samples, "ms", "1 port(s)"))
    return rows


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(5)
    with benchlib.daemon(busybox=True) as d:
        ip, subjects, procs = targets(d)
        try:
            rows = []
            for name, (host, idx) in subjects.items():
                rows.append(benchlib.row(CONNS, name, [conns(host, HTTP_PORTS[idx])
                                                       for _ in range(n)], "conn/s", DIRECT))
                rows.append(benchlib.row(TPUT, name, [tput(host, IPERF_PORTS[idx])
                                                      for _ in range(n)], "Gbit/s", DIRECT))
        finally:
            for p in procs:
                p.kill()
                p.wait()
        docker(d, "rm", "-f", "srv")
        rows += start_times(d, n)
    benchlib.publish("ports", rows)


if __name__ == "__main__":
    main()
