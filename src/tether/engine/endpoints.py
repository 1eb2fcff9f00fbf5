"""Endpoints: give a container an address on a network and plumb it into its sandbox.

`plumb` is validate-then-act with an undo stack (IPAM, driver, firewall); `unplumb` is best
effort and reports every failure. Neither touches the store: callers record the result.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import replace

from tether.drivers.base import Driver, JoinInfo
from tether.drivers.bridge import veth_name
from tether.engine.rollback import Rollback, best_effort
from tether.errors import InvalidArgument
from tether.firewall.base import Firewall
from tether.ipam.allocator import Ipam
from tether.model import Container, Endpoint, Network

VETH_DRIVERS = ("bridge", "overlay")  # drivers whose host side is veth_name(endpoint id)


def placeholder(net: Network, container_id: str, request) -> Endpoint:
    """An endpoint that is configured but not plumbed (the container is not running)."""
    return Endpoint(id="", network_id=net.id, container_id=container_id, ifname="", mac="",
                    request=request)


def mac_for(ipv4: ipaddress.IPv4Interface | None) -> str:
    """Docker's MAC scheme: 02:42 followed by the four IPv4 bytes (random without IPv4)."""
    tail = ipv4.ip.packed if ipv4 else secrets.token_bytes(4)
    return "02:42:" + ":".join(f"{b:02x}" for b in tail)


def next_ifname(used: set[str]) -> str:
    """The lowest ethN not in use in the sandbox: connect order decides eth1, eth2..."""
    n = 0
    while f"eth{n}" in used:
        n += 1
    return f"eth{n}"


def check_request(net: Network, ep: Endpoint) -> None:
    """Refuse static addresses and aliases where Docker refuses them, before allocating."""
    req = ep.request
    default_bridge = net.options.get("com.docker.network.bridge.default_bridge") == "true"
    if (req.ipv4 or req.ipv6) and default_bridge:
        raise InvalidArgument(
            "user specified IP address is supported on user defined networks only")
    if req.aliases and (default_bridge or net.driver == "host"):
        raise InvalidArgument(
            "network-scoped alias is supported only for containers in user defined networks"
        )
    if req.ipv4 and not any(p.user_subnet for p in net.pools_of(4)):
        raise InvalidArgument("user specified IP address is supported only when connecting to "
                              "networks with user configured subnets")
    if req.ipv6 and not any(p.user_subnet for p in net.pools_of(6)):
        raise InvalidArgument("user specified IP address is supported only when connecting to "
                              "networks with user configured subnets")


def gateway_of(net: Network, address) -> object:
    for pool in net.pools:
        if address is not None and address.ip in pool.subnet:
            return pool.gateway
    return None


class Endpoints:
    """Allocates and plumbs endpoints; owns no state of its own."""

    def __init__(self, ipam: Ipam, drivers: dict[str, Driver], firewall: Firewall) -> None:
        self.ipam = ipam
        self.drivers = drivers
        self.firewall = firewall
        self.cluster = None  # engine.cluster.Cluster when the daemon has a cluster store

    async def plumb(self, c: Container, net: Network, ep: Endpoint, info: JoinInfo,
                    ifname: str, mac_hint: str = "") -> Endpoint:
        """Allocate addresses, join the sandbox and add firewall elements; undo on failure."""
        check_request(net, ep)
        ep_id = secrets.token_hex(32)
        async with Rollback() as undo:
            v4 = await self.ipam.allocate_address(net.id, net.pools, 4, owner=ep_id,
                                                  name=net.name, requested=ep.request.ipv4)
            if v4 is not None:
                undo.push(self.ipam.release_address, net.id, v4.ip)
            v6 = None
            if net.enable_ipv6:
                v6 = await self.ipam.allocate_address(net.id, net.pools, 6, owner=ep_id,
                                                      name=net.name, requested=ep.request.ipv6)
                if v6 is not None:
                    undo.push(self.ipam.release_address, net.id, v6.ip)
            mac = ep.request.mac_address or mac_hint or mac_for(v4)
            ready = replace(
                ep, id=ep_id, network_id=net.id, container_id=c.id, ifname=ifname, mac=mac, ipv4=v4, ipv6=v6,
                gateway4=gateway_of(net, v4), gateway6=gateway_of(net, v6),
                aliases=self.aliases(c, net, ep),
            )
            if net.driver in VETH_DRIVERS:  # the firewall knows the port before it exists
                ready = replace(ready, host_ifname=veth_name(ep_id))
            await self.firewall.add_endpoint(net, ready)
            undo.push(self.firewall.remove_endpoint, net, ready)
            driver = self.drivers[net.driver]
            ready = await driver.join(net, ready, info)
            undo.push(driver.leave, net, ready, info)
            if net.scope == "global" and self.cluster is not None:
                await self.cluster.publish(c, ready)  # every host learns the endpoint
        return ready

    @staticmethod
    def aliases(c: Container, net: Network, ep: Endpoint) -> tuple[str, ...]:
        """The names a user network knows this endpoint by: short id, then --network-alias."""
        if net.options.get("com.docker.network.bridge.default_bridge") == "true":
            return ()
        if net.driver in ("host", "null"):
            return ()
        names = [c.short_id, *ep.request.aliases]
        if c.hostname and c.hostname not in (c.name, c.short_id) and c.hostname not in names:
            names.append(c.hostname)
        return tuple(dict.fromkeys(names))

    async def unplumb(self, net: Network, ep: Endpoint, info: JoinInfo, *, live: bool) -> None:
        """Release and unplumb `ep`. With live=False the sandbox is about to be deleted, which
        reaps the veth for free, so only addresses, firewall elements and what the driver
        made outside the sandbox are removed."""
        steps = [(self.firewall.remove_endpoint, (net, ep))]
        if net.scope == "global" and self.cluster is not None:
            steps.insert(0, (self.cluster.withdraw, (ep,)))
        driver = self.drivers[net.driver]
        steps.append((driver.leave if live else driver.release, (net, ep, info)))
        for addr in (ep.ipv4, ep.ipv6):
            if addr is not None:
                steps.append((self.ipam.release_address, (net.id, addr.ip)))
        await best_effort(f"unplumb endpoint {ep.id[:12]}", steps)
