"""Removed bridges are kept as spares and renamed for the next bridge (kernel.reaper).

Each test checks a reused bridge against what a fresh one has: name, group, MTU, state,
addresses, IPv6 and route_localnet; and that spares go away when idle and at a drain.
"""

import asyncio
import ipaddress
import os

import pytest

from tether.kernel import links, netlink, netns, reaper, sysctl

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

V4 = [ipaddress.ip_interface("10.232.1.1/24")]


@pytest.fixture(autouse=True)
async def drained():
    await reaper.drain()
    yield
    await reaper.drain()


async def link(name: str) -> dict:
    """The kernel's view of link `name`: index, group, MTU, up, master and addresses."""
    ipr = await netlink.rtnl()
    msg = (await ipr.link("get", ifname=name))[0]
    addrs = {f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
             async for a in await ipr.addr("dump")
             if a["index"] == msg["index"] and not a.get_attr("IFA_ADDRESS").startswith("fe80")}
    return {"index": msg["index"], "group": msg.get_attr("IFLA_GROUP"),
            "mtu": msg.get_attr("IFLA_MTU"), "up": bool(msg["flags"] & 1),
            "master": msg.get_attr("IFLA_MASTER"), "addrs": addrs}


async def tombstones() -> list[str]:
    """Names of the daemon-namespace links named as tombstones (spares among them)."""
    return [n for n in await links.interface_names() if n.startswith(reaper.TOMBSTONE_PREFIX)]


async def ports(index: int) -> list[str]:
    ipr = await netlink.rtnl()
    return [m.get_attr("IFLA_IFNAME") async for m in await ipr.link("dump")
            if m.get_attr("IFLA_MASTER") == index]


async def retire(name: str, addresses=(), *, mtu_set: bool = False) -> int:
    index = (await link(name))["index"]
    await links.remove_addresses(name, addresses)
    await links.retire_bridge(name, mtu_set=mtu_set,
                              ipv6=any(a.version == 6 for a in addresses))
    assert not await links.link_exists(name)  # the name is free at once
    return index


async def test_a_removed_bridge_is_renamed_for_the_next_one_and_looks_fresh():
    await links.ensure_bridge("tb-spare-a", addresses=V4)
    sysctl.set_sysctl("net.ipv4.conf.tb-spare-a.route_localnet", "1")  # a published port
    index = await retire("tb-spare-a", V4)
    assert reaper.spare_count() == 1

    b = [ipaddress.ip_interface("10.232.2.1/24")]
    await links.ensure_bridge("tb-spare-b", addresses=b)
    got = await link("tb-spare-b")
    assert got == {"index": index, "group": 0, "mtu": 1500, "up": True, "master": None,
                   "addrs": {"10.232.2.1/24"}}
    assert reaper.spare_count() == 0
    assert sysctl.get_sysctl("net.ipv4.conf.tb-spare-b.route_localnet") == "0"
    assert sysctl.get_sysctl("net.ipv6.conf.tb-spare-b.disable_ipv6") == "1"
    await links.remove_link("tb-spare-b")


async def test_an_ipv4_spare_serves_an_ipv6_bridge_and_back():
    await links.ensure_bridge("tb-spare-4", addresses=V4)
    index = await retire("tb-spare-4", V4)
    dual = [ipaddress.ip_interface("10.232.3.1/24"), ipaddress.ip_interface("fd00:232::1/64")]
    await links.ensure_bridge("tb-spare-6", addresses=dual)
    got = await link("tb-spare-6")
    assert got["index"] == index and got["addrs"] == {"10.232.3.1/24", "fd00:232::1/64"}
    assert sysctl.get_sysctl("net.ipv6.conf.tb-spare-6.disable_ipv6") == "0"
    assert sysctl.get_sysctl("net.ipv6.conf.tb-spare-6.accept_ra") == "0"

    await retire("tb-spare-6", dual)
    await links.ensure_bridge("tb-spare-4b", addresses=V4)
    assert (await link("tb-spare-4b"))["index"] == index
    assert sysctl.get_sysctl("net.ipv6.conf.tb-spare-4b.disable_ipv6") == "1"
    await links.remove_link("tb-spare-4b")


async def test_a_bridge_whose_mtu_was_set_serves_only_bridges_with_an_mtu():
    await links.ensure_bridge("tb-spare-m", mtu=1400)
    set_index = await retire("tb-spare-m", mtu_set=True)
    await links.ensure_bridge("tb-spare-p")  # plain: the kernel must follow its ports' MTU
    plain = await link("tb-spare-p")
    assert plain["index"] != set_index and plain["mtu"] == 1500
    plain_index = await retire("tb-spare-p")

    await links.ensure_bridge("tb-spare-m2", mtu=1450)
    assert (await link("tb-spare-m2")) | {"addrs": None} == {
        "index": set_index, "group": 0, "mtu": 1450, "up": True, "master": None, "addrs": None}
    await links.ensure_bridge("tb-spare-m3", mtu=1300)  # no MTU spare left: a plain one
    got = await link("tb-spare-m3")
    assert got["index"] == plain_index and got["mtu"] == 1300
    for name in ("tb-spare-m2", "tb-spare-m3"):
        await links.remove_link(name)


