"""The `host` and `null` drivers: networks with nothing to make in the kernel.

On `host` the container shares the daemon's network stack; on `none` (driver `null`) its
sandbox keeps only `lo`. Either way an endpoint has no interface of its own, so one class
serves both, told apart by name.
"""

from __future__ import annotations

from collections.abc import Collection

from tether.drivers.base import JoinInfo
from tether.model import Endpoint, Network, NetworkSpec


class PlainDriver:
    """A driver without kernel objects; `name` is "host" or "null"."""

    def __init__(self, name: str) -> None:
        self.name = name

    def validate(self, spec: NetworkSpec, existing: Collection[Network], *,
                 net_id: str = "") -> dict[str, str]:
        return dict(spec.options)

    async def create_network(self, net: Network) -> None:
        return None

    async def delete_network(self, net: Network) -> None:
        return None

    async def join(self, net: Network, ep: Endpoint, info: JoinInfo) -> Endpoint:
        return ep

    async def leave(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        return None

    async def release(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """Nothing outside the sandbox outlives it."""
        return None
