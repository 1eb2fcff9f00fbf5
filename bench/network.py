#!/usr/bin/env python3
"""`network create` + `network rm` through the API, against the same kernel work done directly.

    bench/network.py            (BENCH_ROUNDS=N to change the number of rounds)

tether: POST /networks/create then DELETE /networks/{id} on a fresh tetherd, one UNIX-socket
connection per request as the docker CLI makes them. The floor: the kernel objects that create
makes (a bridge with its gateway address, up, and the network's nftables rules) made and
removed directly with pyroute2 and one libnftables transaction each way, in the same
namespace; its link
deletion waits for the kernel's RCU grace period, which tether's does in the background.
tether is measured twice: as it runs (libnftables in-process) and with TETHER_NFT=subprocess.
"""

from __future__ import annotations

import subprocess

import benchlib

GROUP = "network create + rm (ms, lower is better)"
FLOOR = "kernel floor (pyroute2 + libnftables, synchronous link delete)"


def tether_rounds(d, n: int) -> tuple[list[float], list[float], list[float]]:
    """Time create, rm and both for `n` networks created and removed one after the other."""
    creates, removes, both = [], [], []
    for i in range(n + 1):
        body = {"Name": f"bench{i}", "Driver": "bridge"}
        c = benchlib.timed(lambda: benchlib.check(d.api("POST", "/networks/create", body),
                                                  "network create"))
        net_id = d.api("GET", f"/networks/bench{i}").json()["Id"]
        r = benchlib.timed(lambda: benchlib.check(d.api("DELETE", f"/networks/{net_id}"),
                                                  "network rm"))
        if i:  # the first round warms caches up
            creates.append(c)
            removes.append(r)
            both.append(c + r)
    return creates, removes, both


NFT_ADD = """table inet benchfloor {{
  set nets {{ type ipv4_addr; flags interval; }}
  chain fwd-{i} {{ iifname "bf{i}" oifname != "bf{i}" accept; }}
}}
add element inet benchfloor nets {{ 10.99.{i}.0/24 }}
"""
NFT_DEL = "delete chain inet benchfloor fwd-{i}\ndelete element inet benchfloor nets {{ 10.99.{i}.0/24 }}\n"


def nft(script: str) -> None:
    from tether.kernel import libnftables

    status, _, err = libnftables.shared().run_blocking(script)
    if status:
        raise RuntimeError(f"nftables: {err}")


def floor_round(i: int) -> tuple[float, float]:
    """Create then remove a bridge with its gateway and a few nft rules, directly."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        def create() -> None:
            ipr.link("add", ifname=f"bf{i}", kind="bridge")
            idx = ipr.link_lookup(ifname=f"bf{i}")[0]
            ipr.addr("add", index=idx, address=f"10.99.{i}.1", prefixlen=24)
            ipr.link("set", index=idx, state="up")
            nft(NFT_ADD.format(i=i))

        def remove() -> None:
            nft(NFT_DEL.format(i=i))
            ipr.link("del", ifname=f"bf{i}")

        return benchlib.timed(create), benchlib.timed(remove)


def floor_rounds(n: int) -> list[float]:
    try:
        out = [sum(floor_round(i)) for i in range(n + 1)][1:]
    finally:
        subprocess.run(["nft", "delete", "table", "inet", "benchfloor"], capture_output=True)
    return out


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(30)
    with benchlib.daemon() as d:
        creates, removes, both = tether_rounds(d, n)
    with benchlib.daemon(env={"TETHER_NFT": "subprocess"}) as d:
        _, _, spawned = tether_rounds(d, n)
    floor = floor_rounds(n)
    benchlib.publish("network", [
        benchlib.row(GROUP, FLOOR, floor),
        benchlib.row(GROUP, "tether create + rm (API)", both, reference=FLOOR),
        benchlib.row(GROUP, "tether create (API)", creates),
        benchlib.row(GROUP, "tether rm (API)", removes),
        benchlib.row(GROUP, "tether create + rm, nft tool instead of libnftables", spawned,
                     reference=FLOOR),
    ])


if __name__ == "__main__":
    main()
