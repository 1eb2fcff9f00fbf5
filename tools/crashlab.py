"""Crash a tetherd at random points of a random workload, restart it, and check what it promises.

Used by tests/integration/test_crash.py (a fixed seed, a few kill points, CI) and by
tools/crash-soak (random seeds, as long as asked). Like tetherlab, nothing here imports
tether: the daemon is driven through its API and the kernel is read with `ip`, `nft`,
/proc and `runc`, so a check cannot share a bug with the code it checks.

What a restart after SIGKILL must give (tools/crashcheck.py checks it; `check` returns every
violation it finds):
- no leaked kernel object: tagged bridges and veths, netns files, mounts under the daemon's
  roots, shim and launcher processes and runc containers are exactly those of the store's
  networks and running containers (the container monitor is the daemon's own); nftables sets and maps hold exactly their elements;
- no running container lost: every container whose start was acknowledged, and that nobody
  asked to remove since, is running with the same pid, answers its name on 127.0.0.11 and
  its published port;
- no duplicate address on any network; each running endpoint's address is on its interface.
"""

from __future__ import annotations

import random
import threading
import time

import tetherlab
from crashcheck import Ledger, check, settle, table_of  # noqa: F401 - crashlab's interface

IMAGE = "busybox:local"
MAX_NETWORKS = 4
MAX_CONTAINERS = 8
HTTP_CMD = ["httpd", "-f", "-p", "80", "-h", "/"]


class Workload:
    """Random operations through the API until the daemon stops answering."""

    def __init__(self, d: tetherlab.Daemon, rng: random.Random, ledger: Ledger, tag: str):
        self.d, self.rng, self.ledger, self.tag = d, rng, ledger, tag
        self.serial = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
            except OSError:  # the daemon was killed under us: that is the point
                return

    def _name(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}{self.tag}{self.serial}"

    def step(self) -> None:
        nets = [n for n in self.d.api("GET", "/networks").json() if n["Name"].startswith("n")]
        ctrs = [c for c in self.d.api("GET", "/containers/json?all=1").json()]
        choices = ["run"] * 3 + ["rm"] * 2 + ["connect", "disconnect", "netrm"]
        if len(nets) < MAX_NETWORKS:
            choices += ["netcreate"] * 2
        if len(ctrs) >= MAX_CONTAINERS:
            choices = [c for c in choices if c != "run"]
        op = self.rng.choice(choices)
        getattr(self, f"op_{op}")(nets, ctrs)
        with self.ledger.lock:
            self.ledger.ops += 1

    def op_netcreate(self, nets, ctrs) -> None:
        self.d.api("POST", "/networks/create", {"Name": self._name("n"), "Driver": "bridge"})

    def op_netrm(self, nets, ctrs) -> None:
        if nets:
            self.d.api("DELETE", f"/networks/{self.rng.choice(nets)['Id']}")

    def op_run(self, nets, ctrs) -> None:
        name = self._name("c")
        net = self.rng.choice(nets)["Name"] if nets and self.rng.random() < 0.8 else "bridge"
        publish = self.rng.random() < 0.5
        body = {"Image": IMAGE, "Cmd": HTTP_CMD, "HostConfig": {"NetworkMode": net}}
        if publish:
            body["ExposedPorts"] = {"80/tcp": {}}
            body["HostConfig"]["PortBindings"] = {"80/tcp": [{"HostIp": "127.0.0.1",
                                                              "HostPort": ""}]}
        r = self.d.api("POST", f"/containers/create?name={name}", body)
        if r.status != 201:
            return
        cid = r.json()["Id"]
        if self.d.api("POST", f"/containers/{cid}/start").status != 204:
            return
        info = self.d.api("GET", f"/containers/{cid}/json").json()
        with self.ledger.lock:
            if name not in self.ledger.removed and info["State"]["Running"]:
                self.ledger.running[name] = {"pid": info["State"]["Pid"]}

    def op_rm(self, nets, ctrs) -> None:
        if not ctrs:
            return
        name = self.rng.choice(ctrs)["Names"][0].lstrip("/")
        with self.ledger.lock:
            self.ledger.running.pop(name, None)
            self.ledger.removed.add(name)
        self.d.api("DELETE", f"/containers/{name}?force=1")

    def _pick(self, nets, ctrs):
        if not nets or not ctrs:
            return None, None
        return self.rng.choice(nets), self.rng.choice(ctrs)["Names"][0].lstrip("/")

    def op_connect(self, nets, ctrs) -> None:
        net, name = self._pick(nets, ctrs)
        if net is not None:
            self.d.api("POST", f"/networks/{net['Id']}/connect", {"Container": name})

    def op_disconnect(self, nets, ctrs) -> None:
        net, name = self._pick(nets, ctrs)
        if net is not None:
            self.d.api("POST", f"/networks/{net['Id']}/disconnect",
                       {"Container": name, "Force": True})


def crash_round(d: tetherlab.Daemon, rng: random.Random, ledger: Ledger, tag: str,
                workers: int = 2) -> float:
    """Run `workers` workloads and SIGKILL the daemon after a random delay; restart it.
    Returns the delay. Workers stop when their next request fails."""
    stop = threading.Event()
    threads = [threading.Thread(target=Workload(d, random.Random(rng.random()), ledger,
                                                f"{tag}{i}").run, args=(stop,), daemon=True)
               for i in range(workers)]
    for t in threads:
        t.start()
    delay = rng.uniform(0.3, 2.5)
    time.sleep(delay)
    d.stop(kill=True)
    stop.set()
    for t in threads:
        t.join(30)
    d.start()
    return delay


def remove_everything(d: tetherlab.Daemon) -> None:
    """Force-remove every container and user network through the API (soak clean-up)."""
    for c in d.api("GET", "/containers/json?all=1").json():
        d.api("DELETE", f"/containers/{c['Id']}?force=1")
    for n in d.api("GET", "/networks").json():
        if n["Name"] not in ("bridge", "host", "none"):
            d.api("DELETE", f"/networks/{n['Id']}")
