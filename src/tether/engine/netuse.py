"""Which networks a start or connect is plumbing into right now, so a remove cannot race it.

An endpoint is recorded only when its start or connect ends; until then `in_use` cannot see
it. Without this count, `network rm` between the plumbing and the record deleted the bridge
under a fresh veth and released the pool of an address just handed out (found by
tools/crash-soak: a masterless veth outlived both). Both sides check and mark synchronously,
with no await in between, so one of them always sees the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from tether.errors import Forbidden, NotFound


class NetworkUse:
    """Counts plumbings under way per network id and the networks being removed."""

    def __init__(self, networks: dict) -> None:
        self.networks = networks  # the state's id -> Network, read only
        self.active: Counter[str] = Counter()
        self.removing: set[str] = set()

    @contextmanager
    def joining(self, net_ids: list[str]) -> Iterator[None]:
        """Hold the networks for a plumbing; refuse one that is gone or being removed."""
        for net_id in net_ids:
            if net_id in self.removing or net_id not in self.networks:
                raise NotFound(f"network {net_id} not found")
        self.active.update(net_ids)
        try:
            yield
        finally:
            self.active.subtract(net_ids)
            for net_id in net_ids:
                if self.active[net_id] <= 0:
                    del self.active[net_id]

    @contextmanager
    def removal(self, name: str, net_id: str) -> Iterator[None]:
        """Mark a network as being removed; refuse while a plumbing into it is under way."""
        if self.active[net_id] > 0:
            raise Forbidden(f"error while removing network: network {name} id {net_id} "
                            "has active endpoints")
        self.removing.add(net_id)
        try:
            yield
        finally:
            self.removing.discard(net_id)
