"""Pure IPAM: validation, default pools, subnet choice, the taken-space index."""

from __future__ import annotations

import ipaddress
import random

import pytest

from tether.errors import Forbidden, InvalidArgument, NotFound
from tether.ipam.addresses import AddressBook, lowest_free
from tether.ipam.index import SubnetIndex
from tether.ipam.pools import (
    DEFAULT_BRIDGE_SUBNET, ULA_PREFIX, choose_subnet, default_gateway, first_free,
    validate_requests,
)
from tether.model import IPAMPool, PoolRequest

N = ipaddress.ip_network
A = ipaddress.ip_address


def test_docker_order_of_ipv4_pools():
    assert choose_subnet(4, []) == DEFAULT_BRIDGE_SUBNET == N("172.17.0.0/16")
    assert choose_subnet(4, [N("172.17.0.0/16")]) == N("172.18.0.0/16")
    assert choose_subnet(4, [N("172.17.0.0/16"), N("172.18.0.0/16")]) == N("172.19.0.0/16")
    assert choose_subnet(4, [N("172.16.0.0/12")]) == N("192.168.0.0/20")
    assert choose_subnet(4, [N("172.16.0.0/12"), N("192.168.0.0/16")]) == N("10.0.0.0/24")


def test_lowest_free_is_reused():
    taken = [N("172.17.0.0/16"), N("172.19.0.0/16")]
    assert choose_subnet(4, taken) == N("172.18.0.0/16")


def test_partial_overlap_skips_the_candidate():
    assert choose_subnet(4, [N("172.17.0.0/16"), N("172.18.5.0/24")]) == N("172.19.0.0/16")
    assert choose_subnet(4, [N("172.17.0.0/17")]) == N("172.18.0.0/16")
    assert choose_subnet(4, [N("0.0.0.0/1")]) == N("172.17.0.0/16")


def test_other_version_is_ignored():
    assert choose_subnet(4, [N("fd00::/8")]) == N("172.17.0.0/16")


def test_ipv6_pool_is_deterministic_ula():
    first = choose_subnet(6, [])
    assert first.prefixlen == 64 and first.subnet_of(N(ULA_PREFIX))
    assert N(ULA_PREFIX).subnet_of(N("fd00::/8"))
    second = choose_subnet(6, [first])
    assert second != first and second.subnet_of(N(ULA_PREFIX))
    assert choose_subnet(6, []) == first


def test_at_least_4096_ipv4_subnets():
    """With an index kept across calls (as the allocator keeps one) each choice is cheap."""
    index, subnets = SubnetIndex(), []
    for _ in range(10_000):
        subnets.append(first_free(4, [index]))
        index.add(subnets[-1])
    assert len(set(subnets)) == 10_000
    assert subnets[14] == N("172.31.0.0/16") and subnets[15] == N("192.168.0.0/20")
    assert subnets[31] == N("10.0.0.0/24") and subnets[-1] == N("10.38.240.0/24")


def test_one_choice_among_10000_taken():
    """The first free /24 after 10,000 taken ones, whatever their order (how long it takes
    is bench/scale.py's business, not a test's)."""
    taken = [N((int(A("10.0.0.0")) + 256 * i, 24)) for i in range(10_000)]
    taken += [N("172.16.0.0/12"), N("192.168.0.0/16")]
    random.Random(1).shuffle(taken)
    assert choose_subnet(4, taken) == N("10.39.16.0/24")


def test_exhaustion_raises_docker_sentence():
    with pytest.raises(NotFound, match="non-overlapping IPv4 address pool"):
        choose_subnet(4, [N("0.0.0.0/0")])
    with pytest.raises(NotFound, match="non-overlapping IPv6 address pool"):
        choose_subnet(6, [N("fd00::/8")])


