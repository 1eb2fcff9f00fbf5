"""Which addresses of a network are used: a sorted list of integers per network and version.

The book is the allocator's in-memory view; the store holds one key per allocated address and
stays the truth. Reserved addresses (the subnet's network address, the IPv4 broadcast, the
gateway and aux addresses) live only in the book. Addresses handed out but not yet confirmed
by the store are `pending`, so a reload from the store never forgets them.

Finding the lowest free address in a range is a binary search for the first gap in the sorted
list, O(log n) whatever the subnet size; marking one used is one insort.
"""

from __future__ import annotations

import bisect
import ipaddress
from typing import Iterable, Sequence

from tether.model.network import IPAddress, IPAMPool, IPInterface


def reserved(pool: IPAMPool) -> set[int]:
    """Addresses of `pool` that are never handed to an endpoint."""
    net = pool.subnet
    out = {int(net.network_address)}
    if net.version == 4 and net.prefixlen <= 30:
        out.add(int(net.broadcast_address))
    if pool.gateway is not None:
        out.add(int(pool.gateway))
    out.update(int(addr) for _, addr in pool.aux_addresses)
    return out


def dynamic_bounds(pool: IPAMPool) -> tuple[int, int]:
    """The range dynamic allocation draws from: --ip-range when given, else the subnet."""
    net = pool.ip_range or pool.subnet
    first = int(net.network_address)
    return first, first + net.num_addresses - 1


def lowest_free(used: list[int], lo: int, hi: int) -> int | None:
    """The smallest integer in [lo, hi] not in the sorted, duplicate-free list `used`."""
    i = bisect.bisect_left(used, lo)
    a, b = i, bisect.bisect_right(used, hi)
    while a < b:  # used[i:k] == lo..lo+k-i holds for a prefix of k: find where it stops.
        m = (a + b) // 2
        if used[m] == lo + (m - i):
            a = m + 1
        else:
            b = m
    candidate = lo + (a - i)
    return candidate if candidate <= hi else None


def interface(pool: IPAMPool, addr: int) -> IPInterface:
    cls = ipaddress.IPv4Interface if pool.version == 4 else ipaddress.IPv6Interface
    return cls((addr, pool.subnet.prefixlen))


def address(version: int, addr: int) -> IPAddress:
    return ipaddress.IPv4Address(addr) if version == 4 else ipaddress.IPv6Address(addr)


class AddressBook:
    """Used and reserved addresses of one network's pools of one IP version."""

    def __init__(self, pools: Sequence[IPAMPool], stored: Iterable[int]) -> None:
        self.pools = tuple(pools)
        self.reserved: set[int] = set().union(*(reserved(p) for p in self.pools))
        self.pending: set[int] = set()
        self._used: list[int] = []
        self.reload(stored)

    def reload(self, stored: Iterable[int]) -> None:
        """Replace the view of the store's addresses, keeping reserved and pending ones."""
        self._used = sorted(self.reserved | self.pending | set(stored))

    def __contains__(self, addr: int) -> bool:
        i = bisect.bisect_left(self._used, addr)
        return i < len(self._used) and self._used[i] == addr

    def take_lowest(self) -> tuple[IPAMPool, int] | None:
        """Mark the lowest free dynamic address of the first pool with one as pending."""
        for pool in self.pools:
            addr = lowest_free(self._used, *dynamic_bounds(pool))
            if addr is not None:
                self.take(addr)
                return pool, addr
        return None

    def take(self, addr: int) -> None:
        """Mark `addr` used and pending (its store key is being written)."""
        if addr not in self:
            bisect.insort(self._used, addr)
        self.pending.add(addr)

    def settle(self, addr: int, *, used: bool) -> None:
        """The store answered for `addr`: keep it used or give it back."""
        self.pending.discard(addr)
        if not used:
            self.give_back(addr)

    def give_back(self, addr: int) -> None:
        if addr in self.reserved or addr in self.pending:
            return
        i = bisect.bisect_left(self._used, addr)
        if i < len(self._used) and self._used[i] == addr:
            del self._used[i]
