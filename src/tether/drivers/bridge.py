"""The bridge driver: one Linux bridge per network holding the gateways, one veth per endpoint.

Kernel names are tagged and derived from ids (`tb-<id12>` bridges, `tv<digest10>` veths) so
reconcile can find leftovers and tether never touches a link it did not make.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections.abc import Collection
from dataclasses import replace

from tether.drivers.base import JoinInfo
from tether.drivers.bridge_options import BridgeOptions
from tether.errors import Forbidden
from tether.kernel import links, netns
from tether.model import Endpoint, Network, NetworkSpec
from tether.model.network import IPInterface

VETH_PREFIX = "tv"


def veth_name(endpoint_id: str) -> str:
    """The host side of an endpoint's veth: fixed prefix + 10 hex of a digest of its id."""
    return VETH_PREFIX + hashlib.sha256(endpoint_id.encode()).hexdigest()[:10]


def _host_has_interface(name: str) -> bool:
    """Ask the kernel (of the calling thread's netns) whether a link called `name` exists."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def _gateways(net: Network) -> list[IPInterface]:
    return [
        ipaddress.ip_interface(f"{p.gateway}/{p.subnet.prefixlen}") for p in net.pools if p.gateway
    ]


def _sandbox_addresses(ep: Endpoint) -> list[IPInterface]:
    """The endpoint's addresses plus its link-local ones (/16 for IPv4, /64 for IPv6)."""
    found: list[IPInterface] = [a for a in (ep.ipv4, ep.ipv6) if a is not None]
    for ll in ep.request.link_local_ips:
        found.append(ipaddress.ip_interface(f"{ll}/{16 if ll.version == 4 else 64}"))
    return found


class BridgeDriver:
    """Docker's `bridge` driver on a Linux bridge; isolation is the firewall's job."""

    def __init__(self, name: str = "bridge") -> None:
        self.name = name

    def validate(self, spec: NetworkSpec, existing: Collection[Network], *,
                 net_id: str = "") -> dict[str, str]:
        """Parse the options and refuse a bridge name someone else already has.

        Raises:
            InvalidArgument: an option has a bad value.
            Forbidden: another network uses that bridge name (Docker's 403 and sentence), or a
                host interface not made for this network already has that name.
        """
        opts = BridgeOptions.parse(spec.options)
        name = opts.bridge_name
        if name is None:
            return dict(spec.options)
        for other in existing:
            if other.driver == self.name and BridgeOptions.parse(other.options).kernel_name(other.id) == name:
                raise Forbidden(f"cannot create network {net_id} ({name}): conflicts with network "
                                f"{other.id} ({name}): networks have same bridge name")
        if not opts.default_bridge and _host_has_interface(name):
            raise Forbidden(f"bridge name {name} is already used by a host interface")
        return dict(spec.options)

    async def create_network(self, net: Network) -> None:
        opts = BridgeOptions.parse(net.options)
        await links.ensure_bridge(opts.kernel_name(net.id), mtu=opts.mtu, addresses=_gateways(net))

    async def delete_network(self, net: Network) -> None:
        """Remove the gateway addresses, then retire the bridge as a spare for the next
        network (`kernel.reaper`). In this order the kernel deletes each address's few
        routes; a link that goes down with routes on it makes the kernel walk every route
        of the host (`fib_flush`), holding the rtnl lock: 2.5 ms with 10,000 bridges."""
        opts = BridgeOptions.parse(net.options)
        name = opts.kernel_name(net.id)
        gateways = _gateways(net)
        await links.remove_addresses(name, gateways)
        await links.retire_bridge(name, mtu_set=opts.mtu is not None,
                                  ipv6=any(g.version == 6 for g in gateways))

    async def join(self, net: Network, ep: Endpoint, info: JoinInfo) -> Endpoint:
        """Create the veth with its peer born in the sandbox, address it and route it.

        On failure the host veth is removed (its peer goes with it), so nothing half made stays.
        """
        opts = BridgeOptions.parse(net.options)
        host = veth_name(ep.id)
        if ep.ipv6 is not None:
            await netns.enable_ipv6(info.sandbox_path)
        try:
            await links.create_veth(
                host, ep.ifname, info.sandbox_path,
                master=opts.kernel_name(net.id), mac=ep.mac or None, mtu=opts.mtu,
                host_ipv6=False,
            )
        except Forbidden as exc:  # the bridge is full (kernel EXFULL); nothing was made
            raise Forbidden(
                f"network {net.name} is full: its bridge already has {links.BRIDGE_MAX_PORTS} "
                "endpoints, the most a Linux bridge takes"
            ) from exc
        try:
            await self._configure(ep, info)
        except BaseException:
            await links.remove_veth(host, ep.ifname, info.sandbox_path)
            raise
        return replace(ep, host_ifname=host)

    async def _configure(self, ep: Endpoint, info: JoinInfo) -> None:
        path = info.sandbox_path
        await links.configure_interface(path, ep.ifname, addresses=_sandbox_addresses(ep))
        if info.default_route4 and ep.gateway4 is not None:
            await links.add_default_route(path, ep.gateway4)
        if info.default_route6 and ep.gateway6 is not None:
            await links.add_default_route(path, ep.gateway6)

    async def leave(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """Delete the veth (both sides; the sandbox's name is free at once); absent is success."""
        await links.remove_veth(ep.host_ifname or veth_name(ep.id), ep.ifname, info.sandbox_path)

    async def release(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """Take the veth off the bridge: it dies with the sandbox, but a process that still
        holds the namespace (an `nsenter`, a debugger) would keep it on the bridge, answering
        for an address IPAM may give the next container."""
        await links.detach_port(ep.host_ifname or veth_name(ep.id))
