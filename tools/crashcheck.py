"""What a daemon promises after a crash, checked against the kernel: tools/crashlab.py's half.

Nothing here imports tether: links come from `ip`, rules from `nft`, mounts from
/proc/self/mountinfo, containers from `runc list`, names from real DNS queries and ports
from real connections, so a check cannot share a bug with the code it checks.
`check` returns every violation; `settle` retries it briefly (exits a crash missed, and
veth reaping, finish in the background).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import tetherlab

LEAK_PREFIXES = ("tb-", "tv")


@dataclass
class Ledger:
    """What the workload knows for sure: acknowledged starts not followed by a removal."""

    running: dict[str, dict] = field(default_factory=dict)  # name -> {"pid", "port"}
    removed: set[str] = field(default_factory=set)  # names someone asked to remove
    ops: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _json(argv: list[str]):
    out = subprocess.run(argv, capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None


def snapshot(d: tetherlab.Daemon) -> tuple[list[dict], list[dict]]:
    """(container inspects, network inspects) from the API."""
    ctrs = [d.api("GET", f"/containers/{c['Id']}/json").json()
            for c in d.api("GET", "/containers/json?all=1").json()]
    nets = [d.api("GET", f"/networks/{n['Id']}").json() for n in d.api("GET", "/networks").json()]
    return ctrs, nets


def bridge_of(net: dict) -> str | None:
    if net["Driver"] != "bridge":
        return None
    return net["Options"].get("com.docker.network.bridge.name") or f"tb-{net['Id'][:12]}"


def veth_of(endpoint_id: str) -> str:
    return "tv" + hashlib.sha256(endpoint_id.encode()).hexdigest()[:10]


def running_veths(ctrs, nets) -> set[str]:
    """The host veths of running containers' bridge endpoints, as the store sees them."""
    by_id = {n["Id"]: n for n in nets}
    return {veth_of(ep["EndpointID"]) for c in ctrs if c["State"]["Running"]
            for ep in c["NetworkSettings"]["Networks"].values()
            if ep["EndpointID"] and by_id.get(ep["NetworkID"], {}).get("Driver") == "bridge"}


def check_links(d, ctrs, nets) -> list[str]:
    bridges = {b for n in nets if (b := bridge_of(n))}
    veths = running_veths(ctrs, nets)
    links = _json([*d.prefix(), "ip", "-j", "link", "show"]) or []
    found = {link["ifname"]: link.get("master") for link in links}
    tagged = {n for n in found if n.startswith(LEAK_PREFIXES)}
    problems = [f"leaked link {n} (master {found[n]}, {_peer(d, n)})"
                for n in sorted(tagged - bridges - veths)]
    problems += [f"missing bridge {b}" for b in sorted(bridges - set(found))]
    problems += [f"missing veth {v}" for v in sorted(veths - set(found))]
    problems += [f"veth {v} not on a tether bridge (master {found[v]})"
                 for v in sorted(veths & set(found)) if found[v] not in bridges]
    return problems


def _peer(d, name: str) -> str:
    info = _json([*d.prefix(), "ip", "-d", "-j", "link", "show", name]) or [{}]
    return f"peer netns id {info[0].get('link_netnsid')}, state {info[0].get('operstate')}"


def nft_elements(d, family: str, table: str, name: str) -> list | None:
    kind = "map" if name.startswith("pub") else "set"
    data = _json([*d.prefix(), "nft", "-j", "list", kind, family, table, name])
    if data is None:
        return None
    for item in data["nftables"]:
        body = item.get("set") or item.get("map")
        if body:
            return body.get("elem", [])
    return []


