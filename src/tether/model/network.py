"""Networks and endpoints, in Docker's Container Network Model nouns.

Invariants: a `Network` has a 64-hex `id` and a unique `name`; each `IPAMPool` has a concrete
subnet and (for drivers that route) a concrete gateway; an `Endpoint` belongs to exactly one
network and one container and never holds a reference to either, only their ids.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Union

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]

BUILTIN_NETWORKS = ("bridge", "host", "none")


@dataclass(frozen=True)
class PoolRequest:
    """One `IPAM.Config` entry as the user asked for it: every field may be missing."""

    subnet: IPNetwork | None = None
    ip_range: IPNetwork | None = None
    gateway: IPAddress | None = None
    aux_addresses: tuple[tuple[str, IPAddress], ...] = ()


@dataclass(frozen=True)
class IPAMPool:
    """One allocated subnet of a network.

    `gateway` is the address the bridge holds (None for drivers without one); `show_gateway`
    says whether inspect prints it, as Docker prints it only when it chose the subnet itself or
    the user gave one; `user_subnet` says whether static addresses (--ip) are allowed.
    """

    subnet: IPNetwork
    gateway: IPAddress | None = None
    ip_range: IPNetwork | None = None
    aux_addresses: tuple[tuple[str, IPAddress], ...] = ()
    show_gateway: bool = True
    user_subnet: bool = False

    @property
    def version(self) -> int:
        return self.subnet.version


@dataclass(frozen=True)
class NetworkSpec:
    """What `network create` asked for, parsed and typed at the API edge, not yet validated."""

    name: str
    driver: str = "bridge"
    ipam_driver: str = "default"
    ipam_options: dict[str, str] | None = None
    pools: tuple[PoolRequest, ...] = ()
    enable_ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    config_only: bool = False
    config_from: str = ""
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    scope: str = ""


@dataclass(frozen=True)
class Network:
    """A created network; `options` are the driver options exactly as inspect shows them."""

    id: str
    name: str
    driver: str
    created: str
    scope: str = "local"
    ipam_driver: str = "default"
    ipam_options: dict[str, str] | None = None
    pools: tuple[IPAMPool, ...] = ()
    enable_ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    config_only: bool = False
    config_from: str = ""
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        """The predefined networks are the only ones users cannot remove."""
        return self.name in BUILTIN_NETWORKS and self.driver in ("bridge", "host", "null")

    def pools_of(self, version: int) -> tuple[IPAMPool, ...]:
        return tuple(p for p in self.pools if p.version == version)


@dataclass(frozen=True)
class EndpointRequest:
    """What a container asked of one network (`EndpointsConfig` entry or `network connect`)."""

    ipv4: ipaddress.IPv4Address | None = None
    ipv6: ipaddress.IPv6Address | None = None
    link_local_ips: tuple[IPAddress, ...] = ()
    aliases: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mac_address: str = ""
    driver_opts: dict[str, str] = field(default_factory=dict)
    gw_priority: int = 0

    @property
    def has_ipam_config(self) -> bool:
        return self.ipv4 is not None or self.ipv6 is not None or bool(self.link_local_ips)


@dataclass(frozen=True)
class Endpoint:
    """One attachment of one sandbox to one network, as allocated and plumbed.

    `ifname` is the interface name inside the sandbox (eth0, eth1...); `host_ifname` is the
    host side of the veth (None for drivers without one).
    """

    id: str
    network_id: str
    container_id: str
    ifname: str
    mac: str
    request: EndpointRequest = EndpointRequest()
    ipv4: ipaddress.IPv4Interface | None = None
    ipv6: ipaddress.IPv6Interface | None = None
    gateway4: ipaddress.IPv4Address | None = None
    gateway6: ipaddress.IPv6Address | None = None
    host_ifname: str | None = None
    aliases: tuple[str, ...] = ()
