"""Real-packet reachability probes (ICMP, TCP, UDP) between network namespaces.

A server in the target's namespace answers TCP on 7000 and UDP on 7001; a probe from the
source's namespace (the host's own when None) sends one exchange. Used by the isolation
matrices of the local drivers and of overlays.
"""

from __future__ import annotations

import subprocess
import sys

PROTOS = ("icmp", "tcp", "udp")
SERVER = """
import socket, threading
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 7000)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(b"pong"); c.close()
threading.Thread(target=tcp, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 7001))
print("ready", flush=True)
while True:
    d, peer = u.recvfrom(100); u.sendto(b"pong", peer)
"""
PROBE = """
import socket, sys
ip, proto = sys.argv[1], sys.argv[2]
try:
    if proto == "tcp":
        s = socket.create_connection((ip, 7000), timeout=1.5); ok = s.recv(4) == b"pong"
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
        s.sendto(b"ping", (ip, 7001)); ok = s.recv(4) == b"pong"
except OSError:
    ok = False
sys.exit(0 if ok else 1)
"""


def start_server(netns: str) -> subprocess.Popen:
    p = subprocess.Popen(["nsenter", f"--net={netns}", sys.executable, "-c", SERVER],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def probe(netns: str | None, ip: str, proto: str) -> bool:
    prefix = ["nsenter", f"--net={netns}"] if netns else []
    if proto == "icmp":
        argv = [*prefix, "ping", "-c1", "-W1", ip]
    else:
        argv = [*prefix, sys.executable, "-c", PROBE, ip, proto]
    return subprocess.run(argv, capture_output=True, timeout=20).returncode == 0


# ---- overlays: two hosts of a test cluster ----------------------------------------------------

OVERLAY_LAYOUT = {"x1": (0, "ovx"), "x2": (1, "ovx"), "y2": (1, "ovy"), "b1": (0, "lbr")}
OVERLAY_REACH = {("x1", "x2"), ("x2", "x1")}
# subnets of their own: a docker_gwbridge on the other host must not hold the same address
# as a target (it would answer, and prove nothing)
OVERLAY_NETS = (("ovx", "overlay", "10.98.1.0/24"), ("ovy", "overlay", "10.98.2.0/24"),
                ("lbr", "bridge", "10.98.3.0/24"))


def spoof_set(d, name: str) -> str:
    """The listing of an anti-spoofing set in daemon `d`'s network namespace."""
    import crashcheck

    out = subprocess.run([*d.prefix(), "nft", "list", "set", "bridge", crashcheck.table_of(d),
                          name], capture_output=True, text=True)
    return out.stdout


def overlay_isolation(hosts, wait_for) -> list[str]:
    """Containers on one overlay reach each other across two hosts, over every protocol;
    another overlay and a local bridge reach neither. Returns the pairs that went wrong."""
    h1, h2 = hosts
    servers, made = [], []
    try:
        for net, driver, subnet in OVERLAY_NETS:
            assert h1.api("POST", "/networks/create", {
                "Name": net, "Driver": driver, "Attachable": True,
                "IPAM": {"Config": [{"Subnet": subnet}]}}).status == 201
        wait_for(lambda: h2.api("GET", "/networks/ovy").status == 200, what="ovy on host2")
        info = {}
        for name, (i, net) in OVERLAY_LAYOUT.items():
            d = hosts[i]
            body = {"Image": "busybox:local", "Cmd": ["sleep", "600"],
                    "HostConfig": {"NetworkMode": net}}
            assert d.api("POST", f"/containers/create?name={name}", body).status == 201
            made.append((d, name))
            assert d.api("POST", f"/containers/{name}/start").status == 204
            ci = d.api("GET", f"/containers/{name}/json").json()
            info[name] = (ci["NetworkSettings"]["SandboxKey"],
                          ci["NetworkSettings"]["Networks"][net]["IPAddress"])
            servers.append(start_server(info[name][0]))
        wait_for(lambda: probe(info["x1"][0], info["x2"][1], "icmp"), what="x1 -> x2")
        wrong = [f"{name}'s address is not in its host's anti-spoofing set"
                 for name, (i, _) in OVERLAY_LAYOUT.items() if info[name][1] not in
                 spoof_set(hosts[i], "spoof_ip4")]
        for s in OVERLAY_LAYOUT:
            for t in OVERLAY_LAYOUT:
                for proto in PROTOS if s != t else ():
                    ok = probe(info[s][0], info[t][1], proto)
                    if ok != ((s, t) in OVERLAY_REACH):
                        wrong.append(f"{s} -> {t} over {proto}: {'reached' if ok else 'blocked'}")
        return wrong
    finally:
        for p in servers:
            p.kill()
            p.wait()
        for d, name in made:
            d.api("DELETE", f"/containers/{name}?force=1")
        for net, _, _ in OVERLAY_NETS:
            h1.api("DELETE", f"/networks/{net}")