def check_nft(d, ctrs, nets, table: str = "tether") -> list[str]:
    bridges = {b for n in nets if (b := bridge_of(n))}
    elems = nft_elements(d, "inet", table, "bridges")
    if elems is None:
        return [f"nft set inet {table} bridges is missing"]
    problems = []
    if set(elems) != bridges:
        problems.append(f"nft bridges {sorted(elems)} != networks' bridges {sorted(bridges)}")
    by_id = {n["Id"]: n for n in nets}
    ports = sorted(p for c in ctrs if c["State"]["Running"] for p in published(c, by_id))
    ports_now = nft_elements(d, "bridge", table, "spoof_ports")
    if ports_now is None:
        problems.append(f"nft set bridge {table} spoof_ports is missing")
    elif set(ports_now) != running_veths(ctrs, nets):
        problems.append(f"nft spoof_ports {sorted(ports_now)} != running veths "
                        f"{sorted(running_veths(ctrs, nets))}")
    pub = nft_elements(d, "inet", table, "pub4ip") or []
    got = sorted(_elem_port(e) for e in pub)
    if got != ports:
        problems.append(f"nft pub4ip ports {got} != published ports {ports}")
    return problems


def _elem_port(e) -> int:
    """The host port of a `pub4ip` element: [daddr . proto . port, value]."""
    key = e[0] if isinstance(e, list) else e
    parts = key["concat"] if isinstance(key, dict) else key
    return int(parts[-1])


def check_sandboxes(d, ctrs) -> list[str]:
    keep = {os.path.basename(c["NetworkSettings"]["SandboxKey"]) for c in ctrs
            if c["State"]["Running"] and c["NetworkSettings"]["SandboxKey"]}
    netns_dir = d.exec_root / "netns"
    found = set(os.listdir(netns_dir)) if netns_dir.is_dir() else set()
    problems = [f"leaked netns file {n}" for n in sorted(found - keep)]
    problems += [f"missing netns file {n}" for n in sorted(keep - found)]
    running_ids = {c["Id"] for c in ctrs if c["State"]["Running"]}
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    root = str(d.root) + "/"
    for p in points:
        if not p.startswith(root):
            continue
        if p.startswith(str(netns_dir) + "/"):
            if os.path.basename(p) not in keep:
                problems.append(f"leaked mount {p}")
        elif not any(cid in p for cid in running_ids):
            problems.append(f"leaked mount {p}")
    return problems


def check_processes(d, ctrs) -> list[str]:
    running = {c["Id"]: c["State"]["Pid"] for c in ctrs if c["State"]["Running"]}
    listed = _json(["runc", "--root", str(d.exec_root / "runc"), "list", "-f", "json"]) or []
    problems = [f"runc container {x['id'][:12]} ({x['status']}) has no running record"
                for x in listed if x["id"] not in running]
    seen = {x["id"] for x in listed if x["status"] == "running"}
    problems += [f"container {cid[:12]} is running in the store but not in runc"
                 for cid in running if cid not in seen]
    problems += [f"container {cid[:12]}: pid {pid} is gone"
                 for cid, pid in running.items() if not os.path.exists(f"/proc/{pid}")]
    marker = str(d.exec_root).encode()
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmd and not any(cid.encode() in cmd for cid in running):
            if b"tetherd" not in cmd and b"tether-monitor" not in cmd:  # the daemon's own
                text = cmd.replace(bytes(1), b" ")[:120].decode(errors="replace")
                problems.append(f"leaked process {pid}: {text}")
    return problems


def check_addresses(d, ctrs, nets) -> list[str]:
    problems, seen = [], {}
    for c in ctrs:
        for net_name, ep in c["NetworkSettings"]["Networks"].items():
            ip = ep.get("IPAddress")
            if not ip or not c["State"]["Running"]:
                continue
            other = seen.setdefault((ep["NetworkID"], ip), c["Name"])
            if other != c["Name"]:
                problems.append(f"{ip} on {net_name} is held by {other} and {c['Name']}")
        if c["State"]["Running"] and c["NetworkSettings"]["SandboxKey"]:
            problems += _check_in_sandbox(c)
    return problems


def _check_in_sandbox(c) -> list[str]:
    key = c["NetworkSettings"]["SandboxKey"]
    addrs = _json(["nsenter", f"--net={key}", "ip", "-j", "addr", "show"]) or []
    have = {a["local"] for link in addrs for a in link.get("addr_info", [])}
    return [f"{c['Name']}: {ep['IPAddress']} ({name}) is not on any interface"
            for name, ep in c["NetworkSettings"]["Networks"].items()
            if ep.get("IPAddress") and ep["IPAddress"] not in have]


