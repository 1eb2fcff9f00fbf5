#!/usr/bin/env python3
"""Overlay throughput: iperf3 between containers on two simulated hosts over VXLAN, against
iperf3 between the two hosts directly on the underlay, in the same run; and what the cluster
store costs a container start (`docker run -d` + `rm -f` on an overlay vs a local bridge).

Two network namespaces ("hosts") joined by an underlay bridge, etcd in a third, one tetherd
per host with --cluster-store; a container on each host on one overlay network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import benchlib

DOCKER = "/usr/local/bin/docker"
GROUP = "throughput between two hosts (higher is better)"
UNDERLAY, OVERLAY = "underlay, host to host", "overlay, container to container (VXLAN)"
START = "docker run -d + rm -f on one host"
ETCD_IP, HOST_IPS = "10.88.0.100", ("10.88.0.11", "10.88.0.12")


def sh(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True, capture_output=True)


def node(name: str, address: str) -> str:
    sh(f"ip netns add {name} && ip link add ul-{name} type veth peer name eth0 netns {name}")
    sh(f"ip link set ul-{name} master ul0 up && ip -n {name} addr add {address}/24 dev eth0")
    sh(f"ip -n {name} link set eth0 up && ip -n {name} link set lo up")
    return f"/run/netns/{name}"


def start_etcd(root: Path) -> subprocess.Popen:
    url = f"http://{ETCD_IP}:2379"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", "etcd", shutil.which("etcd") or "/usr/bin/etcd",
         "--data-dir", str(root / "etcd"), "--listen-client-urls", url,
         "--advertise-client-urls", url, "--listen-peer-urls", f"http://{ETCD_IP}:2380",
         "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:
                if b'"true"' in resp.read():
                    return proc
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("etcd did not start")


def docker(d, *args: str) -> str:
    return subprocess.run([DOCKER, *args], env=d.env, check=True, capture_output=True,
                          text=True).stdout.strip()


def iperf(client_ns: str, server_ns: str, server_ip: str) -> float:
    server = subprocess.Popen(["nsenter", f"--net={server_ns}", "iperf3", "-s", "-1"],
                              stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            r = subprocess.run(["nsenter", f"--net={client_ns}", "iperf3", "-c", server_ip,
                                "-t", "2", "-J"], capture_output=True, text=True)
            result = json.loads(r.stdout or "{}")
            if r.returncode == 0 and "sum_received" in result.get("end", {}):
                return result["end"]["sum_received"]["bits_per_second"] / 1e9
            time.sleep(0.05)
        raise RuntimeError(f"iperf3 to {server_ip} failed: {r.stdout[-500:]}")
    finally:
        server.kill()
        server.wait()


def start_daemons(root: Path, hosts: list[str], daemons: list) -> None:
    """One tetherd per host on the cluster store, busybox imported, the overlay `bench`."""
    for i, ns in enumerate(hosts):
        d = benchlib.tetherlab.Daemon(
            root / f"h{i}", netns=ns, log_level="warning",
            extra_args=("--cluster-store", f"etcd://{ETCD_IP}:2379",
                        "--cluster-advertise", "eth0"))
        daemons.append(d.start())
        d.import_busybox(root / f"h{i}")
    docker(daemons[0], "network", "create", "-d", "overlay", "bench")
    docker(daemons[0], "network", "create", "local")
    for d in daemons:
        for _ in range(100):
            if d.api("GET", "/networks/bench").status == 200:
                break
            time.sleep(0.05)


def throughput(daemons: list, hosts: list[str], n: int) -> list[dict]:
    for i, d in enumerate(daemons):
        docker(d, "run", "-d", "--name", f"c{i}", "--network", "bench", "busybox:local",
               "sleep", "3600")
    sandboxes = [docker(d, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", f"c{i}")
                 for i, d in enumerate(daemons)]
    target = docker(daemons[1], "inspect", "-f",
                    "{{.NetworkSettings.Networks.bench.IPAddress}}", "c1")
    under, over = [], []
    for _ in range(n):
        under.append(iperf(hosts[0], hosts[1], HOST_IPS[1]))
        over.append(iperf(sandboxes[0], sandboxes[1], target))
    return [benchlib.row(GROUP, UNDERLAY, under, "Gbit/s", UNDERLAY),
            benchlib.row(GROUP, OVERLAY, over, "Gbit/s", UNDERLAY)]


def start_times(d, n: int) -> list[dict]:
    """`docker run -d` on the overlay (addresses and endpoint in etcd) vs a local bridge."""
    rows = []
    for net, subject in (("local", "local bridge network"), ("bench", "overlay network")):
        def once(net=net):
            docker(d, "rm", "-f", docker(d, "run", "-d", "--network", net, "busybox:local",
                                         "sleep", "600"))
        rows.append(benchlib.row(START, subject, benchlib.sample(once, n), "ms",
                                 "local bridge network"))
    return rows


def cleanup(daemons: list) -> None:
    for i, d in enumerate(daemons):
        subprocess.run([DOCKER, "rm", "-f", f"c{i}"], env=d.env, capture_output=True)
    for net in ("bench", "local"):
        if daemons:
            subprocess.run([DOCKER, "network", "rm", net], env=daemons[0].env,
                           capture_output=True)
    for d in daemons:
        d.stop()


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(5)
    sh("ip link add ul0 type bridge && ip link set ul0 up && ip addr add 10.88.0.1/24 dev ul0")
    node("etcd", ETCD_IP)
    hosts = [node(f"h{i}", ip) for i, ip in enumerate(HOST_IPS)]
    with tempfile.TemporaryDirectory(prefix="tether-bench-overlay-") as tmp:
        etcd = start_etcd(Path(tmp))
        daemons: list = []
        try:
            start_daemons(Path(tmp), hosts, daemons)
            rows = throughput(daemons, hosts, n) + start_times(daemons[0], n * 2)
        finally:
            cleanup(daemons)
            etcd.kill()
            etcd.wait()
    benchlib.publish("overlay", rows)


if __name__ == "__main__":
    main()
