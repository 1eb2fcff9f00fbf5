"""The store-backed allocator, on both local stores: pools, addresses, races, scale."""

from __future__ import annotations

import asyncio
import ipaddress
import time

import pytest

from tether.errors import Conflict, Forbidden, InvalidArgument, NotFound
from tether.ipam.allocator import Ipam
from tether.ipam.pools import DEFAULT_BRIDGE_SUBNET, ULA_PREFIX
from tether.model import IPAMPool, PoolRequest
from tether.store.memory import MemoryStore
from tether.store.sqlite import SqliteStore

N = ipaddress.ip_network
A = ipaddress.ip_address
I = ipaddress.ip_interface


@pytest.fixture
def ipam(store):
    return Ipam(store)


async def pools(ipam, net_id, *reqs, ipv6=False, host=(), **kw):
    return await ipam.allocate_pools(net_id, list(reqs), enable_ipv6=ipv6,
                                     host_prefixes=[N(h) for h in host], **kw)


async def test_default_bridge_then_user_networks(ipam):
    (bridge,) = await pools(ipam, "bridge", default_bridge=True)
    assert bridge == IPAMPool(subnet=DEFAULT_BRIDGE_SUBNET, gateway=A("172.17.0.1"),
                              show_gateway=False)
    (first,) = await pools(ipam, "n1")
    assert first == IPAMPool(subnet=N("172.18.0.0/16"), gateway=A("172.18.0.1"))
    (second,) = await pools(ipam, "n2")
    assert second.subnet == N("172.19.0.0/16")


async def test_released_subnet_is_reused(ipam):
    await pools(ipam, "bridge", default_bridge=True)
    await pools(ipam, "n1")
    await pools(ipam, "n2")
    await ipam.release_pools("n1")
    await ipam.release_pools("n1")  # idempotent
    (again,) = await pools(ipam, "n3")
    assert again.subnet == N("172.18.0.0/16")


async def test_auto_subnet_avoids_host_prefixes(ipam):
    (p,) = await pools(ipam, "n1", host=["172.17.5.0/24", "172.18.0.0/15", "0.0.0.0/0"])
    assert p.subnet == N("172.20.0.0/16")


async def test_no_free_default_pool(ipam, store):
    with pytest.raises(NotFound, match="non-overlapping IPv4 address pool among the defaults"):
        await pools(ipam, "x", host=["0.0.0.0/1", "128.0.0.0/1"])
    assert await store.list("ipam/pools/") == []


async def test_user_subnet_overlap_is_forbidden(ipam):
    await pools(ipam, "bridge", default_bridge=True)
    await pools(ipam, "n1")
    for subnet in ("172.18.0.0/16", "172.18.5.0/24", "172.16.0.0/12", "172.17.0.0/16"):
        with pytest.raises(Forbidden, match="Pool overlaps with other one on this address "):
            await pools(ipam, "x", PoolRequest(subnet=N(subnet)))
    # Docker accepts a user subnet equal to a host prefix; so does tether.
    (p,) = await pools(ipam, "h", PoolRequest(subnet=N("192.0.2.0/24")), host=["192.0.2.0/24"])
    assert p == IPAMPool(subnet=N("192.0.2.0/24"), gateway=A("192.0.2.1"), show_gateway=False,
                         user_subnet=True)


async def test_user_pool_fields(ipam):
    (p,) = await pools(ipam, "s", PoolRequest(subnet=N("10.10.0.0/24"), gateway=A("10.10.0.254"),
                                              ip_range=N("10.10.0.128/25")))
    assert p == IPAMPool(subnet=N("10.10.0.0/24"), gateway=A("10.10.0.254"),
                         ip_range=N("10.10.0.128/25"), show_gateway=True, user_subnet=True)
    (q,) = await pools(ipam, "m", PoolRequest(subnet=N("10.20.0.0/24")), need_gateway=False)
    assert q.gateway is None


async def test_invalid_request_is_refused_before_anything_is_stored(ipam, store):
    with pytest.raises(InvalidArgument):
        await pools(ipam, "x", PoolRequest(subnet=N("10.50.0.0/24"), gateway=A("10.60.0.1")))
    assert await store.list("ipam/") == []


async def test_same_network_id_twice_conflicts(ipam):
    await pools(ipam, "n1")
    with pytest.raises(Conflict):
        await pools(ipam, "n1")


async def test_ipv6_auto_and_user(ipam):
    v4, v6 = await pools(ipam, "a", ipv6=True)
    assert v4.subnet == N("172.17.0.0/16")
    assert v6.subnet.prefixlen == 64 and v6.subnet.subnet_of(N(ULA_PREFIX))
    assert v6.gateway == v6.subnet.network_address + 1 and v6.show_gateway
    v4b, v6b = await pools(ipam, "b", ipv6=True)
    assert not v6b.subnet.overlaps(v6.subnet)
    # Docker's v6net: auto IPv4 first, the user's IPv6 pool without a shown gateway.
    v4c, v6c = await pools(ipam, "c", PoolRequest(subnet=N("fd00:dead:beef::/64")), ipv6=True)
    assert v4c.subnet == N("172.19.0.0/16")
    assert v6c == IPAMPool(subnet=N("fd00:dead:beef::/64"), gateway=A("fd00:dead:beef::1"),
                           show_gateway=False, user_subnet=True)
    with pytest.raises(Forbidden):
        await pools(ipam, "d", PoolRequest(subnet=N("fd00:dead:beef::/80")), ipv6=True)
    # Without --ipv6 a given v6 subnet is still recorded (Docker's v6noflag).
    assert len(await pools(ipam, "e", PoolRequest(subnet=N("fd00:1::/64")))) == 2


async def test_concurrent_creates_never_share_a_subnet(store):
    ipams = [Ipam(store) for _ in range(4)]  # four "daemons" on one store: CAS must decide
    results = await asyncio.gather(*(pools(ipams[i % 4], f"n{i}") for i in range(40)))
    subnets = [p.subnet for (p,) in results]
    assert len(set(subnets)) == 40
    for i, a in enumerate(subnets):
        assert not any(a.overlaps(b) for b in subnets[i + 1:])


async def test_10000_networks():
    """10,000 networks get the pools expected, and a freed one is found again among them
    (how fast is bench/scale.py's business)."""
    ipam = Ipam(MemoryStore())
    last = None
    for i in range(10_000):
        (last,) = await pools(ipam, f"net{i:05d}")
    assert last.subnet == N("10.38.240.0/24")
    await ipam.release_pools("net05000")
    (again,) = await pools(ipam, "again")
    assert again.subnet == N(f"{ipaddress.IPv4Address(int(A('10.0.0.0')) + 256 * 4969)}/24")


async def test_many_networks_on_sqlite(tmp_path):
    store = await SqliteStore.open(str(tmp_path / "s.db"))
    ipam = Ipam(store)
    t0 = time.perf_counter()
    for i in range(2000):
        await pools(ipam, f"net{i:05d}")
    elapsed = time.perf_counter() - t0
    print(f"2,000 networks on SQLite in {elapsed:.2f}s")
    fresh = Ipam(store)  # a restarted daemon reloads the taken subnets from the store
    (p,) = await pools(fresh, "next")
    assert p.subnet == N(f"{ipaddress.IPv4Address(int(A('10.0.0.0')) + 256 * 1969)}/24")
    await store.close()