async def test_a_spare_waits_until_the_veths_removed_before_it_are_deleted(tmp_path):
    """A veth tombstone stays its bridge's (down) port until the reaper deletes it."""
    path = str(tmp_path / "sb")
    await netns.create_netns(path)
    try:
        await links.ensure_bridge("tb-spare-v")
        await links.create_veth("tvspare0", "eth0", path, master="tb-spare-v")
        await links.remove_link("tvspare0")  # a tombstone, still the bridge's port
        index = await retire("tb-spare-v")
        assert await ports(index)
        await links.ensure_bridge("tb-spare-w")
        assert (await link("tb-spare-w"))["index"] != index  # not yet: it still has the port
        await links.remove_link("tb-spare-w")

        for _ in range(100):  # the tombstone batch goes within MAX_DELAY
            await asyncio.sleep(0.05)
            if not await ports(index) and not reaper._Batch.unfinished:
                break
        await links.ensure_bridge("tb-spare-x")
        got = await link("tb-spare-x")
        assert got["index"] == index and await ports(index) == []
        await links.remove_link("tb-spare-x")
    finally:
        netlink.forget(path)
        await netns.remove_netns(path)


async def test_spares_are_deleted_once_idle_a_few_at_a_time(monkeypatch):
    monkeypatch.setattr(reaper, "IDLE", 0.1)
    names = [f"tb-spare-i{i}" for i in range(reaper.TRIM + 3)]
    for name in names:
        await links.ensure_bridge(name)
    for name in names:
        await retire(name)
    assert reaper.spare_count() == len(names)
    for _ in range(200):
        await asyncio.sleep(0.05)
        if not reaper.spare_count() and reaper._Spares.trim is None:
            break
    assert reaper.spare_count() == 0
    left = await tombstones()
    assert left == []


async def test_spares_a_drain_leaves_go_back_to_the_spares_at_the_next_start(monkeypatch):
    await links.ensure_bridge("tb-spare-d", addresses=V4)
    await links.ensure_bridge("tb-spare-t")
    index = await retire("tb-spare-d", V4)
    await links.remove_link("tb-spare-t")  # a plain tombstone, pending
    monkeypatch.setattr(reaper, "DRAIN_BUDGET", 0.0)
    await reaper.drain()
    left = await tombstones()
    assert reaper.spare_count() == 0 and len(left) == 1  # the spare: the tombstone went

    await links.ensure_bridge("tb-spare-t2")
    await links.remove_link("tb-spare-t2")
    reaper._Batch.timer.cancel()  # as if the previous daemon died before its batch
    reaper._Batch.timer = None
    reaper._Batch.names.clear()
    await links.reap_leftovers()  # what the next start's reconcile does
    assert reaper.spare_count() == 1
    await links.ensure_bridge("tb-spare-plain")  # its MTU may have been set: not for plain
    assert (await link("tb-spare-plain"))["index"] != index
    await links.remove_link("tb-spare-plain")
    monkeypatch.undo()
    await reaper.drain()  # the tombstones go; the spare is deleted too
    assert not await tombstones()


async def test_a_leftover_spare_serves_a_bridge_with_an_mtu(monkeypatch):
    await links.ensure_bridge("tb-spare-l", addresses=V4)
    index = await retire("tb-spare-l", V4)
    monkeypatch.setattr(reaper, "DRAIN_BUDGET", 0.0)
    await reaper.drain()
    await links.reap_leftovers()
    await links.ensure_bridge("tb-spare-lm", mtu=1400, addresses=V4)
    got = await link("tb-spare-lm")
    assert got["index"] == index and got["mtu"] == 1400 and got["group"] == 0
    assert sysctl.get_sysctl("net.ipv6.conf.tb-spare-lm.disable_ipv6") == "1"
    await links.remove_link("tb-spare-lm")


async def test_a_drain_deletes_the_spares():
    await links.ensure_bridge("tb-spare-e")
    await retire("tb-spare-e")
    await reaper.drain()
    assert reaper.spare_count() == 0
    assert not await tombstones()


async def test_another_daemons_spares_are_neither_taken_nor_deleted(monkeypatch):
    """Two daemons may share a network namespace: at its start, each takes back only the
    spares its alias names, and leaves the other's (it may be running) alone."""
    monkeypatch.setattr(reaper._Owner, "tag", "first")
    await links.ensure_bridge("tb-spare-o")
    index = await retire("tb-spare-o")
    spare = await tombstones()
    monkeypatch.setattr(reaper, "DRAIN_BUDGET", 0.0)
    await reaper.drain()

    monkeypatch.setattr(reaper._Owner, "tag", "second")
    await links.reap_leftovers()
    assert reaper.spare_count() == 0
    await reaper.drain()
    assert await links.link_exists(spare[0])

    monkeypatch.setattr(reaper._Owner, "tag", "first")
    await links.reap_leftovers()
    assert reaper.spare_count() == 1
    await links.ensure_bridge("tb-spare-o2", mtu=1500)
    got = await link("tb-spare-o2")
    assert got["index"] == index and got["group"] == 0
    ipr = await netlink.rtnl()
    assert (await ipr.link("get", index=index))[0].get_attr("IFLA_IFALIAS") is None
    await links.remove_link("tb-spare-o2")
