"""A sorted index of taken address space, for overlap checks and skipping ahead.

Subnets are kept as integer intervals of one IP version. Besides the exact entries (needed to
remove one), the index keeps their union as sorted, disjoint, non-adjacent intervals, so both
"does X overlap anything?" and "where does the taken run that blocks X end?" cost O(log n),
however many networks exist. Adding keeps the union up to date in place; removing marks it
stale and the next query rebuilds it in O(n), since networks are removed far less often than
they are looked up.
"""

from __future__ import annotations

import bisect
from typing import Iterable

from tether.model.network import IPNetwork


def bounds(net: IPNetwork) -> tuple[int, int]:
    """First and last address of `net`, as integers."""
    first = int(net.network_address)
    return first, first + net.num_addresses - 1


class SubnetIndex:
    """Taken subnets of one IP version; add, remove, and find conflicts in O(log n)."""

    def __init__(self, nets: Iterable[IPNetwork] = ()) -> None:
        self._items: list[tuple[int, int]] = sorted(bounds(n) for n in nets)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._stale = True

    def __len__(self) -> int:
        return len(self._items)

    def add(self, net: IPNetwork) -> None:
        first, last = bounds(net)
        bisect.insort(self._items, (first, last))
        if not self._stale:
            self._merge(first, last)

    def remove(self, net: IPNetwork) -> None:
        """Forget one entry equal to `net` (no error when there is none)."""
        item = bounds(net)
        i = bisect.bisect_left(self._items, item)
        if i < len(self._items) and self._items[i] == item:
            del self._items[i]
            self._stale = True

    def overlaps(self, net: IPNetwork) -> bool:
        return self.conflict_end(*bounds(net)) is not None

    def conflict_end(self, first: int, last: int) -> int | None:
        """The last address of the taken run overlapping [first, last], or None when free."""
        self._refresh()
        i = bisect.bisect_right(self._starts, last) - 1
        if i >= 0 and self._ends[i] >= first:
            return self._ends[i]
        return None

    def _refresh(self) -> None:
        if not self._stale:
            return
        self._starts, self._ends = [], []
        for first, last in self._items:
            if self._ends and first <= self._ends[-1] + 1:
                self._ends[-1] = max(self._ends[-1], last)
            else:
                self._starts.append(first)
                self._ends.append(last)
        self._stale = False

    def _merge(self, first: int, last: int) -> None:
        """Fold [first, last] into the union, joining every run it touches."""
        starts, ends = self._starts, self._ends
        lo = bisect.bisect_left(ends, first - 1)
        hi = bisect.bisect_right(starts, last + 1)
        if lo < hi:
            first = min(first, starts[lo])
            last = max(last, ends[hi - 1])
        starts[lo:hi] = [first]
        ends[lo:hi] = [last]
