"""Endpoint addresses from the store-backed allocator, on both local stores."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from tether.errors import Forbidden, InvalidArgument, KernelError
from tether.ipam.allocator import Ipam
from tether.model import PoolRequest
from tether.store.sqlite import SqliteStore

N = ipaddress.ip_network
A = ipaddress.ip_address
I = ipaddress.ip_interface


@pytest.fixture
def ipam(store):
    return Ipam(store)


async def network(ipam, net_id, *reqs, ipv6=False):
    return await ipam.allocate_pools(net_id, list(reqs), enable_ipv6=ipv6, host_prefixes=[])


async def test_lowest_free_first_and_reuse(ipam):
    pools = await network(ipam, "n")
    got = [await ipam.allocate_address("n", pools, 4, owner=f"e{i}") for i in range(3)]
    assert got == [I("172.17.0.2/16"), I("172.17.0.3/16"), I("172.17.0.4/16")]
    await ipam.release_address("n", A("172.17.0.3"))
    await ipam.release_address("n", A("172.17.0.3"))  # idempotent
    assert await ipam.allocate_address("n", pools, 4, owner="e9") == I("172.17.0.3/16")
    assert await ipam.used("n") == {"172.17.0.2": "e0", "172.17.0.3": "e9", "172.17.0.4": "e2"}


async def test_no_pool_of_that_version_gives_none(ipam):
    pools = await network(ipam, "n")
    assert await ipam.allocate_address("n", pools, 6, owner="e") is None


async def test_exhaustion_of_a_slash_30(ipam):
    """Docker's tiny_net: .0 network, .1 gateway, .3 broadcast: one address, then 500."""
    pools = await network(ipam, "tiny", PoolRequest(subnet=N("10.11.0.0/30")))
    assert await ipam.allocate_address("tiny", pools, 4, owner="a") == I("10.11.0.2/30")
    with pytest.raises(KernelError) as err:
        await ipam.allocate_address("tiny", pools, 4, owner="b", name="tiny_net")
    assert str(err.value) == (
        "no available IPv4 addresses on this network's address pools: tiny_net (tiny)")
    assert err.value.status == 500
    await ipam.release_address("tiny", A("10.11.0.2"))
    assert await ipam.allocate_address("tiny", pools, 4, owner="b") == I("10.11.0.2/30")


async def test_ip_range_limits_dynamic_but_not_static(ipam):
    """Docker's static_net: dynamic addresses from .128/25, static anywhere in the /24."""
    pools = await network(ipam, "s", PoolRequest(
        subnet=N("10.10.0.0/24"), gateway=A("10.10.0.254"), ip_range=N("10.10.0.128/25")))
    st1 = await ipam.allocate_address("s", pools, 4, owner="st1", requested=A("10.10.0.10"))
    assert st1 == I("10.10.0.10/24")
    assert await ipam.allocate_address("s", pools, 4, owner="st2") == I("10.10.0.128/24")
    dynamic = [await ipam.allocate_address("s", pools, 4, owner=f"d{i}") for i in range(125)]
    assert dynamic[-1] == I("10.10.0.253/24")
    with pytest.raises(KernelError):
        await ipam.allocate_address("s", pools, 4, owner="late")
    assert await ipam.allocate_address("s", pools, 4, owner="x", requested=A("10.10.0.11"))


async def test_static_address_errors(ipam):
    pools = await network(ipam, "s", PoolRequest(subnet=N("10.10.0.0/24"), gateway=A(
        "10.10.0.254")))
    await ipam.allocate_address("s", pools, 4, owner="st1", requested=A("10.10.0.10"))
    for taken in ("10.10.0.10", "10.10.0.254", "10.10.0.0", "10.10.0.255"):
        with pytest.raises(Forbidden, match="^Address already in use$"):
            await ipam.allocate_address("s", pools, 4, owner="x", requested=A(taken))
    with pytest.raises(InvalidArgument, match="^Invalid address 10.20.0.5: It does not belong "
                                              "to any of this network's subnets$"):
        await ipam.allocate_address("s", pools, 4, owner="x", requested=A("10.20.0.5"))
    with pytest.raises(InvalidArgument, match="only when connecting to networks with user conf"):
        await ipam.allocate_address("s", pools, 6, owner="x", requested=A("fd00:1::5"))
    assert list(await ipam.used("s")) == ["10.10.0.10"]


