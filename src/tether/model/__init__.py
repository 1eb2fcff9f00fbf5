"""Plain domain objects: frozen dataclasses with no I/O, no back-pointers and no storage fields."""

from tether.model.container import (
    Container,
    ContainerSpec,
    ContainerState,
    ExecSpec,
    Image,
    MountSpec,
    PortBinding,
    Volume,
)
from tether.model.network import (
    Endpoint,
    EndpointRequest,
    IPAMPool,
    Network,
    NetworkSpec,
    PoolRequest,
)

__all__ = [
    "Container", "ContainerSpec", "ContainerState", "Endpoint", "EndpointRequest", "ExecSpec",
    "IPAMPool", "Image", "MountSpec", "Network", "NetworkSpec", "PoolRequest", "PortBinding",
    "Volume",
]