@pytest.mark.parametrize("req, error, text", [
    (PoolRequest(gateway=A("10.50.0.1")), InvalidArgument, "corresponding subnet"),
    (PoolRequest(ip_range=N("10.50.0.0/28")), InvalidArgument, "corresponding subnet"),
    (PoolRequest(subnet=N("10.50.0.0/24"), gateway=A("10.60.0.1")), InvalidArgument,
     "no matching subnet for gateway 10.60.0.1"),
    (PoolRequest(subnet=N("10.50.0.0/24"), gateway=A("fd00::1")), InvalidArgument,
     "no matching subnet for gateway"),
    (PoolRequest(subnet=N("10.50.0.0/24"), ip_range=N("10.51.0.0/28")), InvalidArgument,
     "no matching subnet for range 10.51.0.0/28"),
    (PoolRequest(subnet=N("10.50.0.0/24"), ip_range=N("10.50.0.0/23")), InvalidArgument,
     "no matching subnet for range"),
    (PoolRequest(subnet=N("10.50.0.0/24"), aux_addresses=(("r", A("10.9.0.2")),)),
     InvalidArgument, "aux-address"),
])
def test_invalid_requests(req, error, text):
    with pytest.raises(error, match=text):
        validate_requests([req], enable_ipv6=False)


def test_overlapping_subnets_in_one_request():
    reqs = [PoolRequest(subnet=N("10.0.0.0/16")), PoolRequest(subnet=N("10.0.5.0/24"))]
    with pytest.raises(Forbidden, match="Pool overlaps with other one on this address space"):
        validate_requests(reqs, enable_ipv6=False)
    ok = [PoolRequest(subnet=N("10.0.0.0/24")), PoolRequest(subnet=N("10.0.1.0/24")),
          PoolRequest(subnet=N("fd00::/64"), gateway=A("fd00::9"))]
    validate_requests(ok, enable_ipv6=True)


def test_default_gateway():
    assert default_gateway(N("10.0.0.0/24"), None) == A("10.0.0.1")
    assert default_gateway(N("10.10.0.0/24"), N("10.10.0.128/25")) == A("10.10.0.128")
    assert default_gateway(N("10.10.0.0/24"), N("10.10.0.0/25")) == A("10.10.0.1")
    assert default_gateway(N("fd00::/64"), N("fd00::8000:0:0:0/80")) == A("fd00::1")
    assert default_gateway(N("10.0.0.0/31"), None) is None


def test_index_against_brute_force():
    rng = random.Random(7)
    index, nets = SubnetIndex(), []
    for step in range(3000):
        if nets and rng.random() < 0.3:
            net = nets.pop(rng.randrange(len(nets)))
            index.remove(net)
        else:
            net = N((rng.getrandbits(16) << 16, rng.randint(12, 28)), strict=False)
            nets.append(net)
            index.add(net)
        probe = N((rng.getrandbits(32), rng.randint(8, 32)), strict=False)
        assert index.overlaps(probe) == any(probe.overlaps(n) for n in nets), step
    assert len(index) == len(nets)


def test_index_add_merges_runs():
    index = SubnetIndex()
    for net in ("10.0.2.0/24", "10.0.0.0/24", "10.0.4.0/24", "10.0.1.0/24", "10.0.3.0/24"):
        index.add(N(net))
    first, last = int(A("10.0.0.0")), int(A("10.0.4.255"))
    assert index.conflict_end(first, first) == last
    assert index.conflict_end(last + 1, last + 10) is None


def test_lowest_free():
    assert lowest_free([], 5, 9) == 5
    assert lowest_free([5, 6, 7], 5, 9) == 8
    assert lowest_free([1, 2, 5, 6, 8], 5, 9) == 7
    assert lowest_free([5, 6, 7, 8, 9], 5, 9) is None
    assert lowest_free(list(range(0, 100000)) + [100001], 0, 200000) == 100000


def test_address_book_reserves_and_respects_range():
    pool = IPAMPool(subnet=N("10.10.0.0/24"), gateway=A("10.10.0.254"),
                    ip_range=N("10.10.0.128/25"), aux_addresses=(("r", A("10.10.0.128")),))
    book = AddressBook([pool], stored=[int(A("10.10.0.129"))])
    assert book.take_lowest() == (pool, int(A("10.10.0.130")))
    got = [book.take_lowest()[1] for _ in range(123)]
    assert max(got) == int(A("10.10.0.253"))
    assert book.take_lowest() is None  # .254 gateway, .255 broadcast
