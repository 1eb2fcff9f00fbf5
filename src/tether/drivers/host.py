"""The `host` driver: the container shares the daemon's network stack; nothing to make."""

from __future__ import annotations

from tether.drivers.base import JoinInfo
from tether.model import Endpoint, Network, NetworkSpec


class HostDriver:
    """Endpoints on `host` have no interface of their own and no kernel objects."""

    def __init__(self, name: str = "host") -> None:
        self.name = name

    def validate(self, spec: NetworkSpec, existing: list[Network]) -> dict[str, str]:
        return dict(spec.options)

    async def create_network(self, net: Network) -> None:
        return None

    async def delete_network(self, net: Network) -> None:
        return None

    async def join(self, net: Network, ep: Endpoint, info: JoinInfo) -> Endpoint:
        return ep

    async def leave(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        return None
