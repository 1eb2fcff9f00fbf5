"""The macvlan and ipvlan drivers: containers sit directly on the parent interface's LAN.

Each endpoint is a macvlan (own MAC) or ipvlan (the parent's MAC) interface of the parent,
born in the sandbox under its final name. There is no bridge, no NAT and no published port:
the LAN's own router is the gateway, and tether's firewall does not see these networks.
Without `parent`, the network gets a private parent (`tm-<id12>`, an empty bridge: this
kernel has no dummy links) and, as in Docker, no way out. The kernel never passes frames
between a parent and its macvlan interfaces, so the host cannot reach its own macvlan
containers; `tether.host_access=true` gives it a macvlan interface of its own (`th-<id12>`)
and a host route per container.
"""

from __future__ import annotations

import socket
from collections.abc import Collection
from dataclasses import replace
from typing import Union

from tether.drivers.base import JoinInfo
from tether.drivers.bridge import _sandbox_addresses as sandbox_addresses
from tether.drivers.macvlan_options import (
    HOST_ADDRESS, IpvlanOptions, MacvlanOptions, parse_vlan, shim_name, stub_name,
)
from tether.errors import DriverError, InvalidArgument, NotFound, Unavailable
from tether.kernel import links, netns, sublinks
from tether.model import Endpoint, Network, NetworkSpec

PARENTED_DRIVERS = ("macvlan", "ipvlan")
Options = Union[MacvlanOptions, IpvlanOptions]


def _host_has(name: str) -> bool:
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def vlan_tag(network_id: str) -> str:
    """The alias tether writes on an 802.1Q sub-interface it makes for a network."""
    return "tether:" + network_id[:12]


def has_default_route(net: Network) -> bool:
    """Whether containers on `net` may route through it. A macvlan or ipvlan network is cut
    off when `--internal` or without a parent (Docker: no gateway route then); other drivers
    decide elsewhere."""
    if net.driver not in PARENTED_DRIVERS:
        return True
    return not net.internal and bool(net.options.get("parent"))


def made_links(net: Network) -> tuple[str, ...]:
    """The host links tether makes for a macvlan or ipvlan network, by their tagged names:
    the stub parent (no `parent` given) and the host's interface (`tether.host_access`).
    A VLAN sub-interface is not listed: it carries the user's name, and its alias says
    who made it. Empty for other drivers."""
    if net.driver not in PARENTED_DRIVERS:
        return ()
    made = [] if net.options.get("parent") else [stub_name(net.id)]
    if net.driver == "macvlan" and MacvlanOptions.parse(net.options).host_access:
        made.append(shim_name(net.id))
    return tuple(made)


def check_parent(parent: str, existing: Collection[Network]) -> None:
    """Refuse a parent another macvlan/ipvlan network uses, or one that is not there, with
    Docker's sentences and, like Docker, status 500 (its driver errors carry no kind).

    Raises:
        DriverError: another network uses `parent`; no such interface, and not an
            IFACE.VID whose IFACE exists.
    """
    for other in existing:
        if other.driver in PARENTED_DRIVERS and other.options.get("parent") == parent:
            raise DriverError(
                f"network dm-{other.id[:12]} is already using parent interface {parent}")
    if _host_has(parent):
        return
    vlan = parse_vlan(parent)
    if vlan is None:
        raise DriverError(
            f"invalid subinterface vlan name {parent}, example formatting is eth0.10")
    if not _host_has(vlan.base):
        raise DriverError(f"-o parent interface was not found on the host: {vlan.base}")


