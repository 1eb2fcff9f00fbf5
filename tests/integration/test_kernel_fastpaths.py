"""The kernel fast paths: nftables in-process and through the tool alike, batched link reaping."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from tether.errors import KernelError
from tether.kernel import libnftables, links, netlink, netns, nft, reaper, rtdump

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture(params=["libnftables", "subprocess"])
def nft_backend(request, monkeypatch):
    if request.param == "libnftables" and libnftables.shared() is None:
        pytest.skip("libnftables1 is not installed")
    monkeypatch.setenv("TETHER_NFT", request.param)
    assert nft.backend() == request.param
    return request.param


async def test_both_nft_backends_apply_list_and_refuse_alike(nft_backend):
    script = (GOLDEN / "full_ruleset.nft").read_text().replace(" tether", " txfast")
    try:
        await nft.apply(script)
        await nft.apply(script)  # a replay is one more atomic transaction
        tables = await nft.list_tables()
        assert ("inet", "txfast") in tables and ("bridge", "txfast") in tables
        with pytest.raises(KernelError, match="nftables refused the ruleset: .*Error"):
            await nft.apply("add table inet txfast\nadd rule inet txfast nochain accept\n")
    finally:
        await nft.delete_table("inet", "txfast")
        await nft.delete_table("bridge", "txfast")
    assert ("inet", "txfast") not in await nft.list_tables()


async def test_removed_links_free_their_name_at_once_and_are_reaped_in_one_batch():
    names = [f"tb-reap{i}" for i in range(4)]
    for i, name in enumerate(names):
        await links.ensure_bridge(name, addresses=[ipaddress.ip_interface(f"10.231.{i}.1/24")])
    for name in names:
        await links.remove_link(name)
    try:
        present = await links.interface_names()
        assert not present & set(names)  # the names are free before the deletion finishes
        assert ipaddress.ip_network("10.231.0.0/24") not in await links.host_prefixes(set())
    finally:
        await reaper.drain()
    assert not any(n.startswith(reaper.TOMBSTONE_PREFIX) for n in await links.interface_names())


async def test_reap_deletes_a_named_leftover_outside_the_group():
    """A tombstone of an older daemon has its name but not the group: reap(name) deletes it."""
    await links.ensure_bridge("txdleftover0")
    reaper.reap("txdleftover0")
    await reaper.drain()
    assert not await links.link_exists("txdleftover0")


async def test_a_removed_veth_frees_the_sandbox_name_for_an_immediate_reconnect(tmp_path):
    path = str(tmp_path / "sb")
    await netns.create_netns(path)
    await links.ensure_bridge("tb-reveth")
    try:
        await links.create_veth("tvreveth0", "eth1", path, master="tb-reveth")
        first = await links._index("eth1", path)
        await links.remove_veth("tvreveth0", "eth1", path)
        assert not await links.link_exists("eth1", path)
        await links.create_veth("tvreveth0", "eth1", path, master="tb-reveth")
        assert await links._index("eth1", path) != first  # a new veth, not the old peer
        await links.configure_interface(path, "eth1")
        await reaper.drain()
        names = await links.interface_names(path)
        assert "eth1" in names and not any(n.startswith(reaper.TOMBSTONE_PREFIX) for n in names)
    finally:
        await links.remove_link("tvreveth0")
        await links.remove_link("tb-reveth")
        await reaper.drain()
        netlink.forget(path)
        await netns.remove_netns(path)


async def test_bare_dumps_read_what_pyroute2_reads():
    await links.ensure_bridge("tb-rtdump", addresses=[
        ipaddress.ip_interface("10.229.7.1/24"), ipaddress.ip_interface("fd00:229::1/64")])
    try:
        ipr = await netlink.rtnl()
        expected = {m["index"]: m.get("ifname") async for m in await ipr.link("dump")}
        assert rtdump.links() == expected
        await ipr.link("set", index=next(i for i, n in expected.items() if n == "tb-rtdump"),
                       ifalias="an alias", group=7)
        tags = {(m["index"], m.get_attr("IFLA_IFNAME"), m.get_attr("IFLA_GROUP"),
                 m.get_attr("IFLA_IFALIAS") or "") async for m in await ipr.link("dump")}
        assert {(t.index, t.name, t.group, t.alias) for t in rtdump.link_tags()} == tags
        assert any(t[3] == "an alias" and t[2] == 7 for t in tags)
        index = next(i for i, n in expected.items() if n == "tb-rtdump")
        addrs = {(a.index, a.address, a.prefixlen) for a in rtdump.addresses()}
        assert {(index, "10.229.7.1", 24), (index, "fd00:229::1", 64)} <= addrs
        routes = {(r.table, r.dst, r.dst_len, r.oif) for r in rtdump.routes()}
        assert (254, "10.229.7.0", 24, index) in routes
        assert ipaddress.ip_network("10.229.7.0/24") in await links.host_prefixes(set())
        assert ipaddress.ip_network("10.229.7.0/24") not in await links.host_prefixes()
    finally:
        await links.remove_link("tb-rtdump")
        await reaper.drain()