def check_survivors(d, ctrs, nets, ledger: Ledger) -> list[str]:
    """Every acknowledged, unremoved container runs with its pid, name and port."""
    by_name = {c["Name"].lstrip("/"): c for c in ctrs}
    problems = []
    for name, known in sorted(ledger.running.items()):
        c = by_name.get(name)
        if c is None or not c["State"]["Running"]:
            problems.append(f"container {name} was lost ({'gone' if c is None else 'stopped'})")
            continue
        if c["State"]["Pid"] != known["pid"]:
            problems.append(f"container {name} changed pid {known['pid']} -> {c['State']['Pid']}")
        problems += _check_dns(c)
        by_id = {n["Id"]: n for n in nets}
        problems += [p for port in published(c, by_id) for p in _check_port(name, port)]
    return problems


def published(c, nets: dict | None = None) -> list[int]:
    """Host ports on 127.0.0.1 the container publishes: those in its inspect, when it has
    a bridge endpoint to forward them to (a disconnect may have taken its last one)."""
    eps = c["NetworkSettings"]["Networks"].values()
    if nets is not None and not any(
            ep.get("IPAddress") and nets.get(ep["NetworkID"], {}).get("Driver") == "bridge"
            for ep in eps):
        return []
    return [int(x["HostPort"]) for b in (c["NetworkSettings"]["Ports"] or {}).values()
            for x in (b or []) if x["HostIp"] == "127.0.0.1"]


def _check_dns(c) -> list[str]:
    name = c["Name"].lstrip("/")
    nets = {k: ep for k, ep in c["NetworkSettings"]["Networks"].items()
            if k not in ("bridge", "host", "none") and ep.get("IPAddress")}
    if not nets:
        return []
    key = c["NetworkSettings"]["SandboxKey"]
    out = subprocess.run(["nsenter", f"--net={key}", "busybox", "nslookup", name,
                          "127.0.0.11"], capture_output=True, text=True, timeout=10)
    want = {ep["IPAddress"] for ep in nets.values()}
    if not any(ip in out.stdout for ip in want):
        return [f"container {name}: its name does not resolve to {sorted(want)}: "
                f"{(out.stdout + out.stderr).strip()[-200:]!r}"]
    return []


def _check_port(name: str, port: int) -> list[str]:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            head = s.recv(16)
    except OSError as e:
        return [f"container {name}: published port {port} refused: {e}"]
    if not head.startswith(b"HTTP/1."):
        return [f"container {name}: published port {port} answered {head!r}"]
    return []


def table_of(d: tetherlab.Daemon) -> str:
    """The nftables table the daemon chose at its first start (its store's instance/names)."""
    import sqlite3

    with sqlite3.connect(d.data_root / "tether.db") as db:
        row = db.execute("SELECT value FROM kv WHERE key = 'instance/names'").fetchone()
    return json.loads(row[0])["table"] if row else "tether"


def check(d: tetherlab.Daemon, ledger: Ledger, table: str = "tether") -> list[str]:
    """Every violation of the crash promise, after the daemon has restarted."""
    ctrs, nets = snapshot(d)
    return (check_links(d, ctrs, nets) + check_nft(d, ctrs, nets, table)
            + check_sandboxes(d, ctrs) + check_processes(d, ctrs)
            + check_addresses(d, ctrs, nets) + check_survivors(d, ctrs, nets, ledger))


def settle(d: tetherlab.Daemon, ledger: Ledger, table: str = "tether",
           timeout: float = 5.0) -> list[str]:
    """`check` until it passes or `timeout` runs out (exits a crash missed finish at once,
    and veth reaping is in the background); returns the last violations."""
    deadline = time.monotonic() + timeout
    while True:
        problems = check(d, ledger, table)
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.25)