class _ParentedDriver:
    """What macvlan and ipvlan share: the parent, its VLAN, the stub, joining and leaving."""

    name = ""

    def parse(self, options: dict[str, str]) -> Options:
        raise NotImplementedError

    def validate(self, spec: NetworkSpec, existing: Collection[Network], *,
                 net_id: str = "") -> dict[str, str]:
        """Parse the options and check the parent (see `check_parent`).

        Raises:
            InvalidArgument, DriverError, NotFound: with one sentence.
        """
        if HOST_ADDRESS in spec.options:
            raise InvalidArgument(f"option {HOST_ADDRESS} is set by tether, not by users")
        opts = self.parse(spec.options)
        if opts.parent:
            check_parent(opts.parent, existing)
        return dict(spec.options)

    async def create_network(self, net: Network) -> None:
        """Make the stub parent or the VLAN sub-interface, then the driver's extras; a
        failure removes what was made."""
        opts = self.parse(net.options)
        try:
            if not opts.parent:
                await links.ensure_bridge(stub_name(net.id))
            elif (vlan := parse_vlan(opts.parent)) is not None:
                await sublinks.ensure_vlan(vlan.name, vlan.base, vlan.vid, vlan_tag(net.id))
            await self.create_extras(net, opts)
        except BaseException:
            await self.delete_network(net)
            raise

    async def create_extras(self, net: Network, opts: Options) -> None:
        return None

    async def delete_network(self, net: Network) -> None:
        """Remove the links tether made for the network; a user's parent stays."""
        opts = self.parse(net.options)
        await links.remove_link(shim_name(net.id))
        if not opts.parent:
            await links.remove_link(stub_name(net.id))
        elif parse_vlan(opts.parent) is not None:
            await sublinks.remove_tagged(opts.parent, vlan_tag(net.id))

    async def join(self, net: Network, ep: Endpoint, info: JoinInfo) -> Endpoint:
        """Create the endpoint's interface in the sandbox, address and route it; on failure
        it is deleted again."""
        opts = self.parse(net.options)
        parent = opts.kernel_parent(net.id)
        try:
            index = socket.if_nametoindex(parent)
        except OSError:
            raise NotFound(f"the parent interface {parent} of network {net.name} was not "
                           "found on the host") from None
        if ep.ipv6 is not None:
            await netns.enable_ipv6(info.sandbox_path)
        await sublinks.create(self.request(ep, index, opts), info.sandbox_path)
        try:
            await links.configure_interface(info.sandbox_path, ep.ifname,
                                            addresses=sandbox_addresses(ep))
            if has_default_route(net):
                await self.route(ep, info, opts)
            await self.join_extras(net, ep, opts)
        except BaseException:
            await links.remove_link(ep.ifname, info.sandbox_path)
            raise
        return self.joined(ep)

    def request(self, ep: Endpoint, parent: int, opts: Options) -> sublinks.LinkRequest:
        raise NotImplementedError

    async def route(self, ep: Endpoint, info: JoinInfo, opts: Options) -> None:
        """Default routes through the LAN's gateway, for the families this endpoint holds them."""
        if info.default_route4 and ep.gateway4 is not None:
            await links.add_default_route(info.sandbox_path, ep.gateway4)
        if info.default_route6 and ep.gateway6 is not None:
            await links.add_default_route(info.sandbox_path, ep.gateway6)

    async def join_extras(self, net: Network, ep: Endpoint, opts: Options) -> None:
        return None

    def joined(self, ep: Endpoint) -> Endpoint:
        return ep

    async def leave(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """Delete the endpoint's interface (and host route); absent objects are success."""
        await self.leave_extras(net, ep)
        await links.remove_link(ep.ifname, info.sandbox_path)

    async def leave_extras(self, net: Network, ep: Endpoint) -> None:
        return None

    async def release(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """The sandbox is about to go, and its interface with it, in the background: set the
        interface down now, so its MAC leaves the parent's table at once (a new container
        given the same address, and so the same MAC, would otherwise be refused with
        EADDRINUSE until the kernel gets round to it)."""
        await self.leave_extras(net, ep)
        if self.exclusive(net):
            await links.remove_link(ep.ifname, info.sandbox_path)
        else:
            await sublinks.set_down(ep.ifname, info.sandbox_path)

    def exclusive(self, net: Network) -> bool:
        """Whether the network's interface holds its parent alone (macvlan passthru): then
        no other macvlan interface may exist on the parent, not even a dying one, so
        `release` deletes it at once (one RCU wait) rather than with the sandbox."""
        return False


class MacvlanDriver(_ParentedDriver):
    """Docker's `macvlan` driver, plus the host's own interface on request."""

    name = "macvlan"

    def parse(self, options: dict[str, str]) -> MacvlanOptions:
        return MacvlanOptions.parse(options)

    def request(self, ep: Endpoint, parent: int, opts: Options) -> sublinks.LinkRequest:
        return sublinks.macvlan_request(ep.ifname, parent, opts.mode, mac=ep.mac)

    def exclusive(self, net: Network) -> bool:
        return MacvlanOptions.parse(net.options).mode == "passthru"

    async def create_extras(self, net: Network, opts: Options) -> None:
        if isinstance(opts, MacvlanOptions) and opts.host_access:
            if opts.host_address is None:
                raise InvalidArgument(f"network {net.name} has no address for the host's "
                                      "interface: it needs an IPv4 subnet")
            await sublinks.ensure_shim(shim_name(net.id), opts.kernel_parent(net.id),
                                       opts.mode, opts.host_address)

    async def join_extras(self, net: Network, ep: Endpoint, opts: Options) -> None:
        if isinstance(opts, MacvlanOptions) and opts.host_access and ep.ipv4 and opts.host_address:
            await sublinks.ensure_host_route(ep.ipv4.ip, shim_name(net.id), opts.host_address.ip)

    async def leave_extras(self, net: Network, ep: Endpoint) -> None:
        if ep.ipv4 is not None:
            await sublinks.remove_host_route(ep.ipv4.ip, shim_name(net.id))


class IpvlanDriver(_ParentedDriver):
    """Docker's `ipvlan` driver: L2 (the LAN's gateway), L3 and L3S (the parent's host
    routes; the default route points at the interface)."""

    name = "ipvlan"

    def parse(self, options: dict[str, str]) -> IpvlanOptions:
        return IpvlanOptions.parse(options)

    def validate(self, spec: NetworkSpec, existing: Collection[Network], *,
                 net_id: str = "") -> dict[str, str]:
        """Refuse at once on a kernel without ipvlan (Docker fails only at container start).

        Raises:
            Unavailable: the kernel has no ipvlan support.
        """
        if not sublinks.kernel_supports("ipvlan"):
            raise Unavailable("cannot create ipvlan network: "
                              + sublinks.missing_kernel_support("ipvlan"))
        return super().validate(spec, existing, net_id=net_id)

    def request(self, ep: Endpoint, parent: int, opts: Options) -> sublinks.LinkRequest:
        assert isinstance(opts, IpvlanOptions)
        return sublinks.ipvlan_request(ep.ifname, parent, opts.mode, opts.flag)

    async def route(self, ep: Endpoint, info: JoinInfo, opts: Options) -> None:
        if isinstance(opts, IpvlanOptions) and opts.mode == "l2":
            await super().route(ep, info, opts)
            return
        for version, wanted, addr in ((4, info.default_route4, ep.ipv4),
                                      (6, info.default_route6, ep.ipv6)):
            if wanted and addr is not None:
                await sublinks.add_device_default_route(info.sandbox_path, ep.ifname, version)

    def joined(self, ep: Endpoint) -> Endpoint:
        """An ipvlan interface has its parent's MAC: the endpoint shows none of its own."""
        return replace(ep, mac="")
