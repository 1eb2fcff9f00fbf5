"""The data plane with real packets: bridge driver + NftFirewall + sandboxes, no daemon.

Two bridge networks A and B, an internal network I and an icc=false network D, two sandboxes
on each, and a hub on A and B. Proves what Docker allows and blocks (transcripts sections 3
and 9): same network works, cross network is dropped for ICMP, TCP and UDP, the hub does not
route, an internal network has no way out, nobody outside can open a connection into a
network, and leave / remove_netns leave no veth behind.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import socket
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest

from tether.drivers.base import JoinInfo
from tether.drivers.bridge import BridgeDriver
from tether.firewall.nftables import NftFirewall
from tether.kernel import _ns, links, netns, nft, sysctl
from tether.model import Endpoint, IPAMPool, Network


TABLE = "txdataplane"
JOIN_TIMES: list[float] = []


def make_net(name: str, third: int, *, internal: bool = False, **options: str) -> Network:
    subnet = ipaddress.ip_network(f"10.231.{third}.0/24")
    return Network(
        id=secrets.token_hex(32), name=name, driver="bridge", created="", internal=internal,
        pools=(IPAMPool(subnet, subnet.network_address + 1),), options=dict(options),
    )


@dataclass
class Sandbox:
    path: str
    eps: list[tuple[Network, Endpoint]]

    def ip(self, net: Network) -> str:
        return next(str(ep.ipv4.ip) for n, ep in self.eps if n.id == net.id)


async def join(driver, fw, sb_path: str, net: Network, host: int, ifname: str, route: bool) -> tuple[Network, Endpoint]:
    pool = net.pools[0]
    ep = Endpoint(
        id=secrets.token_hex(32), network_id=net.id, container_id="c", ifname=ifname,
        mac=f"02:42:0a:e7:{pool.subnet.network_address.packed[2]:02x}:{host:02x}",
        ipv4=ipaddress.ip_interface(f"{pool.subnet.network_address + host}/24"),
        gateway4=pool.gateway,
    )
    start = time.perf_counter()
    ep = await driver.join(net, ep, JoinInfo(sb_path, default_route4=route))
    JOIN_TIMES.append(time.perf_counter() - start)
    await fw.add_endpoint(net, ep)
    return net, ep


async def build(root: str, nets: dict[str, Network]) -> dict[str, Sandbox]:
    driver, fw = BridgeDriver(), NftFirewall(TABLE)
    await fw.setup([], [])
    for net in nets.values():
        await driver.create_network(net)
        await fw.add_network(net)
    layout = {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "i1": "I", "i2": "I", "d1": "D", "d2": "D"}
    boxes: dict[str, Sandbox] = {}
    for i, (name, key) in enumerate(layout.items()):
        path = os.path.join(root, name)
        await netns.create_netns(path)
        boxes[name] = Sandbox(path, [await join(driver, fw, path, nets[key], 10 + i, "eth0", True)])
    hub = os.path.join(root, "hub")
    await netns.create_netns(hub)
    boxes["hub"] = Sandbox(hub, [await join(driver, fw, hub, nets["A"], 99, "eth0", True),
                                 await join(driver, fw, hub, nets["B"], 99, "eth1", False)])
    return boxes


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    root = str(tmp_path_factory.mktemp("sandboxes"))
    sysctl.set_sysctl("net.ipv4.ip_forward", "1")
    nets = {"A": make_net("A", 1), "B": make_net("B", 2), "I": make_net("I", 3, internal=True),
            "D": make_net("D", 4, **{"com.docker.network.bridge.enable_icc": "false"})}
    boxes = asyncio.run(build(root, nets))
    yield nets, boxes
    leftovers = asyncio.run(destroy(nets, boxes))
    assert not leftovers, f"left behind: {leftovers}"


async def destroy(nets: dict[str, Network], boxes: dict[str, Sandbox]) -> list[str]:
    """Tear everything down the way the engine does; return whatever of ours is still there."""
    for sb in boxes.values():
        await netns.remove_netns(sb.path)
    for net in nets.values():
        await NftFirewall(TABLE).remove_network(net)
        await BridgeDriver().delete_network(net)
    await NftFirewall(TABLE).teardown()
    ours = {ep.host_ifname for sb in boxes.values() for _, ep in sb.eps}
    ours |= {f"tb-{n.id[:12]}" for n in nets.values()}
    for _ in range(500):  # the kernel reaps a dead netns's veths in the background (batched)
        left = sorted(ours & await links.interface_names())
        if not left:
            break
        await asyncio.sleep(0.01)
    left += [p for p in (sb.path for sb in boxes.values()) if os.path.exists(p)]
    left += [f"{f} {t}" for f, t in await nft.list_tables() if t == TABLE]
    return left


# --- probes: real packets from inside a sandbox ---------------------------------------------

def ns_socket(path: str, kind: int) -> socket.socket:
    """A socket living in the sandbox at `path` (made by a thread that entered it)."""
    out: list[object] = []

    def run() -> None:
        try:
            _ns.enter_net(path)
            out.append(socket.socket(socket.AF_INET, kind))
        except BaseException as exc:  # noqa: BLE001
            out.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]  # type: ignore[return-value]


def ping(src: Sandbox | str, dst: str) -> bool:
    path = src.path if isinstance(src, Sandbox) else src
    cmd = ["nsenter", f"--net={path}", "busybox", "ping", "-c1", "-W1", dst]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def tcp(src: Sandbox, dst: Sandbox, dst_ip: str, port: int = 7001) -> bool:
    server = ns_socket(dst.path, socket.SOCK_STREAM)
    client = ns_socket(src.path, socket.SOCK_STREAM)
    with server, client:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((dst_ip, port))
        server.listen()
        client.settimeout(1)
        try:
            client.connect((dst_ip, port))
        except OSError:
            return False
        return True


def udp(src: Sandbox, dst: Sandbox, dst_ip: str, port: int = 7002) -> bool:
    server = ns_socket(dst.path, socket.SOCK_DGRAM)
    client = ns_socket(src.path, socket.SOCK_DGRAM)
    with server, client:
        server.bind((dst_ip, port))
        server.settimeout(1)
        client.sendto(b"hello", (dst_ip, port))
        try:
            return server.recv(16) == b"hello"
        except OSError:
            return False


def reach(src: Sandbox, dst: Sandbox, net: Network) -> tuple[bool, bool, bool]:
    ip = dst.ip(net)
    return ping(src, ip), tcp(src, dst, ip), udp(src, dst, ip)


# --- tests ----------------------------------------------------------------------------------

def test_same_network_works(plane):
    nets, b = plane
    assert reach(b["a1"], b["a2"], nets["A"]) == (True, True, True)
    assert reach(b["b2"], b["b1"], nets["B"]) == (True, True, True)
    assert reach(b["i1"], b["i2"], nets["I"]) == (True, True, True)


def test_cross_network_is_blocked(plane):
    nets, b = plane
    assert reach(b["a1"], b["b1"], nets["B"]) == (False, False, False)
    assert reach(b["b1"], b["a1"], nets["A"]) == (False, False, False)
    assert reach(b["a1"], b["i1"], nets["I"]) == (False, False, False)
    assert reach(b["i1"], b["a1"], nets["A"]) == (False, False, False)


def test_hub_reaches_both_but_does_not_route(plane):
    nets, b = plane
    assert reach(b["hub"], b["a1"], nets["A"]) == (True, True, True)
    assert reach(b["hub"], b["b1"], nets["B"]) == (True, True, True)
    hub_b = b["hub"].ip(nets["B"])
    add = ["nsenter", f"--net={b['b2'].path}", "ip", "route", "replace", "10.231.1.0/24", "via", hub_b]
    subprocess.run(add, check=True, capture_output=True)
    assert reach(b["b2"], b["a1"], nets["A"]) == (False, False, False)


def test_gateways_are_host_addresses_reachable_like_docker(plane):
    """Docker lets containers reach the host's own addresses, even from internal networks."""
    nets, b = plane
    assert ping(b["a1"], "10.231.1.1")
    assert ping(b["i1"], "10.231.3.1")
    assert ping(b["i1"], "10.231.1.1")


