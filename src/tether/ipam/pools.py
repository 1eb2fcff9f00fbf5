"""Which subnets a network may get: Docker's default pools, then many more; and validation.

Automatic subnets are handed out lowest-free-first from these ranges, in this order:

IPv4
  1. 172.17.0.0/16 ... 172.31.0.0/16 as /16s (Docker's order: the default bridge takes
     172.17.0.0/16, the first user network 172.18.0.0/16, and so on);
  2. 192.168.0.0/16 as /20s (Docker's next pool);
  3. 10.0.0.0/8 as /24s (65,536 more, where Docker gives up after about 31 networks).
IPv6 (only with enable_ipv6 and no IPv6 subnet given; Docker 20.10 fails there)
  4. the ULA /48 fdXX:XXXX:XXXX::/48 whose 40-bit global id is the start of
     sha256("tether"), as /64s: deterministic, so every host and restart agrees.

Docker hands its /16s out round-robin within one daemon run; tether always takes the lowest
free one, which is what Docker does after a restart and keeps the choice a pure function of
what is taken. A candidate is skipped when it overlaps a taken subnet (other networks, and for
bridges the host's own prefixes); skipping jumps past the whole taken run at once, so finding
a subnet costs O(runs * log n), not O(n), and no candidate list is ever built.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Iterator, Sequence

from tether.errors import Forbidden, InvalidArgument, NotFound
from tether.ipam.index import SubnetIndex, bounds
from tether.model.network import IPAddress, IPAMPool, IPNetwork, PoolRequest

DEFAULT_BRIDGE_SUBNET = ipaddress.IPv4Network("172.17.0.0/16")
OVERLAP = "Pool overlaps with other one on this address space"


@dataclass(frozen=True)
class PoolRange:
    """Candidate subnets: every aligned /`prefixlen` from `first` up to `last` (integers)."""

    version: int
    first: int
    last: int
    prefixlen: int

    @classmethod
    def of(cls, first: str, last: str, prefixlen: int) -> PoolRange:
        lo, hi = ipaddress.ip_network(first), ipaddress.ip_network(last)
        return cls(lo.version, bounds(lo)[0], bounds(hi)[1], prefixlen)

    @property
    def size(self) -> int:
        return 1 << ((32 if self.version == 4 else 128) - self.prefixlen)

    def network(self, start: int) -> IPNetwork:
        cls = ipaddress.IPv4Network if self.version == 4 else ipaddress.IPv6Network
        return cls((start, self.prefixlen))


def ula_prefix(seed: bytes = b"tether") -> str:
    """The fd00::/8 /48 derived from `seed` (RFC 4193 style: fd + 40 bits)."""
    gid = hashlib.sha256(seed).digest()[:5]
    words = [0xFD00 | gid[0], gid[1] << 8 | gid[2], gid[3] << 8 | gid[4]]
    return ":".join(f"{w:x}" for w in words) + "::/48"


ULA_PREFIX = ula_prefix()
DEFAULT_POOLS: dict[int, tuple[PoolRange, ...]] = {
    4: (
        PoolRange.of("172.17.0.0/16", "172.31.0.0/16", 16),
        PoolRange.of("192.168.0.0/16", "192.168.0.0/16", 20),
        PoolRange.of("10.0.0.0/8", "10.0.0.0/8", 24),
    ),
    6: (PoolRange.of(ULA_PREFIX, ULA_PREFIX, 64),),
}


def validate_requests(requests: Sequence[PoolRequest], enable_ipv6: bool) -> None:
    """Check every IPAM.Config entry alone and against its siblings, before anything is made.

    Raises:
        InvalidArgument: a gateway, ip-range or aux address without a subnet, or outside it.
        Forbidden: two requested subnets overlap.
    """
    del enable_ipv6  # An IPv6 subnet without --ipv6 is recorded but unused, as in Docker.
    for req in requests:
        validate_request(req)
    for version in (4, 6):
        index = SubnetIndex()
        for req in requests:
            if req.subnet is not None and req.subnet.version == version:
                if index.overlaps(req.subnet):
                    raise Forbidden(OVERLAP)
                index.add(req.subnet)


def validate_request(req: PoolRequest) -> None:
    if req.subnet is None:
        if req.ip_range is not None or req.gateway is not None or req.aux_addresses:
            raise InvalidArgument("every ip-range or gateway must have a corresponding subnet")
        return
    if req.gateway is not None and req.gateway not in req.subnet:
        raise InvalidArgument(f"no matching subnet for gateway {req.gateway}")
    if req.ip_range is not None and not (
        req.ip_range.version == req.subnet.version and req.ip_range.subnet_of(req.subnet)
    ):
        raise InvalidArgument(f"no matching subnet for range {req.ip_range}")
    for name, addr in req.aux_addresses:
        if addr not in req.subnet:
            raise InvalidArgument(f"no matching subnet for aux-address {addr} ({name})")


def choose_subnet(version: int, taken: Sequence[IPNetwork]) -> IPNetwork:
    """The lowest default-pool subnet of `version` overlapping nothing in `taken`.

    Raises:
        NotFound: every candidate overlaps (Docker's sentence and status).
    """
    index = SubnetIndex(net for net in taken if net.version == version)
    return first_free(version, [index])


def first_free(version: int, taken: Sequence[SubnetIndex]) -> IPNetwork:
    """Like `choose_subnet`, over ready indexes (the allocator keeps one across calls)."""
    for pool in DEFAULT_POOLS[version]:
        for start in free_starts(pool, taken):
            return pool.network(start)
    raise NotFound(
        f"could not find an available, non-overlapping IPv{version} address pool among the "
        "defaults to assign to the network"
    )


def free_starts(pool: PoolRange, taken: Sequence[SubnetIndex]) -> Iterator[int]:
    """Yield the start of each free candidate in `pool`, jumping over taken runs."""
    size = pool.size
    start = pool.first
    while start + size - 1 <= pool.last:
        blocked = [end for idx in taken if (end := idx.conflict_end(start, start + size - 1))
                   is not None]
        if not blocked:
            yield start
            start += size
            continue
        start = (max(blocked) + size) // size * size


def usable_host_prefixes(prefixes: Sequence[IPNetwork]) -> list[IPNetwork]:
    """Host prefixes an automatic subnet must avoid: all but default routes (/0)."""
    return [p for p in prefixes if p.prefixlen > 0]


def plan_pools(
    requests: Sequence[PoolRequest],
    taken: dict[int, SubnetIndex],
    host: dict[int, SubnetIndex],
    *,
    enable_ipv6: bool,
    need_gateway: bool,
    default_bridge: bool,
) -> tuple[IPAMPool, ...]:
    """The pools a new network gets: IPv4 first, then IPv6, user order within a version.

    A user subnet may overlap a host prefix (Docker accepts that) but no other network; an
    automatic one avoids both. Every network gets IPv4; IPv6 only when asked for.

    Raises:
        Forbidden: a user subnet overlaps another network's pool.
        NotFound: no default pool is free.
    """
    pools: list[IPAMPool] = []
    for version in (4, 6):
        mine = [r for r in requests if r.subnet is not None and r.subnet.version == version]
        for req in mine:
            if taken[version].overlaps(req.subnet):
                raise Forbidden(OVERLAP)
            pools.append(user_pool(req, need_gateway, default_bridge))
        if not mine and (version == 4 or enable_ipv6):
            subnet = first_free(version, [taken[version], host[version]])
            gateway = default_gateway(subnet, None) if need_gateway else None
            pools.append(IPAMPool(subnet=subnet, gateway=gateway,
                                  show_gateway=not default_bridge and gateway is not None))
    return tuple(pools)


def user_pool(req: PoolRequest, need_gateway: bool, default_bridge: bool) -> IPAMPool:
    """Docker shows a gateway only when the user gave it; it still picks one for the bridge."""
    gateway = req.gateway
    if gateway is None and need_gateway:
        gateway = default_gateway(req.subnet, req.ip_range)
    return IPAMPool(
        subnet=req.subnet, gateway=gateway, ip_range=req.ip_range,
        aux_addresses=req.aux_addresses,
        show_gateway=req.gateway is not None and not default_bridge, user_subnet=True,
    )


def default_gateway(subnet: IPNetwork, ip_range: IPNetwork | None) -> IPAddress | None:
    """IPv6: subnet::1. IPv4: the first address dynamic allocation would hand out (Docker
    takes the gateway from --ip-range when one is given). None when the subnet has no room."""
    first = subnet.network_address
    if subnet.version == 4 and ip_range is not None:
        first = ip_range.network_address
    candidate = first + 1 if first == subnet.network_address else first
    return candidate if candidate in subnet and subnet.num_addresses > 2 else None
