#!/usr/bin/env python3
"""Network attach and detach of a running container: tether, the kernel floor, CNI, netavark.

    bench/attach.py             (BENCH_ROUNDS=N to change the number of rounds)

Every subject does the same kind of work on an existing network namespace: a veth pair whose
other end is the namespace's interface, enslaved to a Linux bridge, an IPv4 address, the link
up, a default route, and a firewall change; and teardown undoes it. Each runs in this
benchmark's private namespaces, on its own bridge and subnet.

- tether: POST /networks/{id}/connect and /disconnect on a running busybox container, through
  the API (IPAM, store, veth, addresses, firewall, /etc/hosts: everything the daemon does).
  The container already has its default route on its first network, so tether adds none.
- kernel floor: the same kernel operations done directly with pyroute2 (veth created with its
  peer inside the namespace, address, up, route, bridge port) plus one nftables element added
  through libnftables; the teardown deletes the veth synchronously (it waits on RCU).
  "peer moved" creates the veth on the host and moves its peer in afterwards.
- CNI: /usr/lib/cni/bridge with host-local IPAM and ipMasq (iptables), CNI_COMMAND=ADD/DEL.
- netavark: /usr/lib/podman/netavark setup/teardown (bridge driver, iptables firewall).
CNI and netavark are exec'd per operation, as a container engine runs them. Subjects take
turns round by round (see `interleaved`).
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

import benchlib
import peers

SETUP = "attach: setup (ms, lower is better)"
TEARDOWN = "attach: teardown (ms, lower is better)"
FLOOR = "kernel floor (pyroute2 + libnftables)"
TETHER = "tether (API)"
PAUSE = 0.1  # seconds between two timed rounds


class Tether:
    """connect/disconnect of a second network on a running container, through the API."""

    def __enter__(self) -> "Tether":
        self.stack = ExitStack()
        d = self.stack.enter_context(benchlib.daemon(busybox=True))
        for name in ("attach-home", "attach-bench"):
            benchlib.check(d.api("POST", "/networks/create", {"Name": name}), "network create")
        body = {"Image": "busybox:local", "Cmd": ["sleep", "600"],
                "HostConfig": {"NetworkMode": "attach-home"}}
        self.cid = benchlib.check(d.api("POST", "/containers/create", body), "create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{self.cid}/start"), "start")
        self.d = d
        return self

    def setup(self) -> None:
        benchlib.check(self.d.api("POST", "/networks/attach-bench/connect",
                                  {"Container": self.cid}), "connect")

    def teardown(self) -> None:
        benchlib.check(self.d.api("POST", "/networks/attach-bench/disconnect",
                                  {"Container": self.cid}), "disconnect")

    def __exit__(self, *exc) -> None:
        try:
            benchlib.check(self.d.api("DELETE", f"/containers/{self.cid}?force=1"), "rm")
        finally:
            self.stack.close()


def interleaved(subjects: dict, n: int) -> dict[str, tuple[list[float], list[float]]]:
    """Time every subject's setup and teardown, one round of each subject after the other.

    Interleaving spreads the load of other work on the machine over all subjects alike. The
    pause after each round lets background work (tether's batched link reaper) finish before
    the next subject is timed, so it never lands in another subject's figures.
    """
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in subjects}
    with ExitStack() as stack:
        live = {name: stack.enter_context(s) for name, s in subjects.items()}
        for i in range(n + 1):
            for name, s in live.items():
                up, down = benchlib.timed(s.setup), benchlib.timed(s.teardown)
                if i:  # the first round warms caches up
                    out[name][0].append(up)
                    out[name][1].append(down)
                time.sleep(PAUSE)
    return out


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(30)
    subjects = {FLOOR: peers.Floor(), "kernel floor, peer moved": peers.Floor(move=True),
                TETHER: Tether()}
    if os.path.exists(peers.CNI_BRIDGE):
        subjects["CNI bridge + host-local"] = peers.Cni()
    if os.path.exists(peers.NETAVARK):
        subjects["netavark"] = peers.Netavark()
    results = interleaved(subjects, n)
    rows = []
    for group, index in ((SETUP, 0), (TEARDOWN, 1)):
        for subject, samples in results.items():
            ref = None if subject == FLOOR else FLOOR
            rows.append(benchlib.row(group, subject, samples[index], reference=ref))
    benchlib.publish("attach", rows)


if __name__ == "__main__":
    main()