async def test_static_address_needs_a_user_subnet(ipam):
    pools = await network(ipam, "auto")
    with pytest.raises(InvalidArgument, match="user configured subnets"):
        await ipam.allocate_address("auto", pools, 4, owner="x", requested=A("172.17.0.50"))


async def test_aux_addresses_are_skipped(ipam):
    """Docker's opts_net: router=10.77.0.2 is never handed out."""
    pools = await network(ipam, "o", PoolRequest(subnet=N("10.77.0.0/24"),
                                                 aux_addresses=(("router", A("10.77.0.2")),)))
    assert await ipam.allocate_address("o", pools, 4, owner="a") == I("10.77.0.3/24")
    with pytest.raises(Forbidden):
        await ipam.allocate_address("o", pools, 4, owner="b", requested=A("10.77.0.2"))


async def test_ipv6_addresses(ipam):
    pools = await network(ipam, "v6", PoolRequest(subnet=N("fd00:dead:beef::/64")), ipv6=True)
    v4 = await ipam.allocate_address("v6", pools, 4, owner="a")
    v6 = await ipam.allocate_address("v6", pools, 6, owner="a")
    assert v4 == I("172.17.0.2/16") and v6 == I("fd00:dead:beef::2/64")
    v6b = await ipam.allocate_address("v6", pools, 6, owner="b", requested=A("fd00:dead:beef::100"))
    assert v6b == I("fd00:dead:beef::100/64")
    with pytest.raises(Forbidden):
        await ipam.allocate_address("v6", pools, 6, owner="c", requested=A("fd00:dead:beef::1"))
    assert await ipam.allocate_address("v6", pools, 6, owner="c") == I("fd00:dead:beef::3/64")
    auto = await network(ipam, "v6auto", ipv6=True)
    assert await ipam.allocate_address("v6auto", auto, 6, owner="x") == I(
        f"{auto[1].subnet.network_address + 2}/64")


async def test_100_concurrent_allocations_are_distinct(ipam):
    pools = await network(ipam, "n")
    got = await asyncio.gather(*(ipam.allocate_address("n", pools, 4, owner=f"e{i}")
                                 for i in range(100)))
    assert len(set(got)) == 100
    assert sorted(got) == [I(f"172.17.{(i + 2) // 256}.{(i + 2) % 256}/16") for i in range(100)]


async def test_two_allocators_on_one_store_never_collide(store):
    """Two daemons sharing a store (etcd-style): the per-address CAS decides."""
    first, second = Ipam(store), Ipam(store)
    pools = await network(first, "n", PoolRequest(subnet=N("10.0.0.0/26")))
    got = await asyncio.gather(*(
        (first if i % 2 else second).allocate_address("n", pools, 4, owner=f"e{i}")
        for i in range(61)))
    assert len(set(got)) == 61
    with pytest.raises(KernelError):
        await second.allocate_address("n", pools, 4, owner="late")
    await first.release_address("n", got[0].ip)
    assert await second.allocate_address("n", pools, 4, owner="late") == got[0]


async def test_release_pools_drops_addresses(ipam, store):
    pools = await network(ipam, "n")
    await ipam.allocate_address("n", pools, 4, owner="a")
    await ipam.release_pools("n")
    assert await ipam.used("n") == {}
    assert await store.list("ipam/pools/") == []


async def test_allocations_survive_a_restart(tmp_path):
    path = str(tmp_path / "s.db")
    store = await SqliteStore.open(path)
    ipam = Ipam(store)
    pools = await network(ipam, "n")
    await ipam.allocate_address("n", pools, 4, owner="a")
    await store.close()
    store = await SqliteStore.open(path)
    ipam = Ipam(store)
    assert await ipam.used("n") == {"172.17.0.2": "a"}
    assert await ipam.allocate_address("n", pools, 4, owner="b") == I("172.17.0.3/16")
    (other,) = await network(ipam, "m")
    assert other.subnet == N("172.18.0.0/16")
    await store.close()
