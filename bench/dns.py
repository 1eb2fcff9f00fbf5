#!/usr/bin/env python3
"""Container DNS: queries per second and latency of tether's resolver, dnsmasq, aardvark-dns.

    bench/dns.py                (BENCH_ROUNDS=N to change the number of rounds)

Every subject answers the same 50 container names (A records) on its own address, port 53,
inside this benchmark's private namespace; all three run at once and take turns round by
round, so a busy moment of the machine hits them alike. The client asks from 10.89.0.2 (one
of the containers: aardvark-dns decides what an asker may see by its source address).

- tether: the daemon's own `tether.dns.server.Resolver` with a table built by
  `tether.dns.records.build` from 50 containers, served on its uvloop thread
  (`tether.dns.loop.LoopThread`) exactly as tetherd serves each container's sockets (here
  the sockets are bound in the benchmark's namespace instead of a container's).
- dnsmasq: /usr/sbin/dnsmasq with the names in an --addn-hosts file, no upstreams.
- aardvark-dns: /usr/lib/podman/aardvark-dns with one network config, as netavark writes it.

Throughput: a client keeps 100 queries outstanding for 2 s per round (a reply lets the next
query go). Latency: one query at a time, 2,000 per round; the median of each round is a sample.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import benchlib

CLIENT = "10.89.0.2"
NAMES = [f"svc{i}" for i in range(50)]
OUTSTANDING = 100
DURATION = 2.0
SEQUENTIAL = 2000
QPS = "dns: queries per second, 100 outstanding (q/s, higher is better)"
LATENCY = "dns: sequential query latency (ms, lower is better)"
TETHER, DNSMASQ, AARDVARK = "tether", "dnsmasq", "aardvark-dns"
SERVERS = {TETHER: "10.89.0.1", DNSMASQ: "10.89.0.3", AARDVARK: "10.89.0.4"}


def address(i: int) -> str:
    return str(ipaddress.ip_address("10.89.1.10") + i)


def queries() -> list[bytes]:
    out = []
    for i, name in enumerate(NAMES):
        qname = b"".join(bytes((len(p),)) + p.encode() for p in name.split(".")) + b"\x00"
        out.append(struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + qname + b"\x00\x01\x00\x01")
    return out


def client_socket(server: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((CLIENT, 0))
    s.connect((server, 53))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return s


def throughput(server: str, msgs: list[bytes]) -> float:
    """Answers per second with OUTSTANDING queries in flight (refilled after a lull)."""
    s = client_socket(server)
    s.settimeout(0.2)
    n, sent, got = len(msgs), 0, 0
    buf = bytearray(512)
    for _ in range(OUTSTANDING):
        s.send(msgs[sent % n])
        sent += 1
    start = time.perf_counter()
    end = start + DURATION
    while True:
        try:
            s.recv_into(buf)
        except socket.timeout:  # answers were lost: count them gone and refill
            if time.perf_counter() >= end:
                break
            sent = got
            for _ in range(OUTSTANDING):
                s.send(msgs[sent % n])
                sent += 1
            continue
        got += 1
        if got & 0xFF == 0 and time.perf_counter() >= end:
            break
        s.send(msgs[sent % n])
        sent += 1
    elapsed = time.perf_counter() - start
    s.close()
    return got / elapsed


def latency(server: str, msgs: list[bytes]) -> float:
    """Median milliseconds of one query answered, asked one at a time."""
    s = client_socket(server)
    s.settimeout(1.0)
    times = []
    for i in range(SEQUENTIAL):
        t = time.perf_counter()
        s.send(msgs[i % len(msgs)])
        s.recv(512)
        times.append((time.perf_counter() - t) * 1000)
    s.close()
    return statistics.median(times)


def wait_ready(server: str, msgs: list[bytes]) -> None:
    """Wait until `server` answers the first name with its address (a subject that answered
    anything else, such as REFUSED, would be measured doing less work)."""
    s = client_socket(server)
    s.settimeout(0.1)
    want = ipaddress.ip_address(address(0)).packed
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            s.send(msgs[0])
            if s.recv(512).endswith(want):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the DNS server on {server} did not answer within 10 s")


# ---- subjects: each returns a stop function -------------------------------------------------

def start_tether(tmp: Path, server: str):
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-tether",
                             server], stdin=subprocess.PIPE)
    return lambda: (proc.stdin.close(), proc.wait(timeout=10))


def start_dnsmasq(tmp: Path, server: str):
    hosts = tmp / "hosts"
    hosts.write_text("".join(f"{address(i)} {n}\n" for i, n in enumerate(NAMES)))
    proc = subprocess.Popen(["/usr/sbin/dnsmasq", "-k", "--no-resolv", "--no-hosts",
                             f"--listen-address={server}", "--bind-interfaces", "--port=53",
                             f"--addn-hosts={hosts}", "--user=root", "--pid-file=",
                             "--log-facility=/dev/null"])
    return lambda: (proc.terminate(), proc.wait(timeout=10))


def start_aardvark(tmp: Path, server: str):
    conf = tmp / "aardvark"
    conf.mkdir()
    lines = [server, f"{'c' * 64} {CLIENT}  client"]
    lines += [f"{i:064x} {address(i)}  {n}" for i, n in enumerate(NAMES)]
    (conf / "benchnet").write_text("\n".join(lines) + "\n")
    subprocess.run(["/usr/lib/podman/aardvark-dns", "--config", str(conf), "-p", "53", "run"],
                   check=True, stderr=subprocess.DEVNULL)  # it daemonizes, leaving a pid file

    def stop() -> None:
        pid = int((conf / "aardvark.pid").read_text())
        os.kill(pid, signal.SIGKILL)
    return stop


def serve_tether(server: str) -> None:
    """The tether subject (a child process): tetherd's resolver code on a table of NAMES."""
    import asyncio

    from tether.dns import records
    from tether.dns.forward import Forwarder, HostServers
    from tether.dns.loop import LoopThread
    from tether.dns.server import Resolver
    from tether.model import Container, ContainerSpec, Endpoint, Network

    net = Network(id="n" * 64, name="benchnet", driver="bridge", created="")

    def container(cid: str, name: str, ip: str) -> Container:
        ep = Endpoint(id="e" + cid, network_id=net.id, container_id=cid, ifname="eth0", mac="",
                      ipv4=ipaddress.ip_interface(ip + "/16"))
        return Container(id=cid, name=name, created="", spec=ContainerSpec(image="x"),
                         image_id="", path="", args=(), env=(), hostname=cid[:12],
                         endpoints={net.id: ep})

    live = [container(f"{i:064x}", n, address(i)) for i, n in enumerate(NAMES)]
    asker = container("c" * 64, "client", CLIENT)
    resolver = Resolver(Forwarder(HostServers("/nonexistent")))
    resolver.table = records.build([*live, asker], {net.id: net})
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for s in (udp, tcp):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((server, 53))
        s.setblocking(False)
    tcp.listen(128)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    thread = LoopThread()

    async def main() -> None:
        await thread.call(resolver.serve(asker.id, udp, tcp))
        await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes our stdin
        await thread.call(resolver.close())

    asyncio.run(main())
    thread.stop()