def test_icc_false_blocks_same_bridge_but_not_the_gateway(plane):
    nets, b = plane
    assert reach(b["d1"], b["d2"], nets["D"]) == (False, False, False)
    assert ping(b["d1"], "10.231.4.1")


def test_egress_is_masqueraded_and_internal_has_no_way_out(plane, outside_host):
    nets, b = plane
    seen = subprocess.run(
        ["nsenter", f"--net={b['a1'].path}", "busybox", "wget", "-qO-", outside_host.url()],
        capture_output=True, text=True, timeout=10,
    )
    assert seen.stdout == outside_host.gateway  # the outside saw the host's address: masquerade
    assert ping(b["a1"], outside_host.address)
    assert not ping(b["i1"], outside_host.address)
    assert not ping(outside_host.netns, b["a1"].ip(nets["A"]))  # no way in from outside


def test_leave_and_remove_netns_leave_no_veth(plane, tmp_path):
    nets, _ = plane

    async def run() -> None:
        driver = BridgeDriver()
        path = str(tmp_path / "tmpbox")
        await netns.create_netns(path)
        _, ep = await join(driver, NftFirewall(TABLE), path, nets["A"], 200, "eth0", True)
        assert await links.link_exists(ep.host_ifname)
        await driver.leave(nets["A"], ep, JoinInfo(path))
        await driver.leave(nets["A"], ep, JoinInfo(path))  # idempotent
        assert not await links.link_exists(ep.host_ifname)
        _, ep = await join(driver, NftFirewall(TABLE), path, nets["A"], 201, "eth1", False)
        await netns.remove_netns(path)
        await netns.remove_netns(path)  # idempotent
        for _ in range(100):
            if not await links.link_exists(ep.host_ifname):
                break
            await asyncio.sleep(0.01)
        assert not await links.link_exists(ep.host_ifname)
        assert not os.path.exists(path)

    asyncio.run(run())


def test_join_cost_is_reported(plane):
    """Not a benchmark: records the median join so regressions are visible in -s output."""
    assert JOIN_TIMES
    print(f"\nbridge join: median {statistics.median(JOIN_TIMES) * 1000:.1f} ms "
          f"over {len(JOIN_TIMES)} joins")

