"""Kernel limits that bite at scale, seen before they bite.

The neighbour (ARP/NDP) table is one table for the whole kernel, shared by every network
namespace, and its garbage-collection thresholds (net.ipv4.neigh.default.gc_thresh1/2/3,
128/512/1024 by default) are visible and settable only from the initial namespace. Each
endpoint costs about two entries: the host's bridge learns the container, and the container
learns its gateway (more when containers talk to each other). Past gc_thresh3 the kernel
drops new entries ("neighbour table overflow") and connections stall.

The policy is a pure function of (endpoints, thresholds): when the need nears the hard limit,
tether raises the thresholds where it can (it runs in the initial namespace), and warns where
it cannot (a daemon in a namespace of its own), in its log and in /info's Warnings. The
bridge's own limit (1,023 ports) is refused by the bridge driver, from the kernel's EXFULL.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from tether.errors import KernelError
from tether.kernel.sysctl import get_sysctl, set_sysctl

log = logging.getLogger(__name__)

KERNEL_DEFAULTS = (128, 512, 1024)
ENTRIES_PER_ENDPOINT = 2
HEADROOM = 128  # the host's own neighbours
FAMILIES = ("ipv4", "ipv6")
# thresholds are read again after this many seconds (a check runs at every start, and six
# sysctl reads cost more than the rest of it): an admin's change is seen this late at most
REREAD_AFTER = 5.0


@dataclass(frozen=True)
class NeighPlan:
    """What to do about the neighbour table for a number of endpoints."""

    need: int
    raise_to: tuple[int, int, int] | None = None
    warning: str | None = None
    # the need is past gc_thresh3 itself, not only near it
    over: bool = False


def plan(endpoints: int, thresholds: tuple[int, int, int] | None) -> NeighPlan:
    """Raise (when `thresholds` could be read, so can be written) or warn, once the need
    passes half of gc_thresh3; never lower a threshold someone set higher.

    `thresholds` is None when this namespace cannot see them (not the initial one): the
    kernel's defaults are assumed, and only a warning is possible.
    """
    need = endpoints * ENTRIES_PER_ENDPOINT + HEADROOM
    current = thresholds or KERNEL_DEFAULTS
    if need * 2 <= current[2]:
        return NeighPlan(need)
    if thresholds is None:
        over = need > current[2]
        return NeighPlan(need, over=over, warning=(
            f"{endpoints} endpoints need about {need} neighbour entries, "
            f"{'past' if over else 'near'} the kernel's limit (gc_thresh3, {current[2]} by "
            "default, shared by all namespaces): raise "
            "net.ipv4.neigh.default.gc_thresh1/2/3 and the ipv6 ones on the host"
        ))
    hard = 1 << (need * 4 - 1).bit_length()  # a power of two with room to grow
    target = (max(current[0], hard // 8), max(current[1], hard // 2), max(current[2], hard))
    return NeighPlan(need, raise_to=target)


def read_thresholds(family: str) -> tuple[int, int, int] | None:
    """gc_thresh1..3 of `family`, or None where this namespace cannot see them."""
    try:
        return tuple(  # type: ignore[return-value]
            int(get_sysctl(f"net.{family}.neigh.default.gc_thresh{i}")) for i in (1, 2, 3)
        )
    except (KernelError, OSError, ValueError):
        return None


class NeighbourBudget:
    """Keeps the neighbour thresholds ahead of the endpoint count, or says why it cannot."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.warnings: list[str] = []
        # what the log last said: None, "near" or "past"; it speaks again only when this
        # changes, while /info's warning always carries the current count
        self.logged: str | None = None
        self.clock = clock
        self.seen: dict[str, tuple[float, tuple[int, int, int] | None]] = {}

    def thresholds(self, family: str) -> tuple[int, int, int] | None:
        """The family's thresholds as read at most REREAD_AFTER seconds ago."""
        now = self.clock()
        seen = self.seen.get(family)
        if seen is None or now - seen[0] >= REREAD_AFTER:
            seen = self.seen[family] = (now, read_thresholds(family))
        return seen[1]

    def check(self, endpoints: int) -> None:
        """Act on the plan for `endpoints` in each family; cheap when there is nothing to do."""
        warnings = []
        for family in FAMILIES:
            result = plan(endpoints, self.thresholds(family))
            if result.raise_to is not None:
                self.seen.pop(family, None)  # read what the kernel took, next time
                self.apply(family, result)
            elif result.warning is not None:
                warnings.append(result)
        level = ("past" if warnings[0].over else "near") if warnings else None
        if level is not None and level != self.logged:
            log.warning("%s", warnings[0].warning)
        self.logged = level
        self.warnings = [w.warning for w in warnings[:1] if w.warning]

    @staticmethod
    def apply(family: str, result: NeighPlan) -> None:
        for i, value in enumerate(result.raise_to or (), start=1):
            try:
                set_sysctl(f"net.{family}.neigh.default.gc_thresh{i}", str(value))
            except KernelError as exc:
                log.warning("cannot raise %s neighbour threshold %d: %s", family, i, exc)
                return
        log.warning("raised net.%s.neigh.default.gc_thresh1/2/3 to %s for about %d "
                    "neighbour entries", family, "/".join(map(str, result.raise_to or ())),
                    result.need)
