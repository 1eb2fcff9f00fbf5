"""The `Firewall` protocol: nftables (the real one) and none (for drivers that need none)."""

from __future__ import annotations

from typing import Protocol

from tether.firewall.portrules import Mapping
from tether.model import Endpoint, Network


class Firewall(Protocol):
    """Keeps tether's own nftables tables in step with networks and endpoints.

    Each call is one atomic transaction whose cost does not grow with the number of networks
    or endpoints (set and map elements, one chain per network). Never touches other tables.
    """

    async def setup(self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]],
                    published: tuple[Mapping, ...] = ()) -> None:
        """Replace tether's tables with the complete ruleset for this state (start, reconcile)."""

    async def restore(self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]],
                      published: tuple[Mapping, ...] = ()) -> None:
        """Add back whatever is missing of that ruleset, deleting nothing (after a flush)."""

    async def publish(self, mappings: tuple[Mapping, ...]) -> None:
        """Add a container's published ports (DNAT map elements), one transaction."""

    async def unpublish(self, mappings: tuple[Mapping, ...]) -> None:
        """Drop a container's published ports; absent ones are no error."""

    async def add_network(self, net: Network) -> None:
        """Start isolating, masquerading and filtering for `net`."""

    async def remove_network(self, net: Network) -> None:
        """Drop every rule and element of `net`."""

    async def add_endpoint(self, net: Network, ep: Endpoint) -> None:
        """Add per-endpoint elements (published ports, anti-spoofing); may be a no-op."""

    async def remove_endpoint(self, net: Network, ep: Endpoint) -> None:
        """Drop per-endpoint elements."""

    async def teardown(self) -> None:
        """Delete tether's tables (daemon shutdown with --cleanup, tests)."""