SUBJECTS = {TETHER: start_tether, DNSMASQ: start_dnsmasq, AARDVARK: start_aardvark}


def main() -> None:
    if sys.argv[1:2] == ["--serve-tether"]:
        serve_tether(sys.argv[2])
        return
    benchlib.enter_namespace()
    for ip in (CLIENT, *SERVERS.values()):
        subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], check=True)
    n = benchlib.rounds(5)
    msgs = queries()
    qps: dict[str, list[float]] = {s: [] for s in SUBJECTS}
    lat: dict[str, list[float]] = {s: [] for s in SUBJECTS}
    with tempfile.TemporaryDirectory(prefix="tether-dns-") as tmp, ExitStack() as stack:
        for subject, start in SUBJECTS.items():
            work = Path(tmp) / subject
            work.mkdir()
            stack.callback(start(work, SERVERS[subject]))
            wait_ready(SERVERS[subject], msgs)
            throughput(SERVERS[subject], msgs)  # warm-up
        for _ in range(n):
            for subject in SUBJECTS:
                qps[subject].append(throughput(SERVERS[subject], msgs))
                lat[subject].append(latency(SERVERS[subject], msgs))
    rows = [benchlib.row(QPS, s, v, unit="q/s", reference=AARDVARK) for s, v in qps.items()]
    rows += [benchlib.row(LATENCY, s, v, reference=AARDVARK) for s, v in lat.items()]
    benchlib.publish("dns", rows)


if __name__ == "__main__":
    main()
