"""The `Driver` protocol: what the engine asks of every network driver.

A driver owns the kernel objects of its networks and endpoints (bridges, veths, macvlan links,
VXLAN devices). It never allocates addresses (IPAM does) and never touches the store.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from tether.model import Endpoint, Network, NetworkSpec


@dataclass(frozen=True)
class JoinInfo:
    """How an endpoint sits in its sandbox.

    `sandbox_path` is the bind-mounted netns file; `default_route` says whether this endpoint's
    gateway becomes the sandbox's default route (one endpoint per address family has it).
    """

    sandbox_path: str
    default_route4: bool = False
    default_route6: bool = False


class Driver(Protocol):
    """A network driver. `validate` is pure; every other method is idempotent."""

    name: str

    def validate(self, spec: NetworkSpec, existing: Collection[Network], *,
                 net_id: str = "") -> dict[str, str]:
        """Check `spec` against the driver's rules and the other networks; return the options
        inspect will show (normalised); `net_id` is the id the network will get, for
        messages. Raises InvalidArgument, Conflict or Forbidden."""

    async def create_network(self, net: Network) -> None:
        """Make the network's kernel objects (a bridge holding the gateways, for bridge)."""

    async def delete_network(self, net: Network) -> None:
        """Remove the network's kernel objects; absent objects are not an error."""

    async def join(self, net: Network, ep: Endpoint, info: JoinInfo) -> Endpoint:
        """Plumb `ep` into its sandbox; return it with `host_ifname` filled in."""

    async def leave(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """Unplumb `ep`; absent objects are not an error."""

    async def release(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """Undo what `join` made outside the sandbox, which is about to be deleted (its
        interfaces die with it, in the background); absent objects are not an error."""
